"""Property-based tests: the registry's parse/serialise round trip and the comparison functions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, floating_dtypes

from harness.core.compare import Tolerance, compare_arrays, compare_values, ulp_distance
from harness.core.registry import Registry

SPECS = st.sampled_from(["2.13.keras", "2.13.h5", "2.15.h5", "2.16.keras", "2.17.weights.h5"])
IDS = st.from_regex(r"[a-z0-9_.-]{1,12}", fullmatch=True)
PATHS = st.from_regex(r"models/[a-z0-9_]{1,8}/[a-z0-9_.-]{1,10}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
ENTRIES = st.fixed_dictionaries(
    {"paths": st.dictionaries(SPECS, PATHS, max_size=4)},
    optional={"owner": st.text(max_size=10), "trusted": st.booleans(), "notes": JSON_VALUES},
)
REGISTRIES = st.fixed_dictionaries(
    {"models": st.dictionaries(IDS, ENTRIES, max_size=5)},
    optional={"comment": JSON_VALUES},
)


@settings(max_examples=150, deadline=None)
@given(REGISTRIES)
def test_registry_round_trip_keeps_everything(tmp_path_factory: object, data: dict) -> None:  # type: ignore[type-arg]
    folder = Path(tmp_path_factory.mktemp("r"))  # type: ignore[attr-defined]
    path = folder / "models" / "model_registry.json"
    path.parent.mkdir()
    text = json.dumps(data, indent=4) + "\n"
    path.write_text(text)
    registry = Registry.load(path)
    assert registry.to_json() == data
    assert json.dumps(registry.to_json(), indent=4) + "\n" == text  # as the recipe wrote it


FLOATS = arrays(
    floating_dtypes(sizes=(16, 32, 64)),
    st.integers(1, 20),
    elements={"allow_nan": True, "allow_infinity": True},
)


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_an_array_equals_itself_bitwise(values: np.ndarray) -> None:
    result = compare_arrays(values, values.copy())
    assert result.bitwise and result.ok and result.max_ulp == 0 and result.max_abs == 0.0


@settings(max_examples=200, deadline=None)
@given(FLOATS, st.data())
def test_comparison_is_symmetric_and_consistent(a: np.ndarray, data: st.DataObject) -> None:
    b = data.draw(arrays(a.dtype, st.integers(1, 20), elements={"allow_nan": True}))
    if a.shape != b.shape:
        assert not compare_arrays(a, b).ok
        return
    forward, backward = compare_arrays(a, b), compare_arrays(b, a)
    assert forward.mismatches == backward.mismatches and forward.max_ulp == backward.max_ulp
    assert forward.bitwise == (a.tobytes() == b.tobytes())
    assert forward.ok == forward.bitwise  # exact by default
    loose = compare_arrays(a, b, tolerance=Tolerance(max_ulp=max(forward.max_ulp, 1), reason="t"))
    finite = bool(np.isfinite(a).all() and np.isfinite(b).all())
    assert loose.ok or not finite


@settings(max_examples=200, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False), st.integers(0, 50))
def test_ulp_distance_counts_steps(start: float, steps: int) -> None:
    value = np.float32(start)
    moved = value
    with np.errstate(over="ignore"):
        for _ in range(steps):
            moved = np.nextafter(moved, np.float32(np.inf))
    if not np.isfinite(moved):
        return
    assert int(ulp_distance(np.array([value]), np.array([moved]))[0]) == steps


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=6), st.floats(width=32), max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=6), st.floats(width=32), max_size=4),
)
def test_metric_key_differences_are_always_reported(
    a: dict[str, float], b: dict[str, float]
) -> None:
    result = compare_values(a, b)
    if set(a) != set(b):
        assert not result.ok and result.problems
    for key in set(a) - set(b):
        assert key in result.summary()
