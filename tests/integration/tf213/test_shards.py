"""``--shard K/N``: an environment split across three jobs merges into exactly what one run gives
(real TensorFlow 2.13, tox -e tests-tf213)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.results import Cell
from harness.core.sharding import shard_of
from harness.report import matrix
from tests.helpers import case_registry, run_convert, run_suite

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]
#: one model in each of three shards (shard_of: 3, 2, 1)
MODELS = ("dense_regression", "two_heads", "multi_io")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three embedded cases with their committed goldens, converted once."""
    registry = case_registry(tmp_path, list(MODELS))
    result = run_convert(registry, tmp_path / "build")
    assert result.returncode == 0, result.stderr[-2000:]
    return registry


def seen(cells: list[Cell]) -> list[tuple[str, str, str, str]]:
    """What a cell says, without when and where it was made."""
    return [(c.key.text, c.status, c.detail, json.dumps(c.numbers, sort_keys=True)) for c in cells]


def test_three_shards_merge_to_one_run(
    project: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    assert sorted(shard_of(m, 3) for m in MODELS) == [1, 2, 3]
    whole, sharded = tmp_path / "build", tmp_path / "sharded"
    shutil.copytree(whole, sharded)  # the same converted files, as every CI job downloads them
    one = run_suite(pytester, project, "tf213", whole)
    assert one.ret == 0, one.outlines[-20:]
    for index in (1, 2, 3):
        part = run_suite(pytester, project, "tf213", sharded, "--shard", f"{index}/3")
        part.assert_outcomes(passed=15)  # one model's golden, replay, names, 2 routes x 6
    files = sorted(p.name for p in (sharded / "results").glob("*.json"))
    assert [name.split(".", 1)[1] for name in files] == [
        "shard-1of3.json",
        "shard-2of3.json",
        "shard-3of3.json",
    ]
    merged = matrix.merge(sorted((sharded / "results").glob("*.json")))
    alone = matrix.merge(sorted((whole / "results").glob("*.json")))
    assert seen(merged) == seen(alone)
    assert {c.model for c in merged} == set(MODELS)

    # the same shards again as one unsharded run: that run's file replaces theirs
    again = run_suite(pytester, project, "tf213", sharded)
    assert again.ret == 0
    assert [p.name.count(".") for p in (sharded / "results").glob("*.json")] == [1]


def test_a_shard_without_models_passes_and_a_bad_shard_is_refused(
    project: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    build = tmp_path / "build"
    empty = next(k for k in range(1, 50) if all(shard_of(m, 50) != k for m in MODELS))
    outcome = run_suite(pytester, project, "tf213", build, "--shard", f"{empty}/50")
    assert outcome.ret == 0, outcome.outlines[-20:]
    bad = run_suite(pytester, project, "tf213", build, "--shard", "4/3")
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(
        [
            "ERROR: keras-harness: Bad shard '4/3': expected K/N with 1 <= K <= N. Fix: pass e.g. "
            "--shard 2/3 (the second of three shards; run 1/3, 2/3 and 3/3 to cover every model)."
        ]
    )


def test_batches_of_models_in_successive_processes_make_one_run(
    project: pytest.Pytester, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    whole, batched = tmp_path / "build", tmp_path / "batched"
    shutil.copytree(whole, batched)
    one = run_suite(pytester, project, "tf213", whole, "--models-per-process", "0")
    assert one.ret == 0, one.outlines[-20:]
    three = run_suite(pytester, project, "tf213", batched, "--models-per-process", "1")
    assert three.ret == 0, three.outlines[-20:]
    for index in (1, 2, 3):
        three.stdout.fnmatch_lines([f"keras-harness: batch {index}/3: *--harness-batch {index}/3"])
    (single,) = (batched / "results").glob("*.json")  # the batches share one results file
    assert seen(matrix.merge([single])) == seen(
        matrix.merge(sorted((whole / "results").glob("*.json")))
    )
