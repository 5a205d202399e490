"""A binary classifier with stateful preprocessing layers: adapted Normalization and StringLookup.

Exercises: ``Normalization`` adapted in ``build()`` (its mean/variance/count live in non-trainable
weights, and Keras 3 stores them differently), ``StringLookup`` with an explicit ``vocabulary``
list on a string input (the vocabulary is saved inline in the config / as an asset, and string
inputs travel as numpy unicode arrays, which Keras 3 refuses: the harness feeds them to Keras 3
as ``tf.string`` tensors, see ``harness/keras/formats/keras3.py``),
``CategoryEncoding(output_mode="multi_hot")`` and an ``Embedding`` fed by lookup indices; loss
``binary_crossentropy``, metric ``accuracy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "preprocessing"
TOLERANCES = {
    "predict": {
        "max_ulp": 8,
        "reason": "Keras 3's predict runs the model in a graph without Keras 2's control "
        "dependency on the outputs (Keras 2 updates its predict counter after them), so "
        "TensorFlow's grappler remapper fuses the output layer's MatMul, BiasAdd and Sigmoid "
        "into one oneDNN kernel (_MklNativeFusedMatMul) where Keras 2 leaves Sigmoid to its own "
        "kernel: the same math, another sigmoid. Measured: TF 2.13 running the Keras 2 model in "
        "a plain tf.function gives Keras 3's outputs bitwise, and with that control dependency "
        "added Keras 3.3.3 on TF 2.16 gives Keras 2's; every layer before the output is bitwise. "
        "Against TF 2.13 on the same hardware (AMD Zen 5), Keras 3.3.3/3.4.1/3.6.0/3.15.1 on TF "
        "2.16/2.17/2.18/2.21: 29 of 64 probabilities differ, max 2 ULP (max abs 1.2e-7); with "
        "oneDNN capped at AVX2 33 of 64, max 1 ULP; with oneDNN off max 3 ULP (TF 2.17 also "
        "changed the Sigmoid kernel itself: on the same logits 30 of 64, max 3 ULP). evaluate() "
        "and tf_keras 2.16 are bitwise.",
    },
}
NUMBERS = 4
VOCABULARY = ["red", "green", "blue", "cyan", "magenta", "yellow"]
# Includes a word outside VOCABULARY so the out-of-vocabulary index is exercised.
WORDS = [*VOCABULARY, "black"]


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    numbers = (rng.normal(size=(64, NUMBERS)) * 3.0 + 5.0).astype("float32")
    words = np.array(WORDS, dtype="<U8")[rng.randint(0, len(WORDS), size=(64, 1))]
    warm = np.isin(words[:, 0], ["red", "magenta", "yellow"]).astype("float32")
    y = ((numbers[:, 0] - 5.0) / 3.0 + 2.0 * warm - 1.0 > 0).astype("float32")[:, None]
    return [numbers, words], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    (x_numbers, x_words), (y,) = make_data(0)
    numbers = tf.keras.Input(shape=(NUMBERS,), dtype="float32", name="numbers")
    words = tf.keras.Input(shape=(1,), dtype="string", name="words")
    normalization = layers.Normalization(axis=-1, name="normalize")
    normalization.adapt(x_numbers)
    scaled = normalization(numbers)
    indices = layers.StringLookup(vocabulary=VOCABULARY, name="lookup")(words)
    one_hot = layers.CategoryEncoding(
        num_tokens=len(VOCABULARY) + 1, output_mode="multi_hot", name="multi_hot"
    )(indices)
    embedded = layers.Embedding(len(VOCABULARY) + 1, 3, name="embedding")(indices)
    embedded = layers.Flatten(name="flatten")(embedded)
    merged = layers.Concatenate(name="merge")([scaled, one_hot, embedded])
    hidden = layers.Dense(8, activation="relu", name="hidden")(merged)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(hidden)
    model = tf.keras.Model([numbers, words], outputs, name="preprocessing")
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit([x_numbers, x_words], y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    return model
