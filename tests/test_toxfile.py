"""toxfile.py under real tox: the environments come from harness.toml's one-line entries."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness.core.config import load_config
from tests.test_toxenvs import ROOT, with_one_more_line


def project_copy(tmp_path: Path) -> Path:
    with_one_more_line(tmp_path)
    for name in ("tox.ini", "toxfile.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(
        ROOT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def tox(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tox", "-c", str(root / "tox.ini"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_release_added_by_one_line_is_a_tox_environment(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    listed = tox(root, "l", "-m", "verify-only")
    assert listed.returncode == 0, listed.stderr
    names = [line.split(" ->")[0].strip() for line in listed.stdout.splitlines() if "->" in line]
    assert names == [
        "tf214",
        "tf218",
        "tf219",
        "tf220",
        "tf221",
        "tf221-keras315",
        "tf222",
    ]
    shown = tox(root, "config", "-e", "tf222,matrix", "-k", "deps", "depends", "labels", "set_env")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "deps =\n  tensorflow==2.22.0\n  keras==3.16.0\n" in text
    assert "depends =\n  tf213\n  tf215\n  tf216\n  tf216-keras33\n  tf217\n" in text
    assert "labels =\n  keras3\n  verify\n  verify-only\n" in text
    assert "HARNESS_ENV=tf222" in text and "TF_USE_LEGACY_KERAS=0" in text
    gate = text.split("[testenv:matrix]")[1]
    gate_waits_for = gate.split("depends =")[1].split("labels =")[0].split()
    assert sorted(gate_waits_for) == sorted(load_config(root / "harness.toml").environments)
    default = tox(root, "l").stdout.split("\n\n")[0].splitlines()  # the env_list
    assert [line.split(" ->")[0].strip() for line in default[-2:]] == ["tf222", "matrix"]


def test_a_broken_harness_toml_is_one_clear_error(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    (root / "harness.toml").write_text("[environments]\ntf222 = { tensorflow = 2.22 }\n")
    listed = tox(root, "l")
    assert listed.returncode != 0
    assert listed.stderr.strip().splitlines()[-1] == (
        f"keras-harness tox plugin: [environments.tf222] in {root / 'harness.toml'}: tensorflow "
        "must be an exact version string. Received: 2.22. Fix: pin one release, e.g. tensorflow = "
        '"2.16.2".'
    )
