"""One model that crashes the interpreter or hangs fails its own cells; the others are produced
(pytest-xdist restarts the worker; real TensorFlow 2.13, tox -e tests-tf213).

The timeouts (30 s) leave room for a healthy model's first check, which imports TensorFlow, on a
loaded machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.locations import converted_path
from tests.helpers import results_file, run_convert

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]
MODELS = ("healthy", "crasher", "hanger")


def test_a_crash_and_a_hang_fail_only_their_own_cells(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ROOT / "golden/dense_regression/model.2.13.keras"
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    for name in MODELS:
        shutil.copy(source, models / f"2.13.keras/{name}.keras")
        shutil.copytree(
            ROOT / "golden/dense_regression",
            models / "golden" / name,
            ignore=shutil.ignore_patterns("*.keras", "*.lock"),
        )
    (pytester.path / "crashmod.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nX = None\n"
    )
    (pytester.path / "hangmod.py").write_text("import time\ntime.sleep(3600)\nX = None\n")
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "healthy": {"paths": {"2.13.keras": "models/2.13.keras/healthy.keras"}},
                    "crasher": {
                        "paths": {"2.13.keras": "models/2.13.keras/crasher.keras"},
                        "custom_objects": {"X": "crashmod:X"},
                    },
                    "hanger": {
                        "paths": {"2.13.keras": "models/2.13.keras/hanger.keras"},
                        "custom_objects": {"X": "hangmod:X"},
                    },
                }
            }
        )
    )
    for name in ("harness.toml", "limitations.toml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copy(ROOT / "compat/test_compat.py", pytester.path / "test_compat.py")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    build = tmp_path / "build"
    result = pytester.runpytest_subprocess(
        "--harness-env",
        "tf213",
        "--registry",
        str(registry),
        "--build-dir",
        str(build),
        "-p",
        "no:cacheprovider",
        "-n",
        "1",
        "--max-worker-restart",
        "100",
        "--timeout",
        "30",
        "--timeout-method",
        "thread",
        "-k",
        "2.13.keras",
    )
    assert result.ret == 1
    cells = json.loads(results_file(build, "tf213").read_text())["cells"]
    status = {(c["model"], c["check"]): c["status"] for c in cells}
    checks = ("replay", "load", "predict", "evaluate", "metrics", "optimizer-state")
    assert {status[("healthy", check)] for check in checks} == {"pass"}
    assert {status[("crasher", check)] for check in checks} == {"error:WorkerCrashed"}
    assert {status[("hanger", check)] for check in checks} == {"error:Timeout"}
    details = {(c["model"], c["check"]): c["detail"] for c in cells}
    # the replay (the source model run on this runner) is each model's first load
    assert details[("hanger", "replay")].startswith(
        "the check ran past the per-check timeout (30 s)"
    )
    assert details[("crasher", "replay")].startswith("the worker process died after ")
    assert details[("hanger", "predict")] == (
        "not run: an earlier check of this model timed out in this session"
    )
    assert details[("crasher", "evaluate")] == (
        "not run: an earlier check of this model crashed its worker in this session"
    )
    assert not list((build / "results").glob("*.part-*")), "shards are merged"


def test_a_crash_and_a_hang_in_a_conversion_fail_only_their_own_step(tmp_path: Path) -> None:
    source = ROOT / "golden/dense_regression/model.2.13.keras"
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    for name in MODELS:
        shutil.copy(source, models / f"2.13.keras/{name}.keras")
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "crashmod.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nX = None\n"
    )
    (modules / "hangmod.py").write_text("import time\ntime.sleep(3600)\nX = None\n")
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "crasher": {
                        "paths": {"2.13.keras": "models/2.13.keras/crasher.keras"},
                        "custom_objects": {"X": "crashmod:X"},
                    },
                    "hanger": {
                        "paths": {"2.13.keras": "models/2.13.keras/hanger.keras"},
                        "custom_objects": {"X": "hangmod:X"},
                    },
                    "healthy": {"paths": {"2.13.keras": "models/2.13.keras/healthy.keras"}},
                }
            }
        )
    )
    build = tmp_path / "build"
    result = run_convert(registry, build, "--timeout", "30", environ={"PYTHONPATH": str(modules)})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert (
        "tf213: crasher: 2.13.keras->2.13.h5@tf213: WorkerCrashed: the conversion process "
        "died (exit status -9: a crash, or a kill by the out-of-memory killer)" in lines
    )
    assert (
        "tf213: hanger: 2.13.keras->2.13.h5@tf213: Timeout: the step ran past the timeout "
        "(30 s) and its process was stopped" in lines
    )
    assert "tf213: healthy: 2.13.keras->2.13.h5@tf213: ok" in lines
    assert converted_path(build, "healthy", "2.13.h5").exists()
    assert not converted_path(build, "crasher", "2.13.h5").exists()
    assert not converted_path(build, "hanger", "2.13.h5").exists()
    record = json.loads((build / "steps/crasher/2.13.h5.json").read_text())
    assert (record["status"], record["exception"]) == ("error", "WorkerCrashed")
