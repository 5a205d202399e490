"""Inputs for a model registered without any: generated from each input's dtype, shape and what
consumes it, seeded, and described so that the golden records how they were made.

Seeded noise of the right shape is enough to see whether an upgrade changes what a model
computes, but not for every input: an ``Embedding`` fed floats near zero reads one row, a
``StringLookup`` fed noise cannot take it at all, an image model fed values around zero never
leaves its first ReLU. So each input gets values of the kind its consumer expects:

- an ``Embedding`` (``input_dim`` V): integer ids in ``[0, V)`` (``[1, V)`` when it masks zero);
- a ``StringLookup`` / ``IntegerLookup``: tokens drawn from its vocabulary (out-of-vocabulary
  tokens excluded); a ``TextVectorization``: texts of one to eight vocabulary words;
- a ``CategoryEncoding`` (``num_tokens`` N): integers in ``[0, N)``;
- an image (a float input of shape ``(H, W, C)``, ``C`` in 1, 3, 4): pixels in ``[0, 255)`` when a
  ``Rescaling`` by 1/127.5 or less consumes it (the model scales raw pixels itself), else
  ``[0, 1)``;
- other floats: standard normal noise (what the harness always used); other integers ``[0, 10)``;
  strings: short lowercase words; booleans: coin flips.

Evaluate on generated inputs and targets taken from the model's own predictions says little about
the model's quality: the recorder says so when it writes the golden, and asks for real inputs.
No TensorFlow: :mod:`harness.keras.formats` reports the consumers of each input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEED = 0
ROWS = 16
#: the length of a dimension the model leaves open (``None``)
OPEN_DIM = 8
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Consumer:
    """A layer that takes a model input directly, with what bounds the values it accepts."""

    layer: str
    class_name: str
    size: int | None = None  # Embedding input_dim, CategoryEncoding num_tokens
    vocabulary: tuple[Any, ...] = ()  # lookup / TextVectorization tokens, OOV excluded
    mask_zero: bool = False
    scale: float | None = None  # Rescaling


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, dtype name, shape without the batch dimension (None = open)."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]
    consumers: tuple[Consumer, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Plan:
    """How one input is generated: ``kind`` and its bounds, and the sentence the golden keeps."""

    kind: str  # ids, tokens, texts, image, normal, integers, words, booleans
    low: float = 0.0
    high: float = 1.0
    vocabulary: tuple[Any, ...] = ()
    how: str = ""


def _first(consumers: tuple[Consumer, ...], *names: str) -> Consumer | None:
    return next((c for c in consumers if c.class_name in names), None)


def plan(spec: InputSpec) -> Plan:
    """What to generate for ``spec`` (pure)."""
    kind = spec.dtype
    where = f"{spec.name} ({kind}, shape {spec.shape})"
    embedding = _first(spec.consumers, "Embedding")
    if embedding is not None and embedding.size:
        low = 1 if embedding.mask_zero and embedding.size > 1 else 0
        how = f"{where}: integer ids in [{low}, {embedding.size}) for Embedding {embedding.layer!r}"
        return Plan("ids", low, embedding.size, how=how)
    lookup = _first(spec.consumers, "StringLookup", "IntegerLookup")
    if lookup is not None and lookup.vocabulary:
        how = (
            f"{where}: tokens of the {len(lookup.vocabulary)}-token vocabulary of "
            f"{lookup.class_name} {lookup.layer!r}"
        )
        return Plan("tokens", vocabulary=lookup.vocabulary, how=how)
    text = _first(spec.consumers, "TextVectorization")
    if text is not None and text.vocabulary:
        how = (
            f"{where}: texts of 1-8 words of the {len(text.vocabulary)}-word vocabulary of "
            f"TextVectorization {text.layer!r}"
        )
        return Plan("texts", vocabulary=text.vocabulary, how=how)
    encoding = _first(spec.consumers, "CategoryEncoding")
    if encoding is not None and encoding.size:
        how = f"{where}: integers in [0, {encoding.size}) for CategoryEncoding {encoding.layer!r}"
        return Plan("ids", 0, encoding.size, how=how)
    if kind.startswith("float") or kind == "bfloat16":
        if len(spec.shape) == 3 and spec.shape[-1] in (1, 3, 4):
            rescaling = _first(spec.consumers, "Rescaling")
            if (
                rescaling is not None
                and rescaling.scale is not None
                and rescaling.scale <= 1 / 127.5
            ):
                how = f"{where}: image pixels in [0, 255) for Rescaling {rescaling.layer!r}"
                return Plan("image", 0.0, 255.0, how=how)
            return Plan("image", 0.0, 1.0, how=f"{where}: image values in [0, 1)")
        return Plan("normal", how=f"{where}: standard normal noise")
    if kind.startswith(("int", "uint")):
        return Plan("integers", 0, 10, how=f"{where}: integers in [0, 10)")
    if kind in ("string", "object", "str"):
        return Plan("words", how=f"{where}: random lowercase words (no vocabulary known)")
    if kind == "bool":
        return Plan("booleans", how=f"{where}: random booleans")
    return Plan("normal", how=f"{where}: standard normal noise")


def generate(spec: InputSpec, chosen: Plan, rng: Any, rows: int = ROWS) -> Any:
    """The array for ``spec`` by ``chosen``, drawn from ``rng`` (a numpy RandomState)."""
    import numpy as np

    shape = (rows, *(d if d is not None else OPEN_DIM for d in spec.shape))
    if chosen.kind in ("ids", "integers"):
        values = rng.randint(int(chosen.low), int(chosen.high), size=shape)
        return values.astype(_numpy_dtype(spec.dtype, np.int64))
    if chosen.kind == "tokens":
        picks = rng.randint(0, len(chosen.vocabulary), size=shape)
        return _as_dtype(np.array(chosen.vocabulary)[picks], spec.dtype)
    if chosen.kind == "texts":
        flat = [
            " ".join(
                str(chosen.vocabulary[i])
                for i in rng.randint(0, len(chosen.vocabulary), size=rng.randint(1, 9))
            )
            for _ in range(int(np.prod(shape)))
        ]
        return np.array(flat, dtype=str).reshape(shape)
    if chosen.kind == "words":
        flat = [
            "".join(rng.choice(list(_LETTERS), size=rng.randint(1, 9)))
            for _ in range(int(np.prod(shape)))
        ]
        return np.array(flat, dtype=str).reshape(shape)
    if chosen.kind == "booleans":
        return rng.randint(0, 2, size=shape).astype(bool)
    if chosen.kind == "image":
        values = rng.uniform(chosen.low, chosen.high, size=shape)
        return values.astype(_numpy_dtype(spec.dtype, np.float32))
    return rng.normal(size=shape).astype(_numpy_dtype(spec.dtype, np.float32))


def _numpy_dtype(name: str, default: Any) -> Any:
    import numpy as np

    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype(default)


def _as_dtype(values: Any, dtype: str) -> Any:
    """Tokens in the input's dtype: strings as numpy unicode (saved in the golden without
    pickle), integer vocabularies in the input's integer dtype."""
    import numpy as np

    if dtype in ("string", "object", "str"):
        return values.astype(str)
    return values.astype(_numpy_dtype(dtype, np.int64))


def generate_inputs(specs: list[InputSpec], rows: int = ROWS) -> tuple[list[Any], list[str]]:
    """Every input of a model, seeded (:data:`SEED`), and how each was made."""
    import numpy as np

    rng = np.random.RandomState(SEED)
    arrays, hows = [], []
    for spec in specs:
        chosen = plan(spec)
        arrays.append(generate(spec, chosen, rng, rows))
        hows.append(chosen.how)
    return arrays, hows
