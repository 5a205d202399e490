"""A masked sequence regressor: padded tokens -> Embedding(mask_zero) -> Bidirectional(GRU).

Exercises: mask propagation from ``Embedding(mask_zero=True)`` into a ``Bidirectional`` wrapper
(the backward GRU must skip the right-padding); Bidirectional's nested ``layer`` config (the
backward copy is rebuilt from it on load); the default GRU, whose Keras 2 config stores
``time_major``, ``implementation`` and ``reset_after`` (cuDNN-compatible only when
``reset_after=True``); a loss object (``MeanAbsoluteError()``) rather than a string; a
``RootMeanSquaredError`` metric object; and RMSprop, which TF 2.13 saves under module
``keras.optimizers.experimental``, with its slot variables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "recurrent"
VOCAB = 30
LENGTH = 10
TOLERANCES = {
    "predict": {
        "max_ulp": 8,
        "reason": "Keras 3's GRU computes its gates with other ops than Keras 2's, so the "
        "repaired route's outputs move against TF 2.13 on the same hardware (Keras 3.3.3 to "
        "3.15.1, TF 2.16 to 2.21: up to 8 of 48 values, max 2 ULP, max abs diff 1.5e-8, AMD Zen "
        "5); every other route stays bitwise.",
    },
}


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    n = 48
    lengths = rng.randint(2, LENGTH + 1, size=n)
    x = np.zeros((n, LENGTH), dtype="int32")
    for i, length in enumerate(lengths):
        x[i, :length] = rng.randint(1, VOCAB, size=length)
    # Target: mean real token scaled to [0, 1], plus a length term; padding must not count.
    sums = x.sum(axis=1).astype("float32")
    y = (sums / lengths / VOCAB + 0.05 * lengths).astype("float32").reshape(-1, 1)
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(LENGTH,), dtype="int32", name="tokens")
    x = layers.Embedding(VOCAB, 8, mask_zero=True, name="embedding")(inputs)
    x = layers.Bidirectional(layers.GRU(12, name="gru"), name="bigru")(x)
    outputs = layers.Dense(1, name="score")(x)
    model = tf.keras.Model(inputs, outputs, name="bigru_masking")
    model.compile(
        optimizer=tf.keras.optimizers.RMSprop(1e-3),
        loss=tf.keras.losses.MeanAbsoluteError(),
        metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
