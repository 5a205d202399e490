"""Keras 2 (TF 2.13-2.15, and tf_keras): loading, saving, recompiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.keras.formats.common import layer_outputs_with, recompile_with

#: the Keras generation this module loads with
GENERATION = 2


def _keras() -> Any:
    import tensorflow as tf

    return tf.keras


def load_model(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    keras = _keras()
    if path.suffix == ".keras":
        return keras.models.load_model(
            str(path), custom_objects=custom_objects, compile=True, safe_mode=not trusted
        )
    # Keras 2 has no safe mode for .h5: harness.core.safety walked the config before this call.
    return keras.models.load_model(str(path), custom_objects=custom_objects, compile=True)


def export_savedmodel(model: Any, path: Path) -> None:
    """A TF SavedModel with Keras 2's metadata (``save_format="tf"``): Keras 2 reloads it as a
    compiled model; any TF reloads its ``serving_default`` signature for inference."""
    model.save(str(path), save_format="tf", include_optimizer=True)


def load_savedmodel(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    """Keras 2 rebuilds the model from the SavedModel's Keras metadata (compiled), through the
    same ``load_model`` (harness.core.safety refused the folder unless the model is trusted)."""
    return load_model(path, custom_objects=custom_objects, trusted=trusted)


def recompile(model: Any, metric_names: list[str]) -> None:
    """Recompile with the metrics named, keeping the loaded optimizer and loss (the recipe)."""
    recompile_with(_keras(), model, metric_names)


def compile_summary(model: Any) -> dict[str, Any]:
    keras = _keras()
    optimizer = getattr(model, "optimizer", None)
    metrics = [m for m in getattr(model, "metrics", []) if m.name != "loss"]
    loss = getattr(model, "loss", None)
    return {
        "optimizer": keras.optimizers.serialize(optimizer) if optimizer is not None else None,
        "loss": loss
        if isinstance(loss, str | dict | list) or loss is None
        else keras.losses.serialize(loss),
        "metrics": [m.name for m in metrics],
    }


def layer_outputs(model: Any, x: list[Any], batch_size: int) -> list[tuple[str, list[Any]]]:
    return layer_outputs_with(_keras().Model, model, x, batch_size)


def clear_session() -> None:
    """Keras 2's global state (graphs, layer name counters); the caller collects the released
    models' cycles (:func:`harness.keras.formats.release`)."""
    _keras().backend.clear_session()
