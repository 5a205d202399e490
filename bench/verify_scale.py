"""P2 and P3: the harness's verification of N models against the bare Keras work it does, and its
peak memory at 300 models against 30.

    .tox/tf216/bin/python bench/verify_scale.py --env tf216 [--counts 1,30,300]
        [--model dense_regression] [--build build]

Run it with the Python of the environment it measures, after the main job (``tox``) has written
that model's files to ``--build`` (converted files, step records, runner references). For each N
it makes N copies of the model (registry, goldens, converted files and step records under new
ids, in a temporary folder), then runs, each in a fresh process:

- the harness: the verification suite of ``--env`` on the copies, as tox runs it
  (``pytest compat -n 1``: one xdist worker);
- the bare work: a script that does what the checks make TensorFlow do, and nothing else: for
  every (copy, route) the environment verifies, load the file, predict, evaluate and one
  ``train_on_batch``, each attempted on its own as the harness's checks are (a load that fails
  is attempted; a failed evaluate does not skip the train step).

It prints, per N, the wall time and peak RSS of both (the process and its children, from
``wait4``), P2 = harness time / bare time, and P3 = harness peak RSS at the largest N / at 30
(or the smallest N above 1). The targets (issue 16): P2 <= 1.2 at 30 and 300 models, P3 <= 1.15.
Timings vary with the machine's load: compare ratios from one run, not seconds across runs. Each
line also gives the CPU time (user + system, of the process and its children) of both and its
ratio: on a shared machine it moves less than the wall time with the neighbours' load (the
harness's xdist controller adds about 1 s of CPU that runs beside its worker).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def copies(model: str, count: int, build: Path, out: Path, registry_path: Path) -> Path:
    """``count`` copies of ``model`` of ``registry_path`` under ``out`` (registry, goldens,
    build); returns the copies' registry."""
    from harness.core.registry import Registry

    registry = Registry.load(registry_path)
    source = registry.resolve(model, registry.get(model).source)
    golden = registry.golden_dir / model
    (out / "models/2.13.keras").mkdir(parents=True)
    entries = {}
    fingerprints = sorted(p.name for p in (build / "references").glob("*") if p.is_dir())
    for index in range(count):
        name = f"{model}_{index:04d}"
        target = out / f"models/2.13.keras/{name}.keras"
        shutil.copyfile(source, target)
        entries[name] = {"paths": {"2.13.keras": f"models/2.13.keras/{name}.keras"}}
        tolerances = registry.get(model).tolerances
        if tolerances:
            entries[name]["tolerances"] = tolerances
        # byte for byte: the runner references copied below stay fresh for the copies
        shutil.copytree(golden, out / "golden" / name, ignore=shutil.ignore_patterns("*.keras"))
        converted = out / "build/converted" / name
        converted.mkdir(parents=True)
        for path in sorted((build / "converted" / model).glob(f"{model}.*")):
            suffix = path.name[len(model) :]
            if path.is_dir():
                shutil.copytree(path, converted / f"{name}{suffix}")
            else:
                shutil.copyfile(path, converted / f"{name}{suffix}")
        steps = out / "build/steps" / name
        steps.mkdir(parents=True)
        for path in sorted((build / "steps" / model).glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            written = converted / Path(str(record.get("output", ""))).name.replace(model, name, 1)
            record["model"] = name
            if written.exists():
                record["output"] = str(written)
                stat = written.stat()
                record["output_size"], record["output_mtime_ns"] = stat.st_size, stat.st_mtime_ns
            (steps / path.name).write_text(json.dumps(record), encoding="utf-8")
        for fingerprint in fingerprints:
            found = build / "references" / fingerprint / model
            if found.is_dir():
                shutil.copytree(found, out / "build/references" / fingerprint / name)
    path = out / "models/model_registry.json"
    path.write_text(json.dumps({"models": entries, "golden_dir": "../golden"}), encoding="utf-8")
    return path


def measured(command: list[str], *, env: dict[str, str]) -> tuple[float, float, int, float]:
    """``(wall seconds, peak RSS in MB of the process and its children, exit status, CPU
    seconds (user + system) of the process and its children)``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: cells that fail (the copies of a model with failing cells)
        sys.stderr.write(output.decode(errors="replace")[-3000:])
    return wall, usage.ru_maxrss / 1024, code, usage.ru_utime + usage.ru_stime


def bare(registry_path: Path, build: Path, env: str, config_path: Path) -> None:
    """The bare work on every (model, route) ``env`` verifies (run in its own process): the
    harness's one-line load/predict/evaluate wrappers (:mod:`harness.keras.formats`, for custom
    objects, SavedModels and string inputs), without safety checks, comparisons or cells."""
    from harness.core.config import load_config
    from harness.core.golden import read_golden
    from harness.core.locations import is_registered, model_path
    from harness.core.registry import Registry
    from harness.keras import formats
    from harness.keras.formats.common import model_inputs
    from harness.verify.loading import route_named
    from harness.verify.session import items_of

    backend = formats.backend()  # imports TensorFlow
    config = load_config(config_path)
    registry = Registry.load(registry_path)
    pairs = dict.fromkeys((item.model, item.route) for item in items_of(config, registry, env))
    for model, route_name in pairs:
        entry = registry.get(model)
        golden = read_golden(registry.golden_dir, model)
        if route_name == "source":
            spec = entry.source
            path = registry.resolve(model, spec)
        else:
            route = route_named(config, route_name)
            spec = route.spec
            path = model_path(registry, build, model, spec, registered=is_registered(route_name))
        try:
            loaded: Any = formats.load(
                spec, path, custom_objects=registry.custom_objects(model), trusted=entry.trusted
            )
        except Exception:  # as the harness, the load is attempted; its failure is its cell
            continue
        targets = golden.y[0] if len(golden.y) == 1 else list(golden.y)
        works = ["predict", "evaluate"] + (["train"] if route_name != "source" else [])
        for work in works:  # each attempted on its own, as the harness's checks are: a failed
            try:  # evaluate does not spare the train step its work
                if work == "predict":
                    backend.predict(loaded, golden.x, golden.batch_size)
                elif work == "evaluate":
                    backend.evaluate(loaded, golden.x, golden.y, golden.batch_size)
                else:
                    loaded.train_on_batch(model_inputs(golden.x), targets)
            except Exception:
                pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--env", required=True, help="the environment this Python is (tf216)")
    parser.add_argument("--counts", default="1,30,300", help="numbers of models (1,30,300)")
    parser.add_argument("--model", default="dense_regression", help="the model copied")
    parser.add_argument("--build", default="build", help="the main job's build folder")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="pairs per N, in alternating order (harness first, then bare first): each pair's "
        "P2 and their median, for a machine whose speed drifts between runs",
    )
    parser.add_argument(
        "--registry", help="the model's registry (default: the embedded cases' in --build)"
    )
    parser.add_argument(
        "--config", default=str(ROOT / "harness.toml"), help="harness.toml (default: this one)"
    )
    parser.add_argument(
        "--bare", metavar="REGISTRY", help="only the bare work on REGISTRY's models (P1 uses it)"
    )
    args = parser.parse_args(argv)
    if args.bare:
        bare(Path(args.bare), Path(args.build), args.env, Path(args.config))
        return 0
    build = (ROOT / args.build).resolve()
    if not (build / "converted" / args.model).is_dir():
        print(
            f"No converted files of {args.model} in {build}. Fix: run the main job first (tox), "
            f"or pass --build FOLDER.",
            file=sys.stderr,
        )
        return 2
    source_registry = Path(args.registry or build / "models/model_registry.json").resolve()
    from harness.core.config import load_config

    environment = load_config(Path(args.config)).environment(args.env)
    env = {
        **os.environ,
        "HARNESS_ENV": args.env,
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_USE_LEGACY_KERAS": "1" if environment.legacy else "0",
        "KERAS_BACKEND": environment.backend,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    warming = True  # the first run, on one model: a warm-up (file caches, bytecode), not printed
    for count in [1, *counts]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{count}-") as folder:
            registry = copies(args.model, count, build, Path(folder), source_registry)
            work = Path(folder) / "build"
            suite = [sys.executable, "-m", "pytest", str(ROOT / "compat"), "-q"]
            suite += ["-p", "no:cacheprovider", "-n", "1", "--max-worker-restart", "1000"]
            suite += ["--registry", str(registry), "--build-dir", str(work)]
            suite += ["--harness-config", str(Path(args.config).resolve())]
            script = [sys.executable, __file__, "--env", args.env, "--build", str(work)]
            script += ["--config", str(Path(args.config).resolve())]
            bare_work = [*script, "--bare", str(registry)]
            ratios, cpu_ratios = [], []
            for turn in range(1 if warming else max(1, args.repeat)):
                if turn % 2 == 0:
                    harness = measured(suite, env=env)
                    floor = measured(bare_work, env=env)
                else:  # the other order: a drift of the machine's speed moves both ways
                    floor = measured(bare_work, env=env)
                    harness = measured(suite, env=env)
                if warming:
                    break
                ratios.append(harness[0] / floor[0])
                cpu_ratios.append(harness[3] / floor[3])
                print(
                    f"{args.env} {count:4d} models: harness {harness[0]:7.1f} s "
                    f"{harness[1]:7.0f} MB (exit {harness[2]}) | bare {floor[0]:7.1f} s "
                    f"{floor[1]:7.0f} MB | P2 harness/bare time {ratios[-1]:.2f} "
                    f"(CPU {harness[3]:.1f} s / {floor[3]:.1f} s: {cpu_ratios[-1]:.2f})",
                    flush=True,
                )
        if warming:
            warming = False
            continue
        rows.append((count, harness, floor))
        if len(ratios) > 1:
            print(
                f"{args.env} {count:4d} models: P2 median of {len(ratios)} pairs "
                f"{statistics.median(ratios):.2f} (from {min(ratios):.2f} to {max(ratios):.2f}); "
                f"CPU time {statistics.median(cpu_ratios):.2f} (from {min(cpu_ratios):.2f} to "
                f"{max(cpu_ratios):.2f})",
                flush=True,
            )
    larger = [r for r in rows if r[0] > 1]  # P3: 30 (or the smallest) vs the largest
    if len(larger) >= 2:
        small, big = larger[0], larger[-1]
        print(
            f"{args.env} P3 peak RSS {big[0]} / {small[0]} models: harness "
            f"{big[1][1] / small[1][1]:.2f} (bare {big[2][1] / small[2][1]:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
