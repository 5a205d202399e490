"""toxfile.py under real tox: the environments come from harness.toml's one-line entries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness import toxenvs
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
    # not the tox that runs these tests: its TOX_WORK_DIR would point this one at its .tox
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOX_")}
    return subprocess.run(
        [sys.executable, "-m", "tox", "-c", str(root / "tox.ini"), *args],
        cwd=root,
        env=env,
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
        "keras315-jax",
        "keras315-torch",
        "tf222",
    ]
    shown = tox(root, "config", "-e", "tf222,matrix", "-k", "deps", "depends", "labels", "set_env")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "deps =\n  tensorflow==2.22.0\n  keras==3.16.0\n" in text
    assert "depends =\n  tf213\n  tf215\n  tf216\n  tf216-keras33\n  tf217\n" in text
    assert "labels =\n  keras3\n  verify\n  verify-only\n" in text
    assert "HARNESS_ENV=tf222" in text and "TF_USE_LEGACY_KERAS=0" in text
    assert "KERAS_BACKEND=tensorflow" in text
    jax = tox(root, "config", "-e", "keras315-jax", "-k", "labels", "set_env")
    assert jax.returncode == 0, jax.stderr
    assert "labels =\n  jax\n  keras3\n  verify\n  verify-only\n" in jax.stdout
    assert "KERAS_BACKEND=jax" in jax.stdout and "HARNESS_ENV=keras315-jax" in jax.stdout
    gate = text.split("[testenv:matrix]")[1]
    gate_waits_for = gate.split("depends =")[1].split("labels =")[0].split()
    config = load_config(root / "harness.toml")
    environments = [env.name for env in toxenvs.tox_envs(config, root)]  # the chain's order
    steps = [f"{name}-step" for name in STEPPED]
    assert sorted(gate_waits_for) == sorted(environments + steps)
    default = tox(root, "l").stdout.split("\n\n")[0].splitlines()  # the env_list
    listed = [line.split(" ->")[0].strip() for line in default[1:]]
    assert listed == [*steps, *environments, "matrix"]  # no seconds recorded yet


#: the environments that write files: the source (cases, goldens) and every step's
STEPPED = ["tf213", "tf215", "tf216-keras33", "tf216", "tf216-legacy", "tf217"]


def depends_of(text: str, env: str) -> list[str]:
    section = text.split(f"[testenv:{env}]\n")[1].split("\n[")[0]
    return section.split("depends =")[1].split("commands =")[0].split()


def test_the_main_job_runs_the_steps_first_then_every_verification_longest_first(
    tmp_path: Path,
) -> None:
    root = project_copy(tmp_path)
    (root / ".tox").mkdir()
    (root / ".tox" / ".harness-seconds.json").write_text('{"tf216-legacy": 400.5, "tf214": 80}')
    keys = ("-k", "depends", "commands", "set_env")
    main = tox(root, "config", *keys)  # the env_list, as tox and tox p run it
    assert main.returncode == 0, main.stderr
    steps = [f"{name}-step" for name in STEPPED]
    assert depends_of(main.stdout, "tf216-legacy") == steps  # not tf216's verification
    assert depends_of(main.stdout, "tf216-step") == ["tf213-step", "tf215-step"]
    assert depends_of(main.stdout, "tf216-legacy-step") == ["tf213-step"]
    step = main.stdout.split("[testenv:tf216-legacy-step]\n")[1].split("\n[")[0]
    assert "commands = keras-harness convert --env tf216-legacy\n" in step
    assert "HARNESS_ENV=tf216-legacy" in step and "TF_USE_LEGACY_KERAS=1" in step
    source = main.stdout.split("[testenv:tf213-step]\n")[1].split("\n[")[0]
    assert (
        "commands =\n  keras-harness cases\n  keras-harness convert --env tf213\n  pytest "
        in source
    )
    assert source.split("commands =")[1].split("\n")[3].endswith(" -k replay")
    default = tox(root, "l").stdout.split("\n\n")[0].splitlines()
    listed = [line.split(" ->")[0].strip() for line in default[1:]]
    # unknown seconds first (harness.toml's order), then the measured ones, longest first
    assert listed[len(steps) :][-3:] == ["tf216-legacy", "tf214", "matrix"]
    # a selection without the step environments keeps the depends between environments
    alone = tox(root, "config", "-e", "tf216-legacy,tf222", *keys)
    assert depends_of(alone.stdout, "tf216-legacy") == ["tf213", "tf215", "tf216"]
    by_label = tox(root, "config", "-m", "verify", *keys)
    assert depends_of(by_label.stdout, "tf216-legacy") == ["tf213", "tf215", "tf216"]
    named = tox(root, "config", "-e", "tf216-step,tf216-legacy", *keys)
    assert depends_of(named.stdout, "tf216-legacy") == steps


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


def test_each_environments_seconds_are_kept_for_the_next_runs_queue(tmp_path: Path) -> None:
    from harness import tox_plugin

    assert tox_plugin.read_seconds(tmp_path) == {}  # none yet: harness.toml's order
    tox_plugin.write_seconds(tmp_path, "tf216-legacy", 526.23)
    tox_plugin.write_seconds(tmp_path, "tf213", 186.5)
    tox_plugin.write_seconds(tmp_path, "tf216-legacy", 400.04)  # the last run counts
    assert tox_plugin.read_seconds(tmp_path) == {"tf213": 186.5, "tf216-legacy": 400.0}
    assert [p.name for p in tmp_path.iterdir()] == [".harness-seconds.json"]  # no temp file left
    (tmp_path / ".harness-seconds.json").write_text("{not json", encoding="utf-8")
    assert tox_plugin.read_seconds(tmp_path) == {}  # it only orders a queue: unreadable is none
