"""Adam with an ExponentialDecay learning-rate schedule and gradient clipping by norm.

Exercises: a schedule (evaluated at the carried iteration count: a reset count changes the
learning rate of the next step) and ``clipnorm``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"
TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's "
        "(the same formula), so one step from the same state and gradients moves a few weights "
        "by a few "
        "ULP: measured 1 ULP (1 of 162 values) in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5.",
    },
}


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data


def build() -> Any:
    return SHARED.build(
        "opt_schedule",
        lambda tf: tf.keras.optimizers.Adam(
            tf.keras.optimizers.schedules.ExponentialDecay(3e-3, decay_steps=4, decay_rate=0.8),
            clipnorm=0.5,
        ),
    )
