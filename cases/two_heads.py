"""A functional model with two heads whose metrics were compiled as metric objects per output.

Exercises: the metric names training reported (``out_mae``, ``aux_acc``: Keras 2 prefixes each
object's name with its output's) against what a load reports. The ``.keras`` file stores the
objects under the prefixed names and Keras 2's load prefixes them again (``out_out_mae``), so the
source environment's own load already drifts (the ``names`` check, catalogue entry
``source-load-renames-output-metrics``); what each later route and environment reports is in the
matrix. Otherwise like ``multi_io``'s heads: a regression head and a softmax head.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": (
            "Measured through the repaired route: Keras 3.3.3 (TF 2.16) and 3.4.1 (TF 2.17) move "
            "1 of 181 values of one Adam step by 2 ULP against TF 2.13 on the same hardware; "
            "bitwise from Keras 3.6 on."
        ),
    },
}
FAMILY = "multi-input/output"
FEATURES = 6
CLASSES = 3
SAMPLES = 48


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, 1)).astype("float32")
    out = (x @ weights + 0.1 * rng.normal(size=(SAMPLES, 1))).astype("float32")
    aux = rng.randint(0, CLASSES, size=(SAMPLES,)).astype("int64")
    return [x], [out, aux]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    features = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = layers.Dense(16, activation="relu", name="hidden")(features)
    out = layers.Dense(1, name="out")(hidden)
    aux = layers.Dense(CLASSES, activation="softmax", name="aux")(hidden)
    model = tf.keras.Model(features, [out, aux], name="two_heads")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss={"out": "mse", "aux": "sparse_categorical_crossentropy"},
        metrics={
            "out": [tf.keras.metrics.MeanAbsoluteError(name="mae")],
            "aux": [tf.keras.metrics.SparseCategoricalAccuracy(name="acc")],
        },
    )
    x, y = make_data(0)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
