"""The optimizer family's shared model and data (not a case: its name starts with ``_``).

Each ``opt_*`` case trains the same small Dense regressor with one optimizer configuration for 3
seeded epochs of 4 steps, so that its slot variables, iteration count and hyperparameters are
real, and the train-step check has state to continue from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

FEATURES = 8
#: why one train step in Keras 3 may differ from Keras 2's by a few ULP (measured per case)
ARITHMETIC = (
    "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's (the same "
    "formula), so one step from the same state and gradients moves a few weights by a few ULP"
)


def train_step_tolerance(measured: str) -> dict[str, dict[str, Any]]:
    """A case's declared ``train-step`` tolerance: 16 ULP, with what was measured."""
    return {"train-step": {"max_ulp": 16, "reason": f"{ARITHMETIC}: measured {measured}."}}


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, 1)).astype("float32")
    y = (x @ weights + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    return [x], [y]


def build(name: str, optimizer: Callable[[Any], Any]) -> Any:
    """The regressor compiled with ``optimizer(tf)`` and trained."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = tf.keras.layers.Dense(1, name="value")(hidden)
    model = tf.keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer(tf), loss="mse", metrics=["mae"])
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
