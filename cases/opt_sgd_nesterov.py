"""SGD with Nesterov momentum (slot m per variable).

Exercises: SGD's momentum slot and the ``nesterov`` flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FAMILY = "optimizers"


def _shared() -> Any:
    from harness.keras.formats import import_file

    return import_file(Path(__file__).with_name("_optimizers.py"))


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    data: tuple[list[np.ndarray], list[np.ndarray]] = _shared().make_data(seed)
    return data


def build() -> Any:
    return _shared().build(
        "opt_sgd_nesterov", lambda tf: tf.keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    )
