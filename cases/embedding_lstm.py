"""A binary sequence classifier: integer tokens -> Embedding -> LSTM(16) -> Dense sigmoid.

Exercises: the default LSTM, whose Keras 2 config stores ``time_major`` (and
``implementation``), keys Keras 3's LSTM does not accept; the LSTM's cuDNN-vs-generic kernel
choice (same weights, different arithmetic on GPU); Embedding with integer inputs; loss
``binary_crossentropy`` with the ``accuracy`` string metric that Keras resolves to
``binary_accuracy`` from the loss; and a stateful ``AUC`` metric object (thresholds and
confusion-matrix variables) that must survive the compile config round trip.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "recurrent"
VOCAB = 50
LENGTH = 12
TOLERANCES = {
    "predict": {
        "max_ulp": 8,
        "reason": "Keras 3's LSTM computes its gates with other ops than Keras 2's, so the "
        "repaired route's outputs move against TF 2.13 on the same hardware (Keras 3.3.3 to "
        "3.15.1, TF 2.16 to 2.21: 5-9 of 48 values, max 1 ULP, max abs diff 3e-8, AMD Zen 5); "
        "every other route stays bitwise.",
    },
}


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.randint(1, VOCAB, size=(48, LENGTH)).astype("int32")
    # Label: does the sequence contain more "high" tokens than "low" ones?
    y = ((x >= VOCAB // 2).sum(axis=1) > LENGTH // 2).astype("float32").reshape(-1, 1)
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(LENGTH,), dtype="int32", name="tokens")
    x = layers.Embedding(VOCAB, 8, name="embedding")(inputs)
    x = layers.LSTM(16, name="lstm")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = tf.keras.Model(inputs, outputs, name="embedding_lstm")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy", tf.keras.metrics.AUC(name="auc")],
    )
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
