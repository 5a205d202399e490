"""A subclassed ``tf.keras.Model`` (layers made in ``__init__``, logic in ``call``), registered.

Exercises: a model with no functional graph, which Keras can only rebuild by calling
``from_config`` (``cls(**config)``) and then building it from the saved ``build_config`` before
restoring weights; weights addressed by attribute name in the ``.keras`` store; TF 2.13's
``.h5`` writer, which refuses subclassed models (``NotImplementedError``: only functional or
Sequential models can be saved to HDF5), so this case has no ``.h5`` form.
Compiled with Adam, loss ``sparse_categorical_crossentropy``, metric ``accuracy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

FAMILY = "custom objects"
FEATURES = 10
CLASSES = 4

CUSTOM_OBJECTS = {"TwoTowerClassifier": "cases/subclassed_model.py:TwoTowerClassifier"}


@tf.keras.utils.register_keras_serializable(package="harness_cases")
class TwoTowerClassifier(tf.keras.Model):  # type: ignore[misc]
    """Two parallel Dense towers whose outputs are summed, then a softmax head."""

    def __init__(self, hidden_units: int = 16, classes: int = CLASSES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden_units = int(hidden_units)
        self.classes = int(classes)
        self.tower_a = tf.keras.layers.Dense(self.hidden_units, activation="relu", name="tower_a")
        self.tower_b = tf.keras.layers.Dense(self.hidden_units, activation="tanh", name="tower_b")
        self.head = tf.keras.layers.Dense(self.classes, activation="softmax", name="head")

    def call(self, inputs: Any, training: Any = None) -> Any:
        return self.head(self.tower_a(inputs) + self.tower_b(inputs))

    def get_config(self) -> dict[str, Any]:
        return {"hidden_units": self.hidden_units, "classes": self.classes, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        return cls(**config)


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(48, FEATURES)).astype("float32")
    y = rng.randint(0, CLASSES, size=(48,)).astype("int64")
    return [x], [y]


def build() -> Any:
    tf.keras.utils.set_random_seed(0)
    model = TwoTowerClassifier(hidden_units=16, classes=CLASSES, name="subclassed_model")
    model.build((None, FEATURES))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
