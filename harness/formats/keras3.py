"""Keras 3 (TF >= 2.16): loading (with safe_mode), saving, recompiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.formats.common import (
    evaluate,
    metric_objects,
    optimizer_variables,
    predict,
    probe_metric,
    recompile_with,
    save_model,
)

__all__ = [
    "evaluate",
    "load_model",
    "metric_objects",
    "optimizer_variables",
    "predict",
    "probe_metric",
    "save_model",
]


def _keras() -> Any:
    import keras

    return keras


def load_model(path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any:
    keras = _keras()
    # Never enable_unsafe_deserialization(): trusted models use the per-call flag only.
    return keras.models.load_model(
        str(path), custom_objects=custom_objects, compile=True, safe_mode=not trusted
    )


def recompile(model: Any, metric_names: list[str]) -> None:
    """Recompile with the metrics named, keeping the loaded optimizer and loss (the recipe)."""
    recompile_with(_keras(), model, metric_names)


def compile_summary(model: Any) -> dict[str, Any]:
    config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    return {"compile_config": config}
