"""A functional regressor that applies raw TF ops to KerasTensors between Dense layers.

Exercises: TF 2.13 wraps ``tf.math.square``, ``tf.reduce_mean(..., keepdims=True)``,
``tf.concat``, ``tf.nn.relu`` and ``x[:, :3]`` applied to symbolic tensors into auto-generated
``TFOpLambda`` / ``SlicingOpLambda`` layers whose saved config names the TF function
(``"function": "math.square"``, ``"__operators__.getitem"``), classes that Keras 3 does not have,
so the saved file cannot be rebuilt there; loss alias ``'mse'`` and metric ``'mae'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "code in the graph"
FEATURES = 6


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    y = (np.sum(x[:, :3] ** 2, axis=1, keepdims=True) - x[:, 3:4]).astype("float32")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    head = inputs[:, :3]
    squared = tf.math.square(head)
    mean_sq = tf.reduce_mean(squared, axis=-1, keepdims=True)
    hidden = layers.Dense(8, name="hidden")(inputs)
    hidden = tf.nn.relu(hidden)
    merged = tf.concat([hidden, squared, mean_sq], axis=-1)
    merged = layers.Dense(8, activation="tanh", name="mix")(merged)
    outputs = layers.Dense(1, name="target")(merged)
    model = tf.keras.Model(inputs, outputs, name="tf_ops")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
