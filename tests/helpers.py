"""What the integration and fault tests share: running the suite and a conversion for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def case_registry(tmp_path: Path, models: list[str]) -> Path:
    """A project of embedded cases in the recipe's layout, each with its committed golden
    (recorded on another machine); returns its registry."""
    folder = tmp_path / "models"
    (folder / "2.13.keras").mkdir(parents=True)
    entries = {}
    for model in models:
        shutil.copy(ROOT / f"golden/{model}/model.2.13.keras", folder / f"2.13.keras/{model}.keras")
        shutil.copytree(
            ROOT / f"golden/{model}",
            folder / "golden" / model,
            ignore=shutil.ignore_patterns("*.keras", "*.lock"),
        )
        entries[model] = {"paths": {"2.13.keras": f"models/2.13.keras/{model}.keras"}}
    registry = folder / "model_registry.json"
    registry.write_text(json.dumps({"models": entries}))
    return registry


def results_file(build: Path, env: str) -> Path:
    """The one results file of ``env`` in ``build`` (named after this runner's fingerprint)."""
    found = sorted((build / "results").glob(f"{env}-cpu-*.json")) + sorted(
        (build / "results").glob(f"{env}-gpu-*.json")
    )
    assert len(found) == 1, f"expected one results file of {env}, found {found}"
    return found[0]


def run_suite(
    pytester: pytest.Pytester,
    registry: Path,
    env: str,
    build: Path,
    *options: str,
    verbose: bool = False,
) -> pytest.RunResult:
    """The verification suite in a subprocess, on ``registry``, as environment ``env``
    (``verbose``: with -v, each failure with its full explanation; ``options``: more of the
    plugin's options, e.g. ``--shard 1/3``)."""
    for name in ("harness.toml", "limitations.toml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copy(ROOT / "compat" / "test_compat.py", pytester.path / "test_compat.py")
    return pytester.runpytest_subprocess(
        "--harness-env",
        env,
        "--registry",
        str(registry),
        "--build-dir",
        str(build),
        "-v" if verbose else "-q",
        "-p",
        "no:cacheprovider",
        *options,
    )


def run_convert(
    registry: Path,
    build: Path,
    *options: str,
    env: str = "tf213",
    environ: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``keras-harness convert`` for ``env`` in a subprocess (as tox runs it)."""
    variables = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(environ or {})}
    if "HARNESS_FAULT" not in (environ or {}):
        variables.pop("HARNESS_FAULT", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "--config",
            str(ROOT / "harness.toml"),
            "--build-dir",
            str(build),
            "convert",
            "--env",
            env,
            "--registry",
            str(registry),
            *options,
        ],
        capture_output=True,
        text=True,
        env=variables,
        timeout=300,
        check=False,
    )


def as_converted(build: Path, model: str, step: str, fixture: Path) -> Path:
    """Put ``fixture`` where the step ``step`` (``2.13.h5->2.15.h5@tf215``) writes its output for
    ``model``, with the step's record, as if that environment had run on this build folder
    (a Keras 3 test environment cannot run TF 2.13 or 2.15 itself)."""
    import json as _json
    from dataclasses import asdict

    from harness.convert.records import StepRecord, step_record_path
    from harness.core.golden import sha256_of
    from harness.core.locations import converted_path

    target = step.split("->", 1)[1].split("@", 1)[0]
    env = step.rsplit("@", 1)[1]
    path = converted_path(build, model, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture, path)
    record = StepRecord(model, step, env, "ok", output=str(path), output_sha256=sha256_of(path))
    record_path = step_record_path(build, model, target)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(_json.dumps(asdict(record)))
    return path
