"""Nadam (slots m and v, and the running product of its momentum schedule).

Exercises: Nadam's ``u_product``, which Keras 2 keeps outside its saved variables and Keras 3
keeps as an optimizer variable."""

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
    return _shared().build("opt_nadam", lambda tf: tf.keras.optimizers.Nadam(2e-3))
