"""The model exported as a TF SavedModel: a small Dense softmax classifier with one-hot targets.

Exercises: the TF SavedModel route (TF 2.13 ``model.save(dir, save_format="tf")`` /
``tf.saved_model.save``) that Keras 3 can no longer load with ``load_model`` (it accepts only
``.keras`` / ``.h5``) and can only reload for inference through ``keras.layers.TFSMLayer`` and the
``serving_default`` signature, whose outputs come back as a dict keyed by output-layer name;
loss ``categorical_crossentropy`` on one-hot targets, metric ``accuracy``. The harness's step
``2.13.keras -> 2.13.savedmodel`` (``harness.toml``, this model only) exports it in TF 2.13;
route ``savedmodel`` reloads it: as a compiled model in Keras 2, through TFSMLayer in Keras 3.
``TRUSTED``: a SavedModel runs its TF graph when called, so the harness loads one only for a
trusted model (Keras 3.14+ gates TFSMLayer deserialization behind safe_mode for the same reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOLERANCES = {
    "train-step": {
        "max_ulp": 16,
        "reason": (
            "Keras 3's optimizers order the update's arithmetic otherwise than Keras 2's (the "
            "same formula): one Adam step moves 1 of 245 weights by 1 ULP in Keras 3.4.1 and "
            "3.6.0 against TF 2.13 (AMD Zen 5); bitwise in 3.15.1."
        ),
    },
    "predict": {
        "max_ulp": 4,
        "reason": (
            "TF 2.21's CPU kernels round the softmax classifier differently where oneDNN does "
            "not run it: 24 of 256 outputs differ from TF 2.13 on the same hardware, max 2 ULP, "
            "max abs diff 6e-8, on every route that loads (the CPU that recorded the goldens; "
            "20 of 256, 1 ULP on AMD Zen 5 with TF_ENABLE_ONEDNN_OPTS=0); bitwise on Zen 5 with "
            "oneDNN on; TF 2.13-2.20 are bitwise."
        ),
    },
}
FAMILY = "SavedModel"
FEATURES = 10
CLASSES = 4
TRUSTED = True


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(64, FEATURES)).astype("float32")
    labels = np.argmax(x[:, :CLASSES] + 0.5 * rng.normal(size=(64, CLASSES)), axis=1)
    y = np.eye(CLASSES, dtype="float32")[labels]
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(FEATURES,), name="features")
    hidden = layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(CLASSES, activation="softmax", name="probabilities")(hidden)
    model = tf.keras.Model(inputs, outputs, name="saved_model_export")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    (x,), (y,) = make_data(0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
