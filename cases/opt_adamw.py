"""AdamW with weight decay and ``amsgrad`` (slots m, v and vhat per variable).

Exercises: carrying AdamW's three slots and its weight decay to Keras 3, where ``amsgrad`` adds
the ``velocity_hat`` slot; a lost ``amsgrad`` or weight decay changes the train step."""

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
        "ULP: measured 1 ULP on the loss in Keras 3.3.3; bitwise in 3.15.1, AMD Zen 5.",
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
        "opt_adamw", lambda tf: tf.keras.optimizers.AdamW(2e-3, weight_decay=0.004, amsgrad=True)
    )
