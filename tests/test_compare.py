from __future__ import annotations

import numpy as np

from harness.core.compare import Tolerance, compare_arrays, compare_values, ulp_distance


def test_identical_arrays_are_bitwise() -> None:
    a = np.linspace(-1, 1, 10, dtype=np.float32)
    result = compare_arrays(a, a.copy())
    assert result.bitwise and result.ok
    assert result.summary() == "bitwise"
    assert result.numbers() == {"max_abs_diff": 0.0, "max_ulp": 0, "mismatches": 0, "total": 10}


def test_one_ulp_apart_fails_exact_and_reports_distances() -> None:
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b = a.copy()
    b[1] = np.nextafter(np.float32(2.0), np.float32(3.0))
    result = compare_arrays(a, b, name="out")
    assert not result.ok
    assert result.summary() == (
        "1/3 values differ (33.3%), max abs diff 2.38e-07, max 1 ULP; "
        "first: out[1] expected 2.0 got 2.000000238418579 (1 ULP)"
    )


def test_tolerance_in_ulp_passes_but_is_not_bitwise() -> None:
    a = np.array([1.0], dtype=np.float32)
    b = np.nextafter(a, np.float32(2.0))
    result = compare_arrays(a, b, tolerance=Tolerance(max_ulp=4, reason="r"))
    assert result.ok and not result.bitwise and result.max_ulp == 1


def test_ulp_across_zero_and_signed_zero() -> None:
    tiny = np.array([np.float32(1e-45)], dtype=np.float32)
    assert ulp_distance(tiny, -tiny).tolist() == [2]
    assert ulp_distance(np.float32([0.0]), np.float32([-0.0])).tolist() == [0]


def test_shape_and_dtype_differences_come_first() -> None:
    a = np.zeros((2, 3), dtype=np.float32)
    assert compare_arrays(a, np.zeros((3, 2), np.float32)).summary() == (
        "output: shape differs: expected (2, 3), got (3, 2)"
    )
    assert compare_arrays(a, np.zeros((2, 3), np.float64)).summary() == (
        "output: dtype differs: expected float32, got float64"
    )


def test_nan_in_the_same_place_is_equal_elsewhere_infinite() -> None:
    a = np.array([np.nan, 1.0], dtype=np.float32)
    assert compare_arrays(a, a.copy()).bitwise
    b = np.array([1.0, 1.0], dtype=np.float32)
    result = compare_arrays(a, b)
    assert not result.ok and result.max_abs == float("inf")


def test_metric_values_key_sets_first() -> None:
    result = compare_values({"loss": 1.0, "mae": 2.0}, {"loss": 1.0, "mean_absolute_error": 2.0})
    assert result.summary() == (
        "missing: mae (got: loss, mean_absolute_error); unexpected: mean_absolute_error"
    )
    assert compare_values({"loss": 0.5}, {"loss": 0.5}).summary() == "bitwise"


def test_integer_arrays() -> None:
    result = compare_arrays(np.array([1, 2, 3]), np.array([1, 5, 3]), name="ids")
    assert result.mismatches == 1 and result.max_abs == 3.0 and not result.ok
