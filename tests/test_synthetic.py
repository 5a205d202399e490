"""Generated inputs for models registered without any: each input's values follow its dtype,
shape and consumer (no TensorFlow: the consumers are given as data)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.synthetic import Consumer, InputSpec, generate_inputs, plan


def test_an_embedding_gets_ids_inside_its_vocabulary() -> None:
    spec = InputSpec("ids", "float32", (5,), (Consumer("emb", "Embedding", size=30),))
    (ids,), (how,) = generate_inputs([spec])
    assert ids.dtype == np.float32 and ids.shape == (16, 5)
    assert ids.min() >= 0 and ids.max() < 30 and np.array_equal(ids, ids.round())
    assert how == "ids (float32, shape (5,)): integer ids in [0, 30) for Embedding 'emb'"


def test_an_embedding_that_masks_zero_never_gets_zero() -> None:
    spec = InputSpec(
        "ids", "int64", (None,), (Consumer("emb", "Embedding", size=3, mask_zero=True),)
    )
    (ids,), _ = generate_inputs([spec])
    assert ids.shape == (16, 8)  # an open dimension is 8 long
    assert set(np.unique(ids)) <= {1, 2}


def test_a_lookup_gets_tokens_of_its_vocabulary() -> None:
    lookup = Consumer("lookup", "StringLookup", vocabulary=("a", "bb", "ccc"))
    (words,), (how,) = generate_inputs([InputSpec("w", "string", (2,), (lookup,))])
    assert words.dtype.kind == "U" and set(np.unique(words)) <= {"a", "bb", "ccc"}
    assert (
        how == "w (string, shape (2,)): tokens of the 3-token vocabulary of StringLookup 'lookup'"
    )
    numbers = Consumer("lookup", "IntegerLookup", vocabulary=(7, 11))
    (ints,), _ = generate_inputs([InputSpec("n", "int32", (1,), (numbers,))])
    assert ints.dtype == np.int32 and set(np.unique(ints)) <= {7, 11}


def test_a_text_vectorization_gets_texts_of_its_words() -> None:
    text = Consumer("tv", "TextVectorization", vocabulary=("cat", "dog"))
    (texts,), (how,) = generate_inputs([InputSpec("t", "string", (1,), (text,))])
    assert texts.shape[1:] == (1,) and len(texts) > 0
    seen: set[str] = set()
    lengths = set()
    for value in texts.ravel():
        words = value.split(" ")  # an empty text or a doubled space leaves an "" word
        assert set(words) <= {"cat", "dog"}, value
        assert len(words) <= 8, value
        seen.update(words)
        lengths.add(len(words))
    assert seen == {"cat", "dog"}  # both words drawn over the rows
    assert len(lengths) > 1, lengths  # texts of several lengths, not one fixed length
    assert how.endswith("texts of 1-8 words of the 2-word vocabulary of TextVectorization 'tv'")


@pytest.mark.parametrize(
    ("consumers", "high", "how"),
    [
        ((Consumer("scale", "Rescaling", scale=1 / 255),), 255.0, "image pixels in [0, 255)"),
        ((Consumer("scale", "Rescaling", scale=0.5),), 1.0, "image values in [0, 1)"),
        ((), 1.0, "image values in [0, 1)"),
    ],
)
def test_images_get_a_plausible_range(
    consumers: tuple[Consumer, ...], high: float, how: str
) -> None:
    spec = InputSpec("img", "float32", (4, 4, 3), consumers)
    chosen = plan(spec)
    assert (chosen.kind, chosen.high) == ("image", high)
    assert how in chosen.how
    (pixels,), _ = generate_inputs([spec])
    assert pixels.min() >= 0 and pixels.max() < high


def test_other_inputs_keep_the_seeded_noise_of_before() -> None:
    """A plain float input gets exactly what the harness generated before consumers counted,
    so goldens recorded on noise stay reproducible."""
    (x,), (how,) = generate_inputs([InputSpec("x", "float32", (3,))])
    assert np.array_equal(x, np.random.RandomState(0).normal(size=(16, 3)).astype("float32"))
    assert how == "x (float32, shape (3,)): standard normal noise"


def test_the_rest_by_dtype() -> None:
    specs = [
        InputSpec("i", "int32", (2,)),
        InputSpec("s", "string", (1,)),
        InputSpec("b", "bool", (2,)),
    ]
    (ints, words, flags), hows = generate_inputs(specs)
    assert ints.min() >= 0 and ints.max() < 10
    assert words.dtype.kind == "U" and all(value.isalpha() for value in words.ravel())
    assert flags.dtype == bool
    assert hows[1] == "s (string, shape (1,)): random lowercase words (no vocabulary known)"


def test_generation_is_seeded() -> None:
    spec = InputSpec("ids", "int32", (4,), (Consumer("emb", "Embedding", size=100),))
    first, _ = generate_inputs([spec, InputSpec("x", "float32", (2,))])
    again, _ = generate_inputs([spec, InputSpec("x", "float32", (2,))])
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
