"""RMSprop with momentum and ``centered`` (slots velocity, momentum and average_gradient).

Exercises: RMSprop's three slots, two of them only present with these options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data
TOLERANCES = SHARED.train_step_tolerance(
    "1 ULP (5 of 162 values) in Keras 3.3.3, 1 of 162 in 3.15.1, AMD Zen 5"
)


def build() -> Any:
    return SHARED.build(
        "opt_rmsprop_centered",
        lambda tf: tf.keras.optimizers.RMSprop(1e-3, momentum=0.9, centered=True),
    )
