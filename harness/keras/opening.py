"""Opening a registered model file: resolve its path, refuse it unless it is safe to load (see
:mod:`harness.core.safety`), then load it with TensorFlow. The one way every stage opens a model
(golden recording, replay, conversion steps, verification)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.registry import Registry
from harness.core.safety import check_safe
from harness.core.specs import Spec


def open_model(registry: Registry, model: str, spec: Spec, path: Path | None = None) -> Any:
    """Load ``model``'s file of ``spec`` (``path``: already resolved) after the safety check."""
    from harness.keras import formats

    entry = registry.get(model)
    path = path if path is not None else registry.resolve(model, spec)
    check_safe(path, model_id=model, trusted=entry.trusted, allowed=set(entry.custom_objects))
    return formats.load(
        spec, path, custom_objects=registry.custom_objects(model), trusted=entry.trusted
    )
