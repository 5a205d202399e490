"""Nadam (slots m and v, and the running product of its momentum schedule).

Exercises: Nadam's ``u_product``, which Keras 2 keeps outside its saved variables and Keras 3
keeps as an optimizer variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats import import_file

FAMILY = "optimizers"


#: the family's shared model and data (cases/_optimizers.py), imported as the harness imports cases
SHARED = import_file(Path(__file__).with_name("_optimizers.py"))
make_data = SHARED.make_data


def build() -> Any:
    return SHARED.build("opt_nadam", lambda tf: tf.keras.optimizers.Nadam(2e-3))
