"""The summary at the end of ``tox`` (per environment: pass, limitation, not-produced, failing,
and the top failing causes), and why each failing cell fails in changes.md and matrix.html
(no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.config import load_config
from harness.core.limitations import load_catalogue
from harness.core.results import Cell, write_results
from harness.report.summary import Judge, failing_section, summary_lines

ROOT = Path(__file__).parent.parent
CATALOGUE = """
[[limitation]]
id = "lost"
title = "Optimizer slots come back fresh"
workaround = "Warm-start."
source = "s"
[limitation.applies_to]
environments = ["@keras3"]
checks = ["optimizer-state"]
[limitation.evidence]
outcome = "optimizer-state-lost"

[[limitation]]
id = "time-major"
title = "Keras 3 refuses time_major"
workaround = "Delete it."
source = "s"
strict = false
[limitation.applies_to]
environments = ["@keras3"]
routes = ["chain-h5", "chain"]
checks = ["load"]
[limitation.evidence]
exception = "ValueError"
message = "{'time_major'"
"""
LSTM = "Unrecognized keyword arguments passed to LSTM: {'time_major': False}"


def cell(env: str, route: str, check: str, status: str, detail: str = "", **kw: str) -> Cell:
    return Cell(
        model=kw.get("model", "m"),
        env=env,
        device="cpu",
        route=route,
        spec="2.16.keras",
        check=check,
        status=status,
        detail=detail,
        fingerprint=kw.get("fingerprint", "cpu-1"),
    )


@pytest.fixture
def judge(tmp_path: Path) -> Judge:
    path = tmp_path / "limitations.toml"
    path.write_text(CATALOGUE)
    return Judge(load_catalogue(path), load_config(ROOT / "harness.toml"))


CELLS = [
    cell("tf216", "chain", "predict", "pass", "bitwise"),
    cell("tf216", "chain", "predict", "pass", "bitwise", fingerprint="cpu-2"),
    cell("tf216", "chain", "optimizer-state", "limitation:lost", "fresh slots: 0/12"),
    # a strict limitation that applies and no longer happens
    cell("tf216", "chain", "optimizer-state", "pass", "12/12 identical", model="n"),
    # explained time_major refusals: as its own cell and as other checks of the same load
    cell("tf216", "chain-h5", "load", "limitation:time-major", f"ValueError: {LSTM}"),
    # a message Keras changed: the same cause, in two environments and two checks
    cell(
        "tf216",
        "chain-h5",
        "load",
        "error:ValueError",
        "ValueError: Unknown arg 'time_major'",
        model="n",
    ),
    cell(
        "tf217",
        "chain-h5",
        "predict",
        "error:ValueError",
        "ValueError: not run, load failed: Unknown arg 'time_major'",
        model="n",
    ),
    cell(
        "tf217",
        "chain-h5",
        "load",
        "error:ValueError",
        "ValueError: Unknown arg 'time_major'",
        model="n",
    ),
    cell("tf217", "chain", "evaluate", "mismatch", "evaluate: loss 0.1 -> 0.2"),
    cell(
        "tf217",
        "chain",
        "load",
        "not-produced:2.15.h5->2.16.keras@tf216",
        f"not produced: step 2.15.h5->2.16.keras@tf216 failed: ValueError: {LSTM} "
        "[limitation:time-major in tf216]",
    ),
    cell(
        "tf217",
        "chain",
        "predict",
        "not-produced:2.15.h5->2.16.keras@tf216",
        f"not produced: step 2.15.h5->2.16.keras@tf216 failed: TypeError: {LSTM}",
        model="n",
    ),
]


def test_the_summary_counts_each_environment_and_names_the_top_causes(judge: Judge) -> None:
    assert summary_lines(CELLS, judge) == [
        "Summary: 11 cells in 2 environments (failing: the cell's check fails in its environment)",
        "  environment  runners          pass    limitation  not-produced       failing",
        "  tf216              2             2             2             0             2",
        "  tf217              1             0             0             1             4",
        "  all                2             2             2             1             6",
        "Failing cells by cause (6 cells, 4 causes):",
        "      3  error:ValueError: Unknown arg 'time_major'  (tf216, tf217)",
        "      1  mismatch: evaluate: loss 0.1 -> 0.2  (tf217)",
        "      1  not-produced:2.15.h5->2.16.keras@tf216: not produced: step "
        "2.15.h5->2.16.keras@tf216 failed: TypeError: Un…ed to LSTM: {'time_major': False}  "
        "(tf217)",
        "      1  pass: documented limitation lost no longer happens  (tf216)",
    ]
    assert summary_lines(CELLS[:3], judge)[-1] == "No failing cells."


def test_a_failing_cell_is_explained_by_every_limitation_that_applies(judge: Judge) -> None:
    assert judge.explain(CELLS[5]) == (
        "observed: ValueError: Unknown arg 'time_major'\n"
        f"limitations of {judge.catalogue.path} that apply here (environment tf216, route "
        "chain-h5, model n, check load): 1\n"
        "  - time-major: exception='ValueError', message=\"{'time_major'\" (message differs)\n"
        "in short: nearest: time-major (message differs)"
    )
    # a step's failure is explained in the step's environment, for the check that loads
    assert judge.explain(CELLS[10]).splitlines() == [
        f"the step failed in tf216: TypeError: {LSTM}",
        f"limitations of {judge.catalogue.path} that apply here (environment tf216, route "
        "chain, model n, check load): 1",
        "  - time-major: exception='ValueError', message=\"{'time_major'\" (exception differs)",
        "in short: nearest: time-major (exception differs: expects ValueError)",
    ]
    assert judge.explain(CELLS[3]) == (
        "the check passed: 12/12 identical\n"
        f"documented limitation lost ({judge.catalogue.path}) no longer happens here: update "
        "its applies_to"
    )
    # an outcome is not recorded in a cell: an entry of outcomes alone is not compared
    mismatch = judge.explain(cell("tf216", "chain", "optimizer-state", "mismatch", "1/12 differ"))
    assert "  - lost: outcome='optimizer-state-lost' (outcome not compared)" in mismatch
    assert judge.explain(CELLS[0]) == judge.explain(CELLS[4]) == ""


def test_changes_md_explains_every_failing_cell(judge: Judge) -> None:
    text = failing_section(CELLS, judge)
    assert text.startswith("## Failing cells (6): why no limitation explains them\n\n")
    assert text.count("\n### ") == 6
    assert (
        "### `n|tf216|cpu|chain-h5|load` (cpu-1): error:ValueError\n\n```\n"
        + judge.explain(CELLS[5])
        + "\n```\n"
    ) in text
    assert failing_section(CELLS[:3], judge) == ""


def test_the_matrix_prints_the_summary_last_and_writes_the_explanations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    results = tmp_path / "results.json"
    write_results(results, env="tf216", device="cpu", run={}, cells=CELLS)
    (tmp_path / "limitations.toml").write_text(CATALOGUE)
    args = [
        *("--build-dir", str(tmp_path), "matrix", "--results", str(results)),
        *("--baseline", str(tmp_path / "base.json"), "--compat-md", str(tmp_path / "COMPAT.md")),
        *("--limitations", str(tmp_path / "limitations.toml")),
    ]
    assert main([*args, "--update-baseline"]) == 0
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    judge = Judge(load_catalogue(tmp_path / "limitations.toml"), load_config(ROOT / "harness.toml"))
    assert out[-13:] == [
        "The gate passed: every cell matches the baseline.",
        "",
        *summary_lines(CELLS, judge),
        f"Gate against {tmp_path / 'base.json'}: passed.",
    ]
    changes = (tmp_path / "matrix" / "changes.md").read_text()
    assert changes.startswith(
        "# What changed against the baseline\n\n```\n" + "\n".join(summary_lines(CELLS, judge))
    )
    assert failing_section(CELLS, judge) in changes
    page = (tmp_path / "matrix" / "matrix.html").read_text()
    data = json.loads(page.split('id="data">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    why = {
        (c["model"], c["env"], c["check"], c["fingerprint"]): c.get("why") for c in data["cells"]
    }
    assert why[("n", "tf216", "load", "cpu-1")] == judge.explain(CELLS[5])
    assert why[("m", "tf216", "predict", "cpu-1")] is None
    assert data["limitations"] == {
        "lost": {
            "title": "Optimizer slots come back fresh",
            "evidence": "outcome='optimizer-state-lost'",
            "workaround": "Warm-start.",
        },
        "time-major": {
            "title": "Keras 3 refuses time_major",
            "evidence": "exception='ValueError', message=\"{'time_major'\"",
            "workaround": "Delete it.",
        },
    }
