"""What numerics settings do to cross-CPU and cross-version equality, measured with the harness.

    python bench/numerics.py --run            # run the environments under every setting
    python bench/numerics.py                  # only summarize build/results and build/references

Each setting is a set of environment variables that the harness's hardware fingerprint includes
(oneDNN on/off and its ISA cap, thread counts, op determinism), so one machine plays several
runners and every setting's results land side by side in one build folder. For each setting the
table gives:

- **vs golden**: the source model replayed in tf213 under the setting against the committed
  golden (recorded on another machine): models that differ, max ULP, max abs diff;
- **vs default**: the same replay against the replay with TensorFlow's defaults on this machine
  (what changing only this setting does: a stand-in for another CPU kind);
- **upgrade drift**: target cells (predict/evaluate) of the other environments that are not
  bitwise against this setting's own replay (what an upgrade changes on fixed hardware).

Prints ratios and counts only; nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.core.compare import compare_arrays  # noqa: E402
from harness.core.golden import read_golden  # noqa: E402
from harness.core.results import read_results  # noqa: E402

SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "ONEDNN_MAX_CPU_ISA=AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "ONEDNN_MAX_CPU_ISA=AVX512_CORE": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "ONEDNN_MAX_CPU_ISA=SSE41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "TF_ENABLE_ONEDNN_OPTS=0": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "1 intra-op thread": {"TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"},
    "1 inter-op thread": {"TF_NUM_INTEROP_THREADS": "1"},
    "TF_DETERMINISTIC_OPS=1": {"TF_DETERMINISTIC_OPS": "1"},
}
ENVS = "tf213,tf215,tf216,tf221"
NUMERIC = set().union(*SETTINGS.values())


def run(envs: str) -> None:
    for name, variables in SETTINGS.items():
        environ = {k: v for k, v in os.environ.items() if k not in NUMERIC}
        environ.update(variables)
        print(f"== {name}: tox -e {envs}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "tox", "-q", "-e", envs], cwd=ROOT, env=environ, check=False
        )


def setting_of(hardware: dict[str, Any]) -> str:
    for name, variables in SETTINGS.items():
        present = {k: hardware.get(k) for k in NUMERIC if hardware.get(k)}
        if present == variables:
            return name
    return "other: " + hardware.get("summary", "?")


def drift(golden_dir: Path, one: Path, other: Path, stem: str) -> tuple[int, int, int, float]:
    """(models compared, models that differ, max ULP, max abs diff) of two folders' predictions."""
    models = differ = max_ulp = 0
    max_abs = 0.0
    for folder in sorted(p for p in one.iterdir() if p.is_dir()):
        if not (other / folder.name / f"{stem}.json").exists():
            continue
        left = read_golden(one, folder.name, "reference")
        right = read_golden(other, folder.name, stem)
        models += 1
        changed = False
        for want, got in zip(right.predict, left.predict, strict=True):
            result = compare_arrays(want, got)
            changed |= result.mismatches > 0
            max_ulp, max_abs = max(max_ulp, result.max_ulp), max(max_abs, result.max_abs)
        differ += changed
    return models, differ, max_ulp, max_abs


def summarize(build: Path, golden_dir: Path, envs: list[str]) -> str:
    cells = [c for p in sorted((build / "results").glob("*.json")) for c in read_results(p)]
    names: dict[str, str] = {}
    for cell in cells:
        if cell.fingerprint and "hardware" in cell.provenance:
            names[cell.fingerprint] = setting_of(cell.provenance["hardware"])
    by_setting = {name: fp for fp, name in names.items()}
    default = by_setting.get("default")
    lines = [
        "| setting | fingerprint | vs golden (models differ / max ULP / max abs) | vs default "
        "| upgrade drift (non-bitwise target cells / of) |",
        "|---|---|---|---|---|",
    ]
    for name in SETTINGS:
        fp = by_setting.get(name)
        if fp is None or not (build / "references" / fp).exists():
            continue
        here = build / "references" / fp
        n, d, ulp, mx = drift(golden_dir, here, golden_dir, "golden")
        vs_golden = f"{d}/{n} / {ulp} / {mx:.2g}"
        if default and fp != default:
            n2, d2, ulp2, mx2 = drift(golden_dir, here, build / "references" / default, "reference")
            vs_default = f"{d2}/{n2} / {ulp2} / {mx2:.2g}"
        else:
            vs_default = "—"
        judged = [
            c
            for c in cells
            if c.fingerprint == fp
            and c.check in ("predict", "evaluate")
            and c.env != "tf213"
            and c.env in envs
        ]
        targets = [c for c in judged if c.kind == "pass"]
        failed = sorted(f"{c.model}@{c.env}" for c in judged if c.kind == "mismatch")
        moved = sorted(
            {f"{c.model}@{c.env}" for c in targets if (c.numbers.get("mismatches") or 0) > 0}
        )
        upgrade = f"{sum((c.numbers.get('mismatches') or 0) > 0 for c in targets)}/{len(targets)}"
        if moved:
            upgrade += " (" + ", ".join(moved[:6]) + (" …" if len(moved) > 6 else "") + ")"
        if failed:
            upgrade += f"; **{len(failed)} mismatch** ({', '.join(sorted(set(failed)))})"
        lines.append(f"| {name} | {fp} | {vs_golden} | {vs_default} | {upgrade} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="store_true", help="run the environments first")
    parser.add_argument("--envs", default=ENVS)
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.run:
        run(args.envs)
    table = summarize(Path(args.build_dir), ROOT / "golden", args.envs.split(","))
    print(json.dumps({"table": table}) if args.json else table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
