"""A plain Dense regressor compiled with a custom loss class and a custom stateful metric class.

Exercises: a ``tf.keras.losses.Loss`` subclass (``ScaledHuber``, constructor args ``delta`` and
``weight``) and a ``tf.keras.metrics.Metric`` subclass (``WithinTolerance``, two ``add_weight``
state variables, ``update_state``/``result``/``reset_state``; Keras 3 dropped ``reset_states``)
that the saved training config references by registered name (``harness_cases>...``), so
``compile=True`` loading needs ``custom_objects``; the loss's Keras 2 config carries
``reduction='auto'``, which Keras 3's ``Loss`` refuses.
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
        "ULP: measured 10 ULP on a weight near 7e-4 (2 of 434 values) in Keras 3.3.3, AMD Zen 5.",
    },
}
FEATURES = 8

CUSTOM_OBJECTS = {
    "ScaledHuber": "cases/custom_loss_metric.py:ScaledHuber",
    "WithinTolerance": "cases/custom_loss_metric.py:WithinTolerance",
}


@tf.keras.utils.register_keras_serializable(package="harness_cases")
class ScaledHuber(tf.keras.losses.Loss):  # type: ignore[misc]
    """``weight`` times the Huber loss with threshold ``delta``, averaged over the last axis."""

    def __init__(
        self, delta: float = 1.0, weight: float = 1.0, name: str = "scaled_huber", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.delta = float(delta)
        self.weight = float(weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = tf.cast(y_true, y_pred.dtype)
        error = tf.abs(y_true - y_pred)
        quadratic = tf.minimum(error, self.delta)
        linear = error - quadratic
        per_value = 0.5 * tf.square(quadratic) + self.delta * linear
        return self.weight * tf.reduce_mean(per_value, axis=-1)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update({"delta": self.delta, "weight": self.weight})
        return config


@tf.keras.utils.register_keras_serializable(package="harness_cases")
class WithinTolerance(tf.keras.metrics.Metric):  # type: ignore[misc]
    """Fraction of predicted values within ``tolerance`` of the target."""

    def __init__(
        self, tolerance: float = 0.5, name: str = "within_tolerance", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.tolerance = float(tolerance)
        self.hits = self.add_weight(name="hits", shape=(), initializer="zeros")
        self.total = self.add_weight(name="total", shape=(), initializer="zeros")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = tf.cast(y_true, "float32")
        y_pred = tf.cast(y_pred, "float32")
        within = tf.cast(tf.abs(y_true - y_pred) <= self.tolerance, "float32")
        weights = tf.ones_like(within)
        if sample_weight is not None:
            weights = weights * tf.reshape(tf.cast(sample_weight, "float32"), (-1, 1))
        self.hits.assign_add(tf.reduce_sum(within * weights))
        self.total.assign_add(tf.reduce_sum(weights))

    def result(self) -> Any:
        return tf.math.divide_no_nan(tf.convert_to_tensor(self.hits), self.total)

    def reset_state(self) -> None:
        self.hits.assign(0.0)
        self.total.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update({"tolerance": self.tolerance})
        return config


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, 1)).astype("float32")
    y = (x @ weights + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    return [x], [y]


def build() -> Any:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden_1")(inputs)
    hidden = tf.keras.layers.Dense(16, activation="relu", name="hidden_2")(hidden)
    outputs = tf.keras.layers.Dense(1, name="target")(hidden)
    model = tf.keras.Model(inputs, outputs, name="custom_loss_metric")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss=ScaledHuber(delta=1.0, weight=2.0),
        metrics=[WithinTolerance(tolerance=0.5), "mae"],
    )
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
