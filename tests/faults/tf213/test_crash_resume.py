"""kill -9 in the middle of a step, then run again (real TensorFlow 2.13, tox -e tests-tf213).

The fault kills the process that converts (``convert --child``), as a machine that dies would;
the rerun goes through the normal supervised ``convert``."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_convert

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]


def project(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    for case in ("dense_regression", "conv_classifier"):
        shutil.copy(ROOT / f"golden/{case}/model.2.13.keras", models / f"2.13.keras/{case}.keras")
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    case: {"paths": {"2.13.keras": f"models/2.13.keras/{case}.keras"}}
                    for case in ("dense_regression", "conv_classifier")
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


@pytest.mark.parametrize("fault", ["save:before-replace", "json:before-replace", "step:after-save"])
def test_a_kill_leaves_everything_valid_and_a_rerun_resumes(tmp_path: Path, fault: str) -> None:
    registry = project(tmp_path)
    build = tmp_path / "build"
    killed = convert(registry, build, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    data = json.loads(registry.read_text())  # still valid JSON
    for case, entry in data["models"].items():
        if "2.13.h5" in entry["paths"]:  # registered only when fully in place
            assert (registry.parent.parent / entry["paths"]["2.13.h5"]).stat().st_size > 0, case
    h5_dir = registry.parent / "2.13.h5"
    registered = {
        Path(e["paths"]["2.13.h5"]).name for e in data["models"].values() if "2.13.h5" in e["paths"]
    }
    in_place = {p.name for p in h5_dir.glob("*.h5") if not p.name.startswith(".")}
    if fault == "save:before-replace":
        assert in_place == set()  # the half-done save never reached its place
    assert registered <= in_place

    again = convert(registry, build)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not list(h5_dir.glob(".*"))  # no temporary file left behind
    data = json.loads(registry.read_text())
    assert all(e["paths"]["2.13.h5"] == f"models/2.13.h5/{c}.h5" for c, e in data["models"].items())

    # the same outputs as an uninterrupted run
    clean_registry = project(tmp_path / "clean")
    assert convert(clean_registry, tmp_path / "clean-build").returncode == 0
    for case in ("dense_regression", "conv_classifier"):
        assert (h5_dir / f"{case}.h5").read_bytes() == (
            clean_registry.parent / f"2.13.h5/{case}.h5"
        ).read_bytes()

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
