"""Shards: a model's shard depends on its id alone, and results files of shards (no TensorFlow)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.core.sharding import Shard, shard_of
from harness.verify.shards import superseded


def test_a_model_keeps_its_shard_when_others_come_and_go() -> None:
    models = [f"run_{i:03d}" for i in range(300)]
    before = {m: shard_of(m, 3) for m in models}
    after = {m: shard_of(m, 3) for m in models[:150] + [f"new_{i}" for i in range(50)]}
    assert all(after[m] == before[m] for m in models[:150])
    counts = Counter(before.values())
    assert set(counts) == {1, 2, 3}
    assert all(80 <= n <= 120 for n in counts.values()), counts  # about a third each


def test_every_model_is_in_exactly_one_shard() -> None:
    for count in (1, 2, 5):
        shards = [Shard(k, count) for k in range(1, count + 1)]
        for model in ("a", "dense_regression", "ünïcode"):
            assert sum(s.holds(model) for s in shards) == 1


def test_parse_and_label() -> None:
    shard = Shard.parse(" 2 / 3 ")
    assert (shard.index, shard.count, str(shard), shard.label) == (2, 3, "2/3", "shard-2of3")


def test_a_bad_shard_says_what_was_received_and_the_fix() -> None:
    with pytest.raises(HarnessError) as caught:
        Shard.parse("3/2")
    assert str(caught.value) == (
        "Bad shard '3/2': expected K/N with 1 <= K <= N. Fix: pass e.g. --shard 2/3 (the second "
        "of three shards; run 1/3, 2/3 and 3/3 to cover every model)."
    )


def test_what_a_complete_session_replaces(tmp_path: Path) -> None:
    names = [
        "tf216-cpu-aaaaaaaa.json",
        "tf216-cpu-aaaaaaaa.shard-1of3.json",
        "tf216-cpu-aaaaaaaa.shard-2of3.json",
        "tf216-cpu-aaaaaaaa.shard-1of2.json",
        "tf216-cpu-bbbbbbbb.shard-1of2.json",  # another runner: never
        "tf216-legacy-cpu-aaaaaaaa.json",  # another environment: never
    ]
    for name in names:
        (tmp_path / name).write_text("{}")

    def replaced(shard: str) -> list[str]:
        return [p.name for p in superseded(tmp_path, "tf216", "cpu-aaaaaaaa", shard)]

    assert replaced("") == [
        "tf216-cpu-aaaaaaaa.shard-1of2.json",
        "tf216-cpu-aaaaaaaa.shard-1of3.json",
        "tf216-cpu-aaaaaaaa.shard-2of3.json",
    ]
    assert replaced("shard-3of3") == [
        "tf216-cpu-aaaaaaaa.json",
        "tf216-cpu-aaaaaaaa.shard-1of2.json",
    ]


def test_environments_side_by_side_keep_their_own_in_flight_markers(tmp_path: Path) -> None:
    """Under tox p two environments verify at once in one build folder: the same item id in
    flight in both, each session finds and clears only its own marker and poison file."""
    from harness.verify.shards import consolidate, crash_cell, mark_inflight, poisoned

    item = {"id": "m-2.16.keras-load", "model": "m", "route": "chain", "spec": "2.16.keras"}
    item["check"] = "load"
    for env in ("tf216", "tf216-legacy"):
        mark_inflight(
            tmp_path, item, env=env, device="cpu", device_name="x", versions={}, timeout=None
        )
    cell = crash_cell(tmp_path, "m-2.16.keras-load", "tf216")
    assert cell is not None and cell.env == "tf216" and cell.status == "error:WorkerCrashed"
    assert list(poisoned(tmp_path, "tf216")) == ["m"] and poisoned(tmp_path, "tf216-legacy") == {}
    consolidate(tmp_path, "tf216", since=0.0, complete=True, extra=[cell], run={})
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert [name for name in left if not name.endswith(".lock")] == [
        next(p.name for p in tmp_path.glob(".inflight-tf216-legacy--*.json"))
    ]
    other = crash_cell(tmp_path, "m-2.16.keras-load", "tf216-legacy")
    assert other is not None and other.env == "tf216-legacy"
