"""Walk a model file's config before loading it; refuse code execution unless trusted.

Reads the config with zipfile/h5py/json only (no TensorFlow). Keras 2 / TF <= 2.15 run a Lambda
layer's marshalled bytecode while loading an ``.h5`` with no guard at all, and Keras 3 before 3.9
imports any module a ``config.json`` names, so the harness checks before Keras does.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import UnsafeModelError

SAFE_MODULE_PREFIXES = ("keras", "tensorflow", "tf_keras", "builtins")
CODE_LAYERS = {"Lambda"}


def read_config(path: Path) -> dict[str, Any] | None:
    """The model config stored in a ``.keras`` zip or a full-model ``.h5``; None if absent."""
    if path.suffix == ".keras" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return None
            data = json.loads(archive.read("config.json"))
            return data if isinstance(data, dict) else None
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
            if raw is None:
                return None
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            data = json.loads(text)
            return data if isinstance(data, dict) else None
    return None


def walk(config: Any, where: str = "model") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(layer path, object)`` for every dict with a ``class_name``, depth first."""
    if isinstance(config, dict):
        if "class_name" in config:
            name = (
                config.get("config", {}).get("name")
                if isinstance(config.get("config"), dict)
                else None
            )
            where = f"{where}/{name}" if name else where
            yield where, config
        for value in config.values():
            if isinstance(value, dict | list):
                yield from walk(value, where)
    elif isinstance(config, list):
        for value in config:
            yield from walk(value, where)


def unsafe_references(config: dict[str, Any], allowed: set[str]) -> list[str]:
    """Every Lambda layer and every module reference outside Keras/TensorFlow, by layer path."""
    problems: list[str] = []
    for where, obj in walk(config):
        class_name = str(obj.get("class_name", ""))
        if class_name in CODE_LAYERS:
            problems.append(f"{class_name} layer at {where}")
            continue
        module = obj.get("module")
        registered = obj.get("registered_name")
        if class_name in allowed or registered in allowed:
            continue
        if isinstance(module, str) and not module.startswith(SAFE_MODULE_PREFIXES):
            problems.append(f"reference to module {module!r} ({class_name}) at {where}")
    return problems


def check_safe(path: Path, *, model_id: str, trusted: bool, allowed: set[str]) -> None:
    """Raise :class:`UnsafeModelError` if loading ``path`` could execute code."""
    if trusted:
        return
    config = read_config(path)
    if config is None:
        return
    problems = unsafe_references(config, allowed)
    if problems:
        raise UnsafeModelError(
            f"Refusing to load {path}: it can execute code ({'; '.join(problems)}). "
            f'Fix: if you trust model {model_id!r}, set "trusted": true in its registry entry.'
        )
