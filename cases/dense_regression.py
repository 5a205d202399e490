"""The recipe's model: a Dense regressor compiled with Adam, loss ``mse``, metrics ``mae``/``mse``.

Exercises: the loss alias that TF 2.13's ``.h5`` stores (``'mse'``, refused by Keras 3), metric
names that Keras 3 no longer derives from string identifiers (recompiled at the last hop), and
Adam's slot variables (lost when Keras 3 loads a Keras 2 file).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "dense"
TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's "
        "(the same formula), so one step from the same state and gradients moves a few weights "
        "by a few "
        "ULP: measured 1 ULP (1 of 434 values) in Keras 3.3.3 and 3.4.1; bitwise in 3.15.1, AMD "
        "Zen 5.",
    },
}
FEATURES = 8


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, 1)).astype("float32")
    y = (x @ weights + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden_1")(inputs)
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden_2")(hidden)
    outputs = tf.keras.layers.Dense(1, name="price")(hidden)
    model = tf.keras.Model(inputs, outputs, name="dense_regression")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae", "mse"])
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
