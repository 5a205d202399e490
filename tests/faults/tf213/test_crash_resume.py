"""kill -9 in the middle of a step, then run again (real TensorFlow 2.13, tox -e tests-tf213).

The fault kills the process that converts (``convert --child``), as a machine that dies would;
the rerun goes through the normal supervised ``convert``."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness.core.locations import converted_path
from tests.helpers import run_convert

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]
CASES = ("dense_regression", "conv_classifier")


def project(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    for case in CASES:
        shutil.copy(ROOT / f"golden/{case}/model.2.13.keras", models / f"2.13.keras/{case}.keras")
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    case: {"paths": {"2.13.keras": f"models/2.13.keras/{case}.keras"}}
                    for case in CASES
                }
            },
            indent=4,
        )
    )
    return registry


def convert(
    registry: Path, build: Path, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    if fault is None:
        return run_convert(registry, build)
    # the process that does the work, killed as a dying machine would kill it
    return run_convert(registry, build, "--child", environ={"HARNESS_FAULT": fault})


def hashes(root: Path) -> dict[str, str]:
    """Every file of the user's project (the registry and the models) by its sha256."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("fault", ["save:before-replace", "json:before-replace", "step:after-save"])
def test_a_kill_leaves_everything_valid_and_a_rerun_resumes(tmp_path: Path, fault: str) -> None:
    registry = project(tmp_path)
    users = hashes(registry.parent)
    build = tmp_path / "build"
    killed = convert(registry, build, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert hashes(registry.parent) == users  # the user's files are never written
    converted = {case: converted_path(build, case, "2.13.h5") for case in CASES}
    in_place = {case for case, path in converted.items() if path.exists()}
    if fault == "save:before-replace":
        assert in_place == set()  # the half-done save never reached its place
    for case in in_place:
        assert converted[case].stat().st_size > 0, case

    again = convert(registry, build)
    assert again.returncode == 0, again.stderr[-2000:]
    assert hashes(registry.parent) == users
    for case, path in converted.items():
        assert path.exists(), case
        assert not list(path.parent.glob(".*"))  # no temporary file left behind

    # the same outputs as an uninterrupted run
    clean_registry = project(tmp_path / "clean")
    assert convert(clean_registry, tmp_path / "clean-build").returncode == 0
    for case in CASES:
        clean = converted_path(tmp_path / "clean-build", case, "2.13.h5")
        assert converted[case].read_bytes() == clean.read_bytes()

    # a third run redoes nothing; a changed source redoes its hop only
    third = convert(registry, build)
    assert third.stdout.count(": up-to-date") == 2, third.stdout
    shutil.copy(
        ROOT / "golden/conv_classifier/model.2.13.keras",
        registry.parent / "2.13.keras/dense_regression.keras",
    )
    fourth = convert(registry, build)
    assert "tf213: dense_regression: 2.13.keras->2.13.h5@tf213: ok" in fourth.stdout
    assert "tf213: conv_classifier: 2.13.keras->2.13.h5@tf213: up-to-date" in fourth.stdout
