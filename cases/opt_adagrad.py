"""Adagrad with a non-default initial accumulator (slot accumulator per variable).

Exercises: an optimizer whose fresh state is not zeros (``initial_accumulator_value``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FAMILY = "optimizers"
TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's "
        "(the same "
        "formula), so one step from the same state and gradients moves a few weights by a few "
        "ULP: measured 4 ULP (10 of 162 values) in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5.",
    },
}


def _shared() -> Any:
    from harness.keras.formats import import_file

    return import_file(Path(__file__).with_name("_optimizers.py"))


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    data: tuple[list[np.ndarray], list[np.ndarray]] = _shared().make_data(seed)
    return data


def build() -> Any:
    return _shared().build(
        "opt_adagrad", lambda tf: tf.keras.optimizers.Adagrad(0.05, initial_accumulator_value=0.2)
    )
