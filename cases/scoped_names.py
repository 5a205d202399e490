"""A functional regressor whose layers carry TF1-style scoped names with ``/`` (``encoder/dense``).

Exercises: layer names Keras 2 accepted and Keras 3 refuses (``Argument `name` ... cannot contain
character `/```); the names appear in the graph's node references, in the model's outputs and in
the ``.h5`` weight file (as nested HDF5 groups, ``encoder/dense/encoder/dense/kernel:0``), so a
rename must be consistent through all three; two branches merged by a Concatenate; loss ``mse``,
metric ``mae``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "naming"
TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's "
        "(the same formula), so one step from the same state and gradients moves a few weights "
        "by a few "
        "ULP: measured 4 ULP on a bias near 2e-4 (1 of 130 values) in Keras 3.3.3, AMD Zen 5.",
    },
}
FEATURES = 6


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    y = (np.tanh(x[:, :2]).sum(axis=1, keepdims=True) - 0.5 * x[:, 2:3]).astype("float32")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    left = layers.Dense(8, activation="relu", name="encoder/dense")(inputs)
    right = layers.Dense(8, activation="tanh", name="encoder/dense_1")(inputs)
    merged = layers.Concatenate(name="encoder/merge")([left, right])
    outputs = layers.Dense(1, name="head/value")(merged)
    model = tf.keras.Model(inputs, outputs, name="scoped_names")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
