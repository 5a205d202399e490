"""The tox environments derived from harness.toml, and their lock files (no tox, no TF)."""

from __future__ import annotations

import importlib.metadata
import os
import stat
import sys
from pathlib import Path

import pytest

from harness import cli, toxenvs
from harness.core.config import load_config
from harness.core.errors import ConfigError, EnvironmentMismatchError
from harness.keras import runtime

ROOT = Path(__file__).parent.parent
NEW_RELEASE = 'tf222 = { tensorflow = "2.22.0", keras = "3.16.0" }'


def with_one_more_line(tmp_path: Path, line: str = NEW_RELEASE) -> Path:
    """A copy of the project's harness.toml and requirements/ with ``line`` added to
    ``[environments]``, as a user adding a release would write it."""
    text = (ROOT / "harness.toml").read_text(encoding="utf-8")
    at = text.index("\n\n# ---- steps")  # the end of [environments]
    (tmp_path / "harness.toml").write_text(text[:at] + "\n" + line + text[at:], encoding="utf-8")
    (tmp_path / "requirements").mkdir()
    for path in (ROOT / "requirements").glob("*.*"):
        (tmp_path / "requirements" / path.name).write_bytes(path.read_bytes())
    return tmp_path / "harness.toml"


def test_every_environment_is_locked_to_its_pins_in_harness_toml() -> None:
    assert toxenvs.lock_problems(load_config(ROOT / "harness.toml"), ROOT) == []


def test_labels_depends_and_order_follow_the_steps() -> None:
    envs = {e.name: e for e in toxenvs.tox_envs(load_config(ROOT / "harness.toml"), ROOT)}
    assert envs["tf213"].depends == ()
    assert envs["tf216-keras33"].depends == ("tf213", "tf215")  # it writes the repair
    assert envs["tf216"].depends == ("tf213", "tf215", "tf216-keras33")
    assert envs["tf216-legacy"].depends == ("tf213", "tf215", "tf216")
    assert envs["tf217"].depends == ("tf213", "tf215", "tf216", "tf216-keras33")
    assert envs["tf216-legacy"].labels == ("keras2", "verify")  # it writes 2.16-tfkeras.keras
    assert envs["tf217"].labels == ("keras3", "verify")
    assert envs["tf216-legacy"].legacy and not envs["tf216"].legacy
    assert envs["tf221"].deps == ("-r requirements/tf221.txt",)
    order = list(envs)
    for name, env in envs.items():
        assert all(order.index(dep) < order.index(name) for dep in env.depends)


def test_one_line_adds_a_release(tmp_path: Path) -> None:
    config = load_config(with_one_more_line(tmp_path))
    new = {e.name: e for e in toxenvs.tox_envs(config, tmp_path)}["tf222"]
    assert new.labels == ("keras3", "verify", "verify-only")
    assert new.depends == ("tf213", "tf215", "tf216", "tf216-keras33", "tf217")
    assert config.environment("tf222").verify == (
        "direct-keras",
        "direct-h5",
        "chain-h5",
        "chain",
        "chain-2.17",
        "repaired",
        "savedmodel",
    )
    # until `tox -e pin` locks it, TF and Keras are installed pinned, the tools unpinned
    assert new.deps == (
        "tensorflow==2.22.0",
        "keras==3.16.0",
        "pytest",
        "filelock",
        "pytest-xdist",
        "pytest-timeout",
    )
    assert new.description.startswith("TensorFlow 2.22.0, Keras 3.16.0 (NOT LOCKED: run tox")
    source = tmp_path / "requirements" / "tf222.in"
    assert toxenvs.lock_problems(config, tmp_path) == [
        f"tf222: {source} does not match its pins in {config.path}. Fix: tox -e pin -- tf222"
    ]


def fake_uv(tmp_path: Path, body: str) -> list[str]:
    """A stand-in for uv (the lock's resolution is uv's job, not what is tested here)."""
    script = tmp_path / "uv"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return [str(script)]


def test_pin_writes_the_in_file_and_moves_the_lock_into_place(tmp_path: Path) -> None:
    config = load_config(with_one_more_line(tmp_path))
    # the stand-in writes the .in file's pins to the path after -o, as uv pip compile would
    uv = fake_uv(
        tmp_path,
        'out=""; for a; do [ "$prev" = "-o" ] && out=$a; prev=$a; done\n'
        'grep "==" requirements/tf222.in > "$out"',
    )
    assert toxenvs.pin(config, tmp_path, [], uv) == ["tf222"]  # only the stale one
    assert (tmp_path / "requirements" / "tf222.in").read_text() == (
        "tensorflow==2.22.0\nkeras==3.16.0\npytest\nfilelock\npytest-xdist\npytest-timeout\n"
    )
    assert toxenvs.lock_problems(config, tmp_path) == []
    assert not [p for p in os.listdir(tmp_path / "requirements") if p.startswith(".")]


