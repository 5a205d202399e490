"""The verification suite: one test per (model, route, check) in the running environment.

Parametrized by the keras-harness pytest plugin over every registered model and every route the
environment verifies; ids read like ``dense_regression-2.16.keras-predict``.
"""

from __future__ import annotations

from typing import Any


def test_compat(harness_item: Any, harness_check: Any) -> None:
    harness_check(harness_item)
