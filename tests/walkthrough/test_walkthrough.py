"""README's "Your own models", end to end on a fresh project (tox -e tests-walkthrough).

The harness is built into a wheel and installed, with tox, into a new virtual environment; an
empty project gets two models saved by TF 2.13 in the recipe's layout; then the walkthrough's
commands run as a user types them: ``keras-harness init``, ``tox -e record``, ``tox -e
tf213,tf216`` (real TensorFlow 2.13 and 2.16, installed by the project's own tox from the lock
files init copied), ``tox -e matrix`` (which fails: there is no baseline yet), ``tox -e matrix --
--update-baseline`` and ``tox -e matrix`` again. Nothing of the harness's checkout is used but
the wheel: the tox plugin comes in through the wheel's entry point, the catalogue and the locks
from its shipped files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
#: two models TF 2.13 saved: one output, and two heads compiled with per-output dicts
MODELS = {"run_dense": "dense_regression", "run_heads": "multi_io"}
TOX = ("tox==4.32.0", "tox-uv==1.29.0")
TIMINGS: dict[str, float] = {}


def clean_env(venv: Path) -> dict[str, str]:
    """The user's shell: the new environment first on PATH, and nothing of the outer tox or of
    the harness's own settings (the network and certificate settings stay)."""
    outer = ("TOX_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "HARNESS_", "_PYTEST", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outer)}
    path = os.environ.get("PATH", "").split(os.pathsep)
    bare = [p for p in path if ".tox" not in p]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *bare])
    return env


def run(
    step: str, args: list[str], cwd: Path, env: dict[str, str], timeout: int = 1200
) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    TIMINGS[step] = time.monotonic() - start
    return done


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed here: run this test through tox -e tests-walkthrough")
    return found


def test_the_walkthrough_on_a_fresh_project(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = run(
        "build",
        [uv(), "build", "--wheel", "--out-dir", str(wheels), str(ROOT)],
        ROOT,
        dict(os.environ),
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("keras_migration_harness-*.whl")

    venv = tmp_path / "venv"
    made = run(
        "venv", [uv(), "venv", "-q", "-p", sys.executable, str(venv)], tmp_path, dict(os.environ)
    )
    assert made.returncode == 0, made.stderr
    env = clean_env(venv)
    installed = run(
        "install",
        [uv(), "pip", "install", "-q", "--python", str(venv / "bin/python"), str(wheel), *TOX],
        tmp_path,
        env,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    project = tmp_path / "project"
    store = project / "models/2.13.keras"
    store.mkdir(parents=True)
    for model, case in MODELS.items():
        shutil.copy(ROOT / "golden" / case / "model.2.13.keras", store / f"{model}.keras")
    (store / "README.txt").write_text("training notes\n")  # not a model: reported, not registered

    init = run("init", ["keras-harness", "init", "--envs", "tf213,tf216"], project, env)
    assert init.returncode == 0, init.stderr
    assert "registered 2 model(s): run_dense, run_heads" in init.stdout
    assert "not registered: models/2.13.keras/README.txt: not a keras model of spec 2.13.keras" in (
        init.stdout
    )
    assert f"the harness: keras-migration-harness @ {wheel.resolve().as_uri()}" in init.stdout
    registry = json.loads((project / "models/model_registry.json").read_text())
    assert registry["models"]["run_dense"] == {
        "paths": {"2.13.keras": "models/2.13.keras/run_dense.keras"}
    }
    again = run("init-again", ["keras-harness", "init", "--envs", "tf213,tf216"], project, env)
    assert again.returncode == 2  # never writes over the project's files
    assert again.stderr.startswith("keras-harness: error: init would overwrite 13 file(s) in ")

    record = run("record", ["tox", "-e", "record", "-q"], project, env)
    assert record.returncode == 0, record.stdout[-3000:] + record.stderr[-3000:]
    assert "run_heads: recorded " in record.stdout
    assert "2 of 2 golden(s) recorded or confirmed" in record.stdout
    golden = json.loads((project / "golden/run_dense/golden.json").read_text())
    assert golden["inputs"]["source"] == "generated"

    verify = run("tox", ["tox", "-e", "tf213,tf216", "-q"], project, env)
    assert verify.returncode == 0, verify.stdout[-5000:] + verify.stderr[-3000:]
    assert (project / "build/converted/run_heads").is_dir()

    gate = run("matrix", ["tox", "-e", "matrix", "-q"], project, env)
    assert gate.returncode != 0  # no baseline yet: the first one is a reviewed, explicit step
    assert "Baseline not found: golden/baseline.json" in gate.stdout + gate.stderr
    compat = (project / "build/matrix/COMPAT.md").read_text()
    assert "run_dense" in compat and "run_heads" in compat

    accept = run("baseline", ["tox", "-e", "matrix", "-q", "--", "--update-baseline"], project, env)
    assert accept.returncode == 0, accept.stdout[-3000:]
    cells = json.loads((project / "golden/baseline.json").read_text())["cells"]
    assert {tuple(key.split("|")[:2]) for key in cells} == {
        (model, env) for model in MODELS for env in ("tf213", "tf216")
    }
    final = run("matrix-again", ["tox", "-e", "matrix", "-q"], project, env)
    assert final.returncode == 0, final.stdout[-3000:]
    assert "Gate against golden/baseline.json: passed." in final.stdout

    # the main job as CI runs it: the step environments first, then the verifications side by
    # side, longest first by the seconds the plugin kept from the runs above, then the gate
    seconds = json.loads((project / ".tox/.harness-seconds.json").read_text())
    assert {"tf213", "tf216"} <= set(seconds), seconds
    main = run("tox-p", ["tox", "p", "-p", "2"], project, env)
    assert main.returncode == 0, main.stdout[-5000:] + main.stderr[-3000:]
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", main.stdout)  # tox p's spinner
    report = [line.split(":")[0].strip() for line in plain.splitlines() if ": OK (" in line]
    assert report[0] == "tf213-step" and report[-1] == "matrix", report
    assert {"tf213", "tf216"} <= set(report[1:-1]), report

    # P1 (bench/main_job.py) on this tiny project: it runs (its numbers are the benchmark's)
    bench = run(
        "bench-p1",
        [
            sys.executable,
            str(ROOT / "bench/main_job.py"),
            *("--project", str(project), "--envs", "tf213,tf216"),
            *("--tox", f"{venv / 'bin/python'} -m tox"),
        ],
        project,
        env,
    )
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
    lines = bench.stdout.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["tf213", "tf216"], lines
    assert re.fullmatch(
        r"main job \(2 environments, 1 at a time\): [\d.]+ s, floor [\d.]+ s, P1 [\d.]+",
        lines[-1],
    ), lines
    print("walkthrough timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()))
