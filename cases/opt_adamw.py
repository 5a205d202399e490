"""AdamW with weight decay and ``amsgrad`` (slots m, v and vhat per variable).

Exercises: carrying AdamW's three slots and its weight decay to Keras 3, where ``amsgrad`` adds
the ``velocity_hat`` slot; a lost ``amsgrad`` or weight decay changes the train step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data
TOLERANCES = SHARED.train_step_tolerance(
    "1 ULP on the loss in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5"
)


def build() -> Any:
    return SHARED.build(
        "opt_adamw", lambda tf: tf.keras.optimizers.AdamW(2e-3, weight_decay=0.004, amsgrad=True)
    )
