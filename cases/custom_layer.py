"""A functional regressor whose middle layer is a registered custom layer, ``ScaledDense``.

Exercises: a user ``Layer`` subclass that creates its weights with ``add_weight`` in ``build()``
(a kernel, a bias and a trainable scalar ``scale``) and round-trips its constructor arguments
(``units``, ``init_scale``) through ``get_config``; it is saved under the registered name
``harness_cases>ScaledDense``, so loading needs ``custom_objects`` (or the registration), and
Keras 3 must rebuild it from Keras 2's config (``build_config``, weight paths/order in the
``.keras`` and ``.h5`` weight stores). Compiled with Adam, loss ``mse``, metric ``mae``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

FAMILY = "custom objects"
TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's "
        "(the same formula), so one step from the same state and gradients moves a few weights "
        "by a few "
        "ULP: measured 1 ULP (1 of 291 values) in Keras 3.3.3 and 3.15.1, AMD Zen 5.",
    },
}
FEATURES = 8

CUSTOM_OBJECTS = {"ScaledDense": "cases/custom_layer.py:ScaledDense"}


@tf.keras.utils.register_keras_serializable(package="harness_cases")
class ScaledDense(tf.keras.layers.Layer):  # type: ignore[misc]
    """``scale * (x @ kernel + bias)`` with a trainable scalar ``scale``, then ReLU."""

    def __init__(self, units: int = 16, init_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.init_scale = float(init_scale)

    def build(self, input_shape: Any) -> None:
        in_dim = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(in_dim, self.units),
            initializer="glorot_uniform",
            trainable=True,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer="zeros", trainable=True
        )
        self.scale = self.add_weight(
            name="scale",
            shape=(),
            initializer=tf.keras.initializers.Constant(self.init_scale),
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        return tf.nn.relu(self.scale * (tf.matmul(inputs, self.kernel) + self.bias))

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update({"units": self.units, "init_scale": self.init_scale})
        return config


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, 1)).astype("float32")
    y = (np.tanh(x @ weights) + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    return [x], [y]


def build() -> Any:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    hidden = ScaledDense(units=8, init_scale=0.5, name="scaled_dense")(hidden)
    outputs = tf.keras.layers.Dense(1, name="target")(hidden)
    model = tf.keras.Model(inputs, outputs, name="custom_layer")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
