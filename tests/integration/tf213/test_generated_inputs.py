"""Inputs for models registered without any, with real TensorFlow 2.13 (tox -e tests-tf213):
each input gets values its consumer accepts (ids inside an Embedding's vocabulary, tokens of a
StringLookup's vocabulary, pixels for a model that rescales them), seeded, and the golden
records how they were made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.core import synthetic
from harness.keras import formats
from tests.helpers import run_suite

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow")

VOCABULARY = ["red", "green", "blue", "cyan"]


def embedding_model() -> Any:
    ids = tf.keras.Input(shape=(6,), dtype="int32", name="ids")
    hidden = tf.keras.layers.Embedding(50, 4, mask_zero=True, name="emb")(ids)
    hidden = tf.keras.layers.LSTM(3, name="lstm")(hidden)
    model = tf.keras.Model(ids, tf.keras.layers.Dense(1, name="out")(hidden))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def lookup_model() -> Any:
    words = tf.keras.Input(shape=(2,), dtype="string", name="words")
    numbers = tf.keras.Input(shape=(3,), name="numbers")
    lookup = tf.keras.layers.StringLookup(vocabulary=VOCABULARY, name="lookup")(words)
    encoded = tf.keras.layers.CategoryEncoding(6, output_mode="multi_hot")(lookup)
    joined = tf.keras.layers.Concatenate()([encoded, numbers])
    model = tf.keras.Model([words, numbers], tf.keras.layers.Dense(2, name="out")(joined))
    model.compile(optimizer="adam", loss="mse")
    return model


def image_model() -> Any:
    image = tf.keras.Input(shape=(8, 8, 3), name="image")
    hidden = tf.keras.layers.Rescaling(1 / 255.0, name="scale")(image)
    hidden = tf.keras.layers.Conv2D(2, 3, name="conv")(hidden)
    hidden = tf.keras.layers.GlobalAveragePooling2D()(hidden)
    model = tf.keras.Model(image, tf.keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_each_input_gets_values_its_consumer_accepts() -> None:
    tf.keras.utils.set_random_seed(0)
    backend = formats.backend()

    specs = backend.input_specs(embedding_model())
    (ids,), hows = synthetic.generate_inputs(specs)
    assert ids.dtype == np.int32 and ids.shape == (16, 6)
    assert ids.min() >= 1 and ids.max() < 50  # mask_zero: 0 would mask the whole step
    assert hows == ["ids (int32, shape (6,)): integer ids in [1, 50) for Embedding 'emb'"]

    model = lookup_model()
    (words, numbers), hows = synthetic.generate_inputs(backend.input_specs(model))
    assert set(np.unique(words)) <= set(VOCABULARY) and words.shape == (16, 2)
    assert numbers.dtype == np.float32
    assert hows == [
        "words (string, shape (2,)): tokens of the 4-token vocabulary of StringLookup 'lookup'",
        "numbers (float32, shape (3,)): standard normal noise",
    ]
    assert np.isfinite(backend.predict(model, [words, numbers], 16)[0]).all()

    (pixels,), hows = synthetic.generate_inputs(backend.input_specs(image_model()))
    assert pixels.min() >= 0 and pixels.max() < 255 and pixels.max() > 1
    assert hows == [
        "image (float32, shape (8, 8, 3)): image pixels in [0, 255) for Rescaling 'scale'"
    ]


def test_the_golden_records_how_its_inputs_were_made(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    project = tmp_path / "project"
    (project / "models/2.13.keras").mkdir(parents=True)
    tf.keras.utils.set_random_seed(0)
    embedding_model().save(str(project / "models/2.13.keras/tokens.keras"))
    registry = project / "models/model_registry.json"
    registry.write_text(
        json.dumps(
            {"models": {"tokens": {"paths": {"2.13.keras": "models/2.13.keras/tokens.keras"}}}}
        )
    )
    result = run_suite(pytester, registry, "tf213", tmp_path / "build")
    result.stdout.fnmatch_lines(
        [
            "The golden of 'tokens' was missing and has been written: *golden/tokens, on "
            "generated inputs. Fix: review it, commit it, and rerun; register real inputs for a "
            "meaningful evaluate."
        ]
    )
    golden = json.loads((project / "models/golden/tokens/golden.json").read_text())
    assert golden["inputs"] == {
        "source": "generated",
        "seed": 0,
        "inputs": ["ids (int32, shape (6,)): integer ids in [1, 50) for Embedding 'emb'"],
    }
    assert golden["compiled_metric_names"] == ["loss", "mae"]
    assert list(golden["evaluate"]) == ["loss", "mae"]
    with np.load(project / "models/golden/tokens/golden.npz") as data:
        assert data["x0"].min() >= 1 and data["x0"].max() < 50
