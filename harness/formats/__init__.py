"""The one dispatcher: picks the module for the running Keras generation and the file's format.

``keras2`` covers TF 2.13-2.15 and tf_keras; ``keras3`` covers Keras 3 on TF >= 2.16. Each
module exposes the same functions; callers use :func:`backend` and never import them directly.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from harness import runtime
from harness.errors import HarnessError
from harness.faults import inject
from harness.specs import Spec

_LOADABLE = {"keras", "h5"}


def backend() -> ModuleType:
    """The format module for the Keras generation installed here (imports TensorFlow)."""
    runtime.import_tensorflow()
    generation = runtime.keras_generation()
    return importlib.import_module(f"harness.formats.keras{3 if generation >= 3 else 2}")


def import_object(reference: str) -> Any:
    """Import ``module:attr`` (a registry's custom object)."""
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise HarnessError(
            f"Invalid custom object reference {reference!r}. Fix: write it as 'module:attr', "
            f"e.g. 'my_layers:Scale'."
        )
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load(spec: Spec, path: Path, *, custom_objects: dict[str, str], trusted: bool) -> Any:
    if spec.format not in _LOADABLE:
        raise HarnessError(
            f"Loading format {spec.format!r} is not supported yet. Received: {path}. "
            f"Fix: register a .keras or .h5 form of the model."
        )
    objects: dict[str, Any] = {}
    for name, reference in custom_objects.items():
        try:
            objects[name] = import_object(reference)
        except (ImportError, AttributeError) as exc:
            raise HarnessError(
                f"Custom object {name!r} = {reference!r} for {path} cannot be imported "
                f"({type(exc).__name__}: {exc}). Fix: install the module that defines it, or "
                f"correct 'module:attr' in the registry's custom_objects."
            ) from None
    return backend().load_model(path, custom_objects=objects, trusted=trusted)


def save(model: Any, spec: Spec, path: Path) -> None:
    """Save ``model`` as ``spec`` at ``path`` atomically (temp file in the folder, then replace)."""
    if spec.format not in _LOADABLE:
        raise HarnessError(
            f"Saving format {spec.format!r} is not supported yet. Received: {path}. "
            f"Fix: use a .keras or .h5 spec in the step."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.stem}.*{spec.suffix}"):
        stale.unlink(missing_ok=True)  # left by a save that was killed before its replace
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=spec.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp_name)
    try:
        backend().save_model(model, Path(tmp_name))
        with open(tmp_name, "rb") as handle:
            os.fsync(handle.fileno())
        inject("save:before-replace")
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
