"""Adagrad with a non-default initial accumulator (slot accumulator per variable).

Exercises: an optimizer whose fresh state is not zeros (``initial_accumulator_value``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data
TOLERANCES = SHARED.train_step_tolerance(
    "4 ULP (10 of 162 values) in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5"
)


def build() -> Any:
    return SHARED.build(
        "opt_adagrad", lambda tf: tf.keras.optimizers.Adagrad(0.05, initial_accumulator_value=0.2)
    )
