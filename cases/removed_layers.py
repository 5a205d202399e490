"""An image classifier built on two layers Keras 3 removed: LocallyConnected2D, ThresholdedReLU.

Exercises: ``LocallyConnected2D`` (unshared per-position kernels, ``implementation=1``) and
``ThresholdedReLU(theta=0.1)``, both deleted in Keras 3, so any Keras 3 load fails with an
unknown-layer error and the only route forward is tf_keras (or a rewrite of the layers);
softmax output, loss ``sparse_categorical_crossentropy``, metric ``accuracy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "removed in Keras 3"
TOLERANCES = {
    "predict": {
        "max_ulp": 4,
        "reason": (
            "With oneDNN capped at SSE4.1 (ONEDNN_MAX_CPU_ISA=SSE41, as on a CPU without AVX), "
            "TF 2.15 computes this model with other kernels than TF 2.13 on the same hardware: "
            "measured on AMD Zen 5, 8 of 144 outputs differ, max 2 ULP, max abs diff 3e-8 "
            "(.h5 routes); bitwise with TensorFlow's defaults and every other setting measured."
        ),
    },
}
CLASSES = 3


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(48, 8, 8, 1)).astype("float32")
    y = rng.randint(0, CLASSES, size=(48,)).astype("int64")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(8, 8, 1), name="image")
    x = layers.LocallyConnected2D(2, 3, name="local_conv")(inputs)
    x = layers.ThresholdedReLU(theta=0.1, name="thresholded_relu")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(CLASSES, activation="softmax", name="probabilities")(x)
    model = tf.keras.Model(inputs, outputs, name="removed_layers")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
