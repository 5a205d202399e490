"""Keras 3 (TF >= 2.16): loading (with safe_mode), saving, recompiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats.common import recompile_with


def _keras() -> Any:
    import keras

    return keras


def load_model(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    keras = _keras()
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
    import tensorflow as tf

    keras = _keras()
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    _, specs = signature.structured_input_signature
    inputs = {
        name: keras.Input(shape=spec.shape[1:], dtype=spec.dtype.name, name=name)
        for name, spec in specs.items()
    }
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
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
