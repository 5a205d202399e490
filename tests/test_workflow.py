"""The CI workflow users copy: its job graph (a dry run against harness.toml) and its security
audit (zizmor, offline, as `tox -e lint` runs it)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import toxenvs, workflow
from harness.core.config import load_config

ROOT = Path(__file__).parent.parent
WORKFLOW = ROOT / ".github/workflows/compat.yml"
#: the audit of tox.ini's lint environment
ZIZMOR = ("zizmor", "--offline", "--persona", "auditor", "--min-severity", "low")


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def envs(config: Path = ROOT / "harness.toml") -> list[toxenvs.ToxEnv]:
    return toxenvs.tox_envs(load_config(config), ROOT)


def steps(data: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = data["jobs"][job]["steps"]
    return found


def test_every_environment_runs_after_what_it_depends_on_and_reaches_the_gate() -> None:
    data = load()
    graph = workflow.jobs(data, envs())
    assert graph["verify"].envs == toxenvs_labelled("verify-only")
    assert graph["hops"].envs == ["tf216-keras33", "tf216", "tf216-legacy", "tf217"]
    assert workflow.check(data, envs()) == []


def toxenvs_labelled(label: str) -> list[str]:
    return [e.name for e in envs() if label in e.labels]


def test_an_environment_left_out_of_the_workflow_fails_the_dry_run() -> None:
    data = copy.deepcopy(load())
    for step in steps(data, "tf215"):
        if step.get("run") == "python -m tox -e tf215":
            step["run"] = "echo skipped"
    problems = workflow.check(data, envs())
    assert problems[0] == "environment tf215 is run by no job"
    assert (
        "job hops runs tf216 without tf215 before it (tox depends on it): run it earlier in the "
        "job or in a job that hops needs" in problems
    )


def test_a_job_that_runs_before_its_dependencies_fails_the_dry_run() -> None:
    data = copy.deepcopy(load())
    for step in steps(data, "hops"):
        if step.get("run") == "python -m tox -e tf216-keras33,tf216,tf216-legacy,tf217":
            step["run"] = "python -m tox -e tf216,tf217,tf216-keras33,tf216-legacy"
    assert workflow.check(data, envs()) == [
        "job hops runs tf216 without tf216-keras33 before it (tox depends on it): run it earlier "
        "in the job or in a job that hops needs",
        "job hops runs tf217 without tf216-keras33 before it (tox depends on it): run it earlier "
        "in the job or in a job that hops needs",
    ]


def test_results_the_merge_job_does_not_download_fail_the_dry_run() -> None:
    data = copy.deepcopy(load())
    for step in steps(data, "matrix"):
        if "download-artifact" in str(step.get("uses")):
            step["with"]["pattern"] = "results-tf*"
    data["jobs"]["matrix"]["needs"].remove("verify")
    assert workflow.check(data, envs()) == [
        "the merge job matrix does not download 'results-hops-*'",
        "the merge job matrix does not need job verify",
        "the merge job matrix does not download 'results-*-*-*'",
    ]


def test_a_release_added_by_one_line_is_picked_up_by_the_verify_job(tmp_path: Path) -> None:
    config = tmp_path / "harness.toml"
    text = (ROOT / "harness.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            "tf221-keras315 = {",
            'tf222 = { tensorflow = "2.22.0", keras = "3.16.0" }\ntf221-keras315 = {',
        ),
        encoding="utf-8",
    )
    with_tf222 = toxenvs.tox_envs(load_config(config), ROOT)
    assert "tf222" in workflow.jobs(load(), with_tf222)["verify"].envs
    assert workflow.check(load(), with_tf222) == []


def audit(path: Path) -> subprocess.CompletedProcess[str]:
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is pinned in requirements/tests.txt and lint.txt"
    return subprocess.run(
        [zizmor, *ZIZMOR[1:], str(path)], capture_output=True, text=True, timeout=120
    )


def test_the_workflow_passes_the_security_audit() -> None:
    result = audit(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (
            ("actions/checkout@11d5960a326750d5838078e36cf38b85af677262", "actions/checkout@v4"),
            "unpinned-uses",
        ),
        (
            ('python -m tox -e "$TOX_ENV"', "python -m tox -e ${{ matrix.env }}"),
            "template-injection",
        ),
        (("permissions:\n  contents: read\n", ""), "excessive-permissions"),
        (("with: {persist-credentials: false}", "with: {fetch-depth: 1}"), "artipacked"),
    ],
)
def test_a_weakened_copy_fails_the_audit(
    tmp_path: Path, change: tuple[str, str], finding: str
) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert change[0] in text
    weakened = tmp_path / ".github/workflows/compat.yml"
    weakened.parent.mkdir(parents=True)
    weakened.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    result = audit(weakened)
    assert result.returncode != 0
    assert finding in result.stdout + result.stderr
