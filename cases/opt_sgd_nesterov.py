"""SGD with Nesterov momentum (slot m per variable).

Exercises: SGD's momentum slot and the ``nesterov`` flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data
TOLERANCES = SHARED.train_step_tolerance(
    "8 ULP (9 of 162 values) in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5"
)


def build() -> Any:
    return SHARED.build(
        "opt_sgd_nesterov", lambda tf: tf.keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    )
