"""``-n auto`` in a harness session: workers sized from the cores and the available memory
(pytest-xdist is installed in the TensorFlow environments; collection only)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("harness.toml", "limitations.toml"):
        (pytester.path / name).write_text((ROOT / name).read_text())
    registry = pytester.path / "models" / "model_registry.json"
    registry.parent.mkdir()
    models = {
        name: {"paths": {"2.13.keras": f"models/2.13.keras/{name}.keras"}}
        for name in ("dense_regression", "run_b", "run_c")
    }
    registry.write_text(json.dumps({"models": models}))
    pytester.makepyfile(test_compat=(ROOT / "compat" / "test_compat.py").read_text())
    return pytester


def test_auto_workers_in_a_harness_session_and_a_bad_worker_size(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.verify.processes import available_mb, workers

    base = ("--harness-env", "tf216", "--registry", "models/model_registry.json")
    # every item deselected: the workers start (and say how many), no check runs
    result = project.runpytest_subprocess("-k", "no_such_item", "-n", "auto", *base)
    expected = workers(os.cpu_count() or 1, available_mb(), 1500)
    result.stdout.fnmatch_lines([f"created: {expected}/{expected} worker*"])
    monkeypatch.setenv("HARNESS_WORKER_MB", "10000000")  # a worker larger than the memory
    alone = project.runpytest_subprocess("-k", "no_such_item", "-n", "auto", *base)
    alone.stdout.fnmatch_lines(["created: 1/1 worker*"])
    monkeypatch.setenv("HARNESS_WORKER_MB", "lots")
    bad = project.runpytest_subprocess("-k", "no_such_item", "-n", "auto", *base)
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(
        [
            "ERROR: keras-harness: HARNESS_WORKER_MB must be a whole number of megabytes above 0. "
            "Received: 'lots'. Fix: set it to a worker's peak memory, e.g. HARNESS_WORKER_MB=2000."
        ]
    )


def test_with_several_workers_each_model_stays_in_one_worker(project: pytest.Pytester) -> None:
    """No file was converted: every cell is quick (not produced), and fails; what matters is
    which worker ran it."""
    result = project.runpytest_subprocess(
        "-n", "2", "-v", "--harness-env", "tf216", "--registry", "models/model_registry.json"
    )
    ran: dict[str, set[str]] = {}
    for line in result.outlines:
        found = re.match(
            r"\[(gw\d+)\] .*(PASSED|FAILED) test_compat.py::test_compat\[(\w+?)-2\.", line
        )
        if found:
            ran.setdefault(found.group(3), set()).add(found.group(1))
    assert sorted(ran) == ["dense_regression", "run_b", "run_c"], result.outlines[-30:]
    assert all(len(workers) == 1 for workers in ran.values()), ran
    assert len(set().union(*ran.values())) == 2  # both workers had models


def test_a_worker_keeps_no_passing_reports(project: pytest.Pytester) -> None:
    """In a harness session a worker's terminal reporter lets go of each passing report (the
    controller keeps its own copy and prints the summary); a failing one is kept."""
    project.makepyfile(
        test_many="""
        import pytest

        @pytest.mark.parametrize("n", range(20))
        def test_passes(n):
            pass

        def test_fails():
            assert False

        def test_zz_last(request):
            stats = request.config.pluginmanager.get_plugin("terminalreporter").stats
            kept = {k: len(v) for k, v in stats.items() if v}
            assert kept == {"failed": 1}, kept  # even this test's setup report is gone
        """
    )
    base = ("--harness-env", "tf216", "--registry", "models/model_registry.json")
    result = project.runpytest_subprocess("test_many.py", "-n", "1", *base)
    result.assert_outcomes(passed=21, failed=1)
