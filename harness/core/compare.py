"""Comparison of arrays and metric values: exact by default, always with distances.

Every comparison reports the max absolute difference and the max distance in units in the last
place (ULP), so a report can tell "bitwise" from "within N ULP". Failure messages follow
pytest-regressions' shape: shape and dtype first, then mismatch count and percentage, the
distances, and a table of the first mismatches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_INT_FOR_FLOAT = {2: "int16", 4: "int32", 8: "int64"}
MAX_ROWS = 5


@dataclass(frozen=True)
class Tolerance:
    """How far a value may move, and why: passes when |a-b| <= max_abs or ULP <= max_ulp."""

    max_abs: float = 0.0
    max_ulp: int = 0
    reason: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Tolerance:
        if not data:
            return cls()
        return cls(float(data.get("max_abs", 0.0)), int(data.get("max_ulp", 0)), data["reason"])

    @property
    def exact(self) -> bool:
        return self.max_abs == 0.0 and self.max_ulp == 0

    def describe(self) -> str:
        """``exact``, ``max abs 1e-05``, ``4 ULP`` or ``max abs 1e-05 or 128 ULP``."""
        if self.exact:
            return "exact"
        parts = []
        if self.max_abs:
            parts.append(f"max abs {self.max_abs:g}")
        if self.max_ulp:
            parts.append(f"{self.max_ulp} ULP")
        return " or ".join(parts)


@dataclass
class Comparison:
    """The outcome of comparing one expected and one actual array (or a set of arrays)."""

    total: int = 0
    mismatches: int = 0
    beyond_tolerance: int = 0
    max_abs: float = 0.0
    max_ulp: int = 0
    problems: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)

    @property
    def bitwise(self) -> bool:
        return not self.problems and self.mismatches == 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.beyond_tolerance == 0

    def merge(self, other: Comparison) -> None:
        self.total += other.total
        self.mismatches += other.mismatches
        self.beyond_tolerance += other.beyond_tolerance
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_ulp = max(self.max_ulp, other.max_ulp)
        self.problems.extend(other.problems)
        self.rows.extend(other.rows)

    def numbers(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs,
            "max_ulp": self.max_ulp,
            "mismatches": self.mismatches,
            "total": self.total,
        }

    def summary(self) -> str:
        """'bitwise', 'within N ULP (max abs diff X)' or the failure report."""
        if self.problems:
            return "; ".join(self.problems)
        if self.bitwise:
            return "bitwise"
        pct = 100.0 * self.mismatches / self.total if self.total else 0.0
        text = (
            f"{self.mismatches}/{self.total} values differ ({pct:.1f}%), max abs diff "
            f"{self.max_abs:.3g}, max {self.max_ulp} ULP"
        )
        if self.rows:
            text += "; first: " + ", ".join(self.rows[:MAX_ROWS])
        return text


def ulp_distance(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Elementwise distance in ULP between two float arrays of the same dtype."""
    import numpy as np

    int_type = np.dtype(_INT_FOR_FLOAT[expected.dtype.itemsize])
    wide = np.int64

    def ordered(values: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(values).view(int_type).astype(wide)
        # sign-magnitude -> two's complement ordering, so adjacent floats differ by 1
        min_int = np.iinfo(int_type).min
        return np.where(bits < 0, min_int - bits, bits)

    # ascontiguousarray makes 0-d arrays 1-d: give the distances the inputs' shape back
    distance = np.abs(ordered(expected) - ordered(actual)).reshape(expected.shape)
    both_nan = np.isnan(expected) & np.isnan(actual)
    return np.where(both_nan, 0, distance)


def compare_arrays(
    expected: np.ndarray,
    actual: np.ndarray,
    *,
    name: str = "output",
    tolerance: Tolerance | None = None,
) -> Comparison:
    """Compare two arrays bit for bit, measuring distances and applying ``tolerance``."""
    import numpy as np

    tolerance = tolerance or Tolerance()
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    result = Comparison(total=int(expected.size))
    if expected.shape != actual.shape:
        result.problems.append(
            f"{name}: shape differs: expected {expected.shape}, got {actual.shape}"
        )
        return result
    if expected.dtype != actual.dtype:
        result.problems.append(
            f"{name}: dtype differs: expected {expected.dtype}, got {actual.dtype}"
        )
        return result
    if expected.size == 0:
        return result
    if expected.dtype.kind == "f":
        same_bits = (
            (
                np.ascontiguousarray(expected).view(np.uint8).reshape(expected.size, -1)
                == np.ascontiguousarray(actual).view(np.uint8).reshape(actual.size, -1)
            )
            .all(axis=1)
            .reshape(expected.shape)
        )
        ulp = ulp_distance(expected, actual)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, float64 extremes
            abs_diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
        abs_diff = np.where(np.isnan(abs_diff) & ~same_bits, np.inf, abs_diff)
        abs_diff = np.where(same_bits, 0.0, abs_diff)
        # a non-finite value only ever matches itself; exact (the default) means bitwise,
        # so +0.0 and -0.0 differ unless a tolerance is declared
        finite = np.isfinite(expected) & np.isfinite(actual)
        close = (abs_diff <= tolerance.max_abs) | (ulp <= tolerance.max_ulp)
        within = same_bits | (finite & close) if not tolerance.exact else same_bits
        result.max_ulp = int(ulp.max())
    else:
        same_bits = expected == actual
        abs_diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
        within = same_bits | (abs_diff <= tolerance.max_abs) if not tolerance.exact else same_bits
        ulp = None
    result.mismatches = int((~same_bits).sum())
    result.beyond_tolerance = int((~within).sum())
    result.max_abs = float(abs_diff.max())
    if math.isinf(result.max_abs):
        result.max_ulp = max(result.max_ulp, 2**31)
    for index in np.argwhere(~same_bits)[:MAX_ROWS]:
        position = tuple(int(i) for i in index)
        want, got = expected[position].item(), actual[position].item()
        row = f"{name}{list(position)} expected {want!r} got {got!r}"
        if ulp is not None:
            row += f" ({int(ulp[position])} ULP)"
        result.rows.append(row)
    return result


def compare_values(
    expected: dict[str, float],
    actual: dict[str, float],
    *,
    tolerance: Tolerance | None = None,
    dtype: str = "float32",
) -> Comparison:
    """Compare two ``name -> scalar`` dicts (evaluate results): key sets first, then values."""
    import numpy as np

    result = Comparison()
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        result.problems.append(
            f"missing: {', '.join(missing)} (got: {', '.join(sorted(actual)) or 'nothing'})"
        )
    if extra:
        result.problems.append(f"unexpected: {', '.join(extra)}")
    for key in sorted(set(expected) & set(actual)):
        one = compare_arrays(
            np.asarray(expected[key], dtype=dtype),
            np.asarray(actual[key], dtype=dtype),
            name=key,
            tolerance=tolerance,
        )
        one.rows = [row.replace(f"{key}[]", key) for row in one.rows]
        result.merge(one)
    return result


def compare_outputs(
    expected: list[np.ndarray], actual: list[np.ndarray], tolerance: Tolerance | None = None
) -> Comparison:
    """Every output array of a model against the expected ones (``output0``, ``output1``...)."""
    total = Comparison()
    if len(actual) != len(expected):
        total.problems.append(f"expected {len(expected)} outputs, got {len(actual)}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        total.merge(compare_arrays(want, got, name=f"output{index}", tolerance=tolerance))
    return total
