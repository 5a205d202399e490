"""Keras 3 (TF >= 2.16): loading (with safe_mode), saving, recompiling, and string inputs.

String inputs: Keras 3 refuses numpy string arrays as model inputs in every minor measured
(3.3.3, 3.4.1, 3.15.1: ``ValueError: Invalid dtype: str256`` for ``'<U'``, ``bytes64`` for
``'S'``; ``object`` arrays pass in 3.3/3.4 and are refused by 3.15.1), while Keras 2 converts the
same arrays itself. :func:`predict` and :func:`evaluate` therefore hand every numpy ``'<U'`` /
``'S'`` input (a golden's string inputs are ``'<U'``) to Keras 3 as a ``tf.string`` tensor
(:func:`feedable`), which every minor accepts. That is the tensor Keras 2 builds from the numpy
array (UTF-8 bytes, same shape): measured on the ``preprocessing`` case, ``StringLookup`` gives
identical indices in TF 2.13 (numpy) and Keras 3.3.3/3.4.1/3.15.1 (tensor). Numeric inputs stay
numpy arrays, as in Keras 2. This is the one place where the harness feeds Keras 3 differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.keras.formats import common
from harness.keras.formats.common import recompile_with

#: numpy dtype kinds Keras 3 refuses as model inputs and Keras 2 converts to tf.string itself
STRING_KINDS = frozenset("US")


#: the Keras generation this module loads with
GENERATION = 3


def _keras() -> Any:
    import keras

    return keras


def load_model(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    keras = _keras()
    # Registers the harness's rebuilds of removed Keras 2 layers (keras_harness>...), which
    # repaired files name and Keras 3 does not import itself; the repair step loads through here.
    import harness.keras.legacy_layers  # noqa: F401

    # Never enable_unsafe_deserialization(): trusted models use the per-call flag only.
    return keras.models.load_model(
        str(path), custom_objects=custom_objects, compile=True, safe_mode=not trusted
    )


def export_savedmodel(model: Any, path: Path) -> None:
    """Keras 3 exports an inference-only SavedModel (``model.save`` no longer writes one)."""
    model.export(str(path))


def load_savedmodel(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    """Keras 3 cannot load a SavedModel as a model: wrap its ``serving_default`` signature in
    a TFSMLayer (inference only, as the migration guide says) inside a functional model whose
    inputs are the signature's (one input: positional; several: by name)."""
    del (
        custom_objects,
        trusted,
    )  # harness.core.safety refused the folder unless the model is trusted
    keras = _keras()
    # first, so that on jax/torch Keras itself refuses (TFSMLayer runs on TensorFlow alone)
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    _, specs = signature.structured_input_signature
    inputs = {
        name: keras.Input(shape=spec.shape[1:], dtype=spec.dtype.name, name=name)
        for name, spec in specs.items()
    }
    if len(inputs) == 1:
        (only,) = inputs.values()
        return keras.Model(only, layer(only))
    return keras.Model(inputs, layer(inputs))


def recompile(model: Any, metric_names: list[str]) -> None:
    """Recompile with the metrics named, keeping the loaded optimizer and loss (the recipe)."""
    recompile_with(_keras(), model, metric_names)


def compile_summary(model: Any) -> dict[str, Any]:
    config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    return {"compile_config": config}


def feedable(x: list[Any]) -> list[Any]:
    """The inputs as Keras 3 accepts them: each numpy string array (``'<U'``, ``'S'``) as the
    ``tf.string`` tensor Keras 2 would have made of it; every other input unchanged."""
    if not any(isinstance(v, np.ndarray) and v.dtype.kind in STRING_KINDS for v in x):
        return list(x)
    import tensorflow as tf

    return [
        tf.constant(v, dtype=tf.string)
        if isinstance(v, np.ndarray) and v.dtype.kind in STRING_KINDS
        else v
        for v in x
    ]


def predict(model: Any, x: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """``common.predict`` with string inputs fed as tensors (see the module's docstring)."""
    return common.predict(model, feedable(x), batch_size)


def evaluate(
    model: Any, x: list[np.ndarray], y: list[np.ndarray], batch_size: int
) -> dict[str, float]:
    """``common.evaluate`` with string inputs fed as tensors (see the module's docstring)."""
    return common.evaluate(model, feedable(x), y, batch_size)


def train_step(
    model: Any, x: list[np.ndarray], y: list[np.ndarray], *, restore: bool = True
) -> tuple[dict[str, float], list[tuple[str, np.ndarray]], int | None, list[str]]:
    """``common.train_step`` with string inputs fed as tensors (see the module's docstring)."""
    return common.train_step(model, feedable(x), y, restore=restore)


def layer_outputs(model: Any, x: list[np.ndarray], batch_size: int) -> list[tuple[str, list[Any]]]:
    """``common.layer_outputs_with`` with string inputs fed as tensors."""
    return common.layer_outputs_with(_keras().Model, model, feedable(x), batch_size)


def clear_session() -> None:
    """Keras 3's global state (name scopes, graphs, kernel caches), without its own garbage
    collection (the caller collects: :func:`harness.keras.formats.release`)."""
    _keras().backend.clear_session(free_memory=False)
