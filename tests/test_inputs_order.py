"""A registry's inputs file: several inputs and outputs are taken in numeric order."""

from __future__ import annotations

from harness.source.recorder import _numbered


def test_numbered_arrays_are_taken_in_numeric_order() -> None:
    arrays = {f"x{i}": i for i in (10, 2, 0, 1, 9)} | {"y1": "b", "y0": "a", "z": 0}
    assert _numbered(arrays, "x") == [0, 1, 2, 9, 10]
    assert _numbered(arrays, "y") == ["a", "b"]
    assert _numbered({"x": "only", "x0": "ignored"}, "x") == ["only"]
    assert _numbered({"xa": 1}, "x") == []