def test_a_failed_resolution_keeps_the_old_lock(tmp_path: Path) -> None:
    config = load_config(with_one_more_line(tmp_path))
    lock = tmp_path / "requirements" / "tf221.txt"
    before = lock.read_bytes()
    uv = fake_uv(tmp_path, 'echo "No solution found when resolving dependencies" >&2; exit 1')
    with pytest.raises(ConfigError) as info:
        toxenvs.pin(config, tmp_path, ["tf221"], uv, upgrade=True)
    assert str(info.value) == (
        f"uv could not lock {tmp_path / 'requirements' / 'tf221.in'} (exit 1): No solution "
        f"found when resolving dependencies. Fix: check the pins of tf221 in {config.path} "
        "exist on PyPI."
    )
    assert lock.read_bytes() == before
    assert not [p for p in os.listdir(tmp_path / "requirements") if p.startswith(".")]


def test_a_failed_lock_of_a_local_build_says_where_its_wheels_are(tmp_path: Path) -> None:
    config = load_config(with_one_more_line(tmp_path))
    uv = fake_uv(tmp_path, 'echo "torch==2.13.0+cpu was not found" >&2; exit 1')
    with pytest.raises(ConfigError) as info:
        toxenvs.pin(config, tmp_path, ["keras315-torch"], uv, upgrade=True)
    assert str(info.value) == (
        f"uv could not lock {tmp_path / 'requirements' / 'keras315-torch.in'} (exit 1): "
        "torch==2.13.0+cpu was not found. Fix: torch==2.13.0+cpu is not on PyPI: point uv at "
        "a folder or page of wheels that holds it, e.g. "
        'UV_FIND_LINKS=https://download.pytorch.org/whl/torch/ (README, "Backends"), and run '
        "again."
    )


def test_an_environment_that_drifted_from_its_pins_is_refused() -> None:
    installed = importlib.metadata.version("pytest")
    runtime.check_pins("tf999", (("pytest", installed),))
    with pytest.raises(EnvironmentMismatchError) as info:
        runtime.check_pins("tf999", (("pytest", "0.0.1"), ("tensorflow", "2.99.0")))
    assert str(info.value) == (
        f"Environment tf999 pins pytest==0.0.1 in harness.toml. Received: pytest {installed} "
        f"in {sys.prefix}. Fix: tox -e pin -- tf999, then recreate the environment "
        "(tox -r -e tf999)."
    )


def test_pin_check_names_the_stale_environment_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = with_one_more_line(tmp_path)
    assert cli.main(["--config", str(config), "pin", "--check"]) == 1
    assert capsys.readouterr().out == (
        f"stale: tf222: {tmp_path / 'requirements' / 'tf222.in'} does not match its pins in "
        f"{config}. Fix: tox -e pin -- tf222\n"
    )
    assert cli.main(["--config", str(ROOT / "harness.toml"), "pin", "--check"]) == 0


def test_the_writing_environments_get_step_environments_that_follow_the_chain() -> None:
    config = load_config(ROOT / "harness.toml")
    steps = {e.name: e for e in toxenvs.step_envs(config, ROOT)}
    assert list(steps) == [
        "tf213-step",
        "tf215-step",
        "tf216-keras33-step",
        "tf216-step",
        "tf216-legacy-step",
        "tf217-step",
    ]
    assert steps["tf213-step"].commands == (
        "keras-harness cases",
        "keras-harness convert --env tf213",
        # the runner references every verification compares with (a fresh build has none)
        "pytest compat -p no:cacheprovider -n 1 --max-worker-restart 1000 --timeout 900 -k replay",
    )
    assert steps["tf216-keras33-step"].depends == ("tf213-step", "tf215-step")
    assert steps["tf217-step"].depends == ("tf213-step", "tf215-step")
    assert steps["tf216-legacy-step"].base == "tf216-legacy" and steps["tf216-legacy-step"].legacy
    assert steps["tf216-step"].deps == ("-r requirements/tf216.txt",)
    assert steps["tf216-step"].labels == ("step",)


def test_the_main_job_verifies_after_every_step_longest_first() -> None:
    config = load_config(ROOT / "harness.toml")
    job = toxenvs.main_job(config, ROOT, {"tf216-legacy": 526.2, "tf213": 186.5, "tf214": 85.0})
    names = [env.name for env in job]
    steps = [env.name for env in toxenvs.step_envs(config, ROOT)]
    assert names[: len(steps)] == steps
    unknown = [e for e in config.environments if e not in ("tf216-legacy", "tf213", "tf214")]
    # no seconds: first, in the chain's order; then the measured ones, longest first
    assert names[len(steps) :] == [
        *[e.name for e in toxenvs.tox_envs(config, ROOT) if e.name in unknown],
        "tf216-legacy",
        "tf213",
        "tf214",
    ]
    assert all(env.depends == tuple(steps) for env in job[len(steps) :])
    assert {env.base for env in job[len(steps) :]} == set(config.environments)


def test_torch_wheels_come_from_the_local_folder_else_pytorchs_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toxenvs, "LOCAL_WHEELS", tmp_path)
    assert toxenvs.torch_find_links() == "https://download.pytorch.org/whl/torch/"
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert toxenvs.torch_find_links() == str(tmp_path)
