"""``keras-harness routes`` on measured cells (no TensorFlow): the shortest route that passes per
environment, else what stopped the model and what to try next."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.core.config import load_config
from harness.core.limitations import load_catalogue
from harness.core.repairs import load_repairs
from harness.core.results import CellKey
from harness.report.routes import answers

ROOT = Path(__file__).parent.parent
CHECKS = ("load", "predict", "evaluate", "metrics", "optimizer-state")


def cells(model: str, env: str, route: str, **statuses: str) -> dict[CellKey, dict[str, str]]:
    return {
        CellKey(model, env, "cpu", route, check): {"status": statuses.get(check, "pass")}
        for check in CHECKS
    }


def test_answers_name_the_route_or_the_cause_and_the_next_step() -> None:
    measured = {
        **cells("m", "tf216", "chain-h5"),
        **cells("m", "tf216", "chain", load="not-produced:2.15.h5->2.16.keras@tf216"),
        **cells(
            "n", "tf216", "chain-h5", **dict.fromkeys(CHECKS, "limitation:rnn-time-major-refused")
        ),
        **cells("n", "tf218", "repaired", evaluate="mismatch", metrics="mismatch"),
    }
    lines = answers(
        measured,
        load_config(ROOT / "harness.toml"),
        load_catalogue(ROOT / "limitations.toml"),
        load_repairs(ROOT / "repairs.toml"),
    )
    assert lines == [
        "m:",
        "  tf216: chain-h5",
        "n:",
        "  tf216: none (limitation:rnn-time-major-refused); next: Delete 'time_major' from "
        "each RNN layer's config (a…d copy the weights; tf_keras loads the .h5 unchanged.",
        "  tf218: repaired predicts only (mismatch); next: read the cell in "
        "build/matrix/matrix.html (keras-harness matrix)",
    ]


def test_the_cli_reads_the_baseline_when_there_is_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--config", str(ROOT / "harness.toml"), "--build-dir", str(tmp_path), "routes"]
    args += ["--baseline", str(ROOT / "golden/baseline.json")]
    args += [
        "--limitations",
        str(ROOT / "limitations.toml"),
        "--repairs",
        str(ROOT / "repairs.toml"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    block = out[out.index("depthwise_separable:") + 1 :][:4]
    assert block[0] == "  tf213: direct-keras"
    assert block[1].startswith("  tf214: direct-h5 predicts only (limitation:")
    assert block[3] == "  tf216: repaired"
    assert "  tf217: repaired" in out[out.index("depthwise_separable:") :]
    assert all(len(line) <= 162 for line in out)


def test_where_the_repaired_route_is_not_verified_the_answer_points_to_it(tmp_path: Path) -> None:
    text = (ROOT / "harness.toml").read_text(encoding="utf-8")
    line = 'tf218 = { tensorflow = "2.18.1", keras = "3.6.0" }'
    assert line in text
    config_path = tmp_path / "harness.toml"
    config_path.write_text(
        text.replace(line, line[:-2] + ', verify = ["direct-h5", "chain-h5"] }'),
        encoding="utf-8",
    )
    measured = cells(
        "n", "tf218", "chain-h5", **dict.fromkeys(CHECKS, "limitation:rnn-time-major-refused")
    )
    lines = answers(
        measured,
        load_config(config_path),
        load_catalogue(ROOT / "limitations.toml"),
        load_repairs(ROOT / "repairs.toml"),
    )
    assert lines[1] == (
        "  tf218: none (limitation:rnn-time-major-refused); next: the repaired route (a rule "
        "repairs it; verified in…tf221, tf221-keras315, keras315-jax, keras315-torch)"
    )  # shortened to the screen's width in the middle
