"""Golden files: round trip, schema taint, and safe reading (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import GoldenError, GoldenTaintedError
from harness.core.golden import Golden, read_golden, write_golden

ROOT = Path(__file__).parent.parent


def golden() -> Golden:
    meta = {
        "evaluate": {"loss": 0.5, "mae": 0.25},
        "compile": {"metrics": ["mae"]},
        "optimizer": {"iterations": 3},
        "batch_size": 4,
        "source_sha256": "0" * 64,
    }
    x = [np.arange(8, dtype=np.float32).reshape(4, 2)]
    return Golden(
        "m",
        meta,
        x,
        [np.ones((4, 1), np.float32)],
        [np.zeros((4, 1), np.float32)],
        [np.full((2, 1), 0.5, np.float32)],
    )


def test_round_trip(tmp_path: Path) -> None:
    write_golden(tmp_path, golden())
    back = read_golden(tmp_path, "m")
    assert back.evaluate == {"loss": 0.5, "mae": 0.25} and back.metrics == ["mae"]
    assert back.iterations == 3 and back.batch_size == 4
    assert np.array_equal(back.x[0], golden().x[0]) and back.x[0].dtype == np.float32
    assert np.array_equal(back.slots[0], golden().slots[0])


def test_the_committed_goldens_read() -> None:
    for case in ("dense_regression", "conv_classifier"):
        assert read_golden(ROOT / "golden", case).meta["provenance"]["tensorflow"] == "2.13.1"


def test_missing_golden_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(GoldenError) as info:
        read_golden(tmp_path, "m")
    assert str(info.value) == (
        f"Golden for model 'm' is missing: {tmp_path / 'm'}. Fix: record it in the source "
        "environment (tox -e tf213), review it and commit it."
    )


def test_another_schema_is_tainted(tmp_path: Path) -> None:
    write_golden(tmp_path, golden())
    path = tmp_path / "m" / "golden.json"
    data = json.loads(path.read_text())
    data["schema"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(GoldenTaintedError) as info:
        read_golden(tmp_path, "m")
    assert str(info.value) == (
        f"Golden {path} has schema 0, this harness writes 1: tainted. Fix: regenerate it "
        "with tox -e tf213 -- --golden-regen --model m."
    )


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    write_golden(tmp_path, golden())
    npz = tmp_path / "m" / "golden.npz"
    with open(npz, "wb") as handle:
        np.savez(handle, x0=np.array([object()], dtype=object))
    with pytest.raises(GoldenError) as info:
        read_golden(tmp_path, "m")
    assert str(info.value).startswith(f"Golden arrays {npz} cannot be read: ValueError: ")
    assert str(info.value).endswith(
        "Fix: restore it from git or regenerate it: tox -e tf213 -- --golden-regen --model m."
    )


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    write_golden(tmp_path, golden())
    npz = tmp_path / "m" / "golden.npz"
    npz.write_bytes(npz.read_bytes()[:50])
    with pytest.raises(GoldenError, match=r"Golden arrays .* cannot be read: BadZipFile: "):
        read_golden(tmp_path, "m")


def test_harness_never_enables_unsafe_deserialization() -> None:
    for path in (ROOT / "harness").rglob("*.py"):
        code = [line.split("#", 1)[0] for line in path.read_text().splitlines()]
        assert not any("enable_unsafe_deserialization(" in line for line in code), path
