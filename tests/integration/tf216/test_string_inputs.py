"""String inputs with real Keras 3 (tox -e tests-tf216): Keras 3 refuses numpy string arrays as
model inputs, so the Keras 3 backend (``harness/keras/formats/keras3.py``) feeds them as the
``tf.string`` tensors Keras 2 makes of them, and predict and evaluate work on a golden's ``'<U'``
inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="3")
tf = pytest.importorskip("tensorflow")

VOCABULARY = ["red", "green", "blue", "grün"]
#: as a golden stores them: numpy unicode; "black" is out of the vocabulary, "grün" is not ASCII
WORDS = np.array([["red"], ["blue"], ["black"], ["grün"]], dtype="<U8")
NUMBERS = np.arange(8, dtype="float32").reshape(4, 2)


def lookup_model() -> Any:
    numbers = keras.Input(shape=(2,), name="numbers")
    words = keras.Input(shape=(1,), dtype="string", name="words")
    indices = keras.layers.StringLookup(vocabulary=VOCABULARY, name="lookup")(words)
    one_hot = keras.layers.CategoryEncoding(num_tokens=len(VOCABULARY) + 1, name="one_hot")(indices)
    model = keras.Model([numbers, words], keras.layers.Concatenate()([numbers, one_hot]))
    model.compile(loss="mse")
    return model


def expected_outputs() -> np.ndarray:
    one_hot = np.zeros((4, len(VOCABULARY) + 1), dtype="float32")
    for row, index in enumerate([1, 3, 0, 4]):  # red, blue, black (out of vocabulary), grün
        one_hot[row, index] = 1.0
    return np.concatenate([NUMBERS, one_hot], axis=1)


def test_keras3_refuses_numpy_string_arrays() -> None:
    """Why the backend converts: Keras 3 itself refuses what a golden holds."""
    with pytest.raises(ValueError, match="Invalid dtype: str"):
        lookup_model().predict([NUMBERS, WORDS], verbose=0)


def test_the_keras3_backend_predicts_and_evaluates_on_numpy_string_inputs() -> None:
    from harness.keras import formats

    backend = formats.backend()
    model = lookup_model()
    (predictions,) = backend.predict(model, [NUMBERS, WORDS], batch_size=2)
    assert np.array_equal(predictions, expected_outputs())
    values = backend.evaluate(model, [NUMBERS, WORDS], [expected_outputs()], batch_size=2)
    assert values == {"loss": 0.0}


def test_only_string_arrays_become_tensors_with_keras2s_bytes() -> None:
    from harness.keras.formats.keras3 import feedable

    numbers, words, raw = feedable([NUMBERS, WORDS, np.char.encode(WORDS, "utf-8")])
    assert numbers is NUMBERS
    for tensor in (words, raw):
        assert tensor.dtype == tf.string
        assert tensor.shape == WORDS.shape
    # Keras 2 converts a numpy unicode array with tf.convert_to_tensor: UTF-8 bytes
    keras2 = tf.convert_to_tensor(WORDS).numpy()
    assert words.numpy().tolist() == keras2.tolist() == np.char.encode(WORDS, "utf-8").tolist()
    assert raw.numpy().tolist() == keras2.tolist()
    inputs = [NUMBERS]
    assert feedable(inputs) == inputs and feedable(inputs)[0] is NUMBERS
