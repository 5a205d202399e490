"""Look at a model file before anything loads it: resource limits, then code execution.

Reads with zipfile/h5py/json only (no TensorFlow). Keras 2 / TF <= 2.15 run a Lambda layer's
marshalled bytecode while loading an ``.h5`` with no guard at all, Keras 3 before 3.9 imports any
module a ``config.json`` names (CVE-2025-1550), and before 3.11 a config could name a loading API
as a function (CVE-2025-8747, CVE-2025-9906), so the harness checks before Keras does, in every
environment. Resource limits (decompression ratio, config depth and size, HDF5 external links)
apply to trusted models too.
"""

from __future__ import annotations

import builtins
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.core.errors import ModelFileError, ResourceLimitError, UnsafeModelError

SAFE_MODULE_PREFIXES = ("keras", "tensorflow", "tf_keras")
CODE_LAYERS = {"Lambda"}
#: functions a config may name: what Keras serializes for losses, metrics, activations, ...
SAFE_FUNCTION_MODULES = (
    "keras.losses",
    "keras.metrics",
    "keras.activations",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
    "keras.ops",
    "keras.src.losses",
    "keras.src.metrics",
    "keras.src.activations",
    "keras.src.ops",
    "tensorflow.math",
    "tensorflow.nn",
    "builtins",
)
UNSAFE_FUNCTION_NAMES = {
    "load_model",
    "load_weights",
    "get_file",
    "exec",
    "eval",
    "compile",
    "open",
    "system",
    "popen",
    "__import__",
    "getattr",
    "setattr",
    "import_module",
    "run",
    "call",
    "check_output",
    "deserialize_keras_object",
    "enable_unsafe_deserialization",
    "load",
    "loads",
    "register",
}

MAX_CONFIG_BYTES = 64 << 20
MAX_CONFIG_DEPTH = 100
MAX_MEMBER_RATIO = 200
MAX_ARCHIVE_BYTES = 8 << 30


def _limit(path: Path, problem: str, fix: str) -> ResourceLimitError:
    return ResourceLimitError(f"Refusing to read {path}: {problem}. Fix: {fix}.")


def parse_config(path: Path, raw: bytes | str) -> dict[str, Any] | None:
    """Parse a model config, refusing oversized and absurdly deep documents."""
    size = len(raw)
    if size > MAX_CONFIG_BYTES:
        raise _limit(
            path,
            f"its model config is {size} bytes (limit {MAX_CONFIG_BYTES})",
            "check the file's origin; a model config is normally kilobytes",
        )
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        depth = MAX_CONFIG_DEPTH + 1
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnsafeModelError(
            f"The model config in {path} is not valid JSON ({exc}). Fix: re-save the model "
            f"with Keras, or replace the file."
        ) from None
    else:
        depth = config_depth(data)
    if depth > MAX_CONFIG_DEPTH:
        raise _limit(
            path,
            f"its model config nests deeper than {MAX_CONFIG_DEPTH} levels",
            "check the file's origin; real models nest a few dozen levels at most",
        )
    return data if isinstance(data, dict) else None


def config_depth(data: Any) -> int:
    """Nesting depth of a JSON value, computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return deepest


def check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse zip members that decompress to far more than their stored size."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        stored = max(info.compress_size, 1)
        if info.file_size > 1 << 20 and info.file_size / stored > MAX_MEMBER_RATIO:
            raise _limit(
                path,
                f"member {info.filename!r} decompresses to {info.file_size} bytes from "
                f"{info.compress_size} (ratio over {MAX_MEMBER_RATIO})",
                "this looks like a decompression bomb; do not load it",
            )
    if total > MAX_ARCHIVE_BYTES:
        raise _limit(
            path,
            f"its members decompress to {total} bytes (limit {MAX_ARCHIVE_BYTES})",
            "check the file's origin",
        )


def check_hdf5(path: Path, handle: Any) -> None:
    """Refuse HDF5 external links and virtual datasets (they read other files)."""
    import h5py

    found: list[str] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, h5py.ExternalLink):
            found.append(f"{name} -> {link.filename}:{link.path}")

    def visit_datasets(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.is_virtual:
            found.append(f"{name} (virtual dataset)")

    handle.visititems_links(visit)
    handle.visititems(visit_datasets)
    if found:
        raise _limit(
            path,
            f"it links to other files ({'; '.join(found[:3])})",
            "re-save the model as a self-contained file",
        )


def _bad_file(path: Path, what: str, detail: str) -> ModelFileError:
    return ModelFileError(
        f"{path} is not a readable {what} ({detail}). Fix: restore the file or re-save the "
        f"model from its source; if it is the output of a step, delete it and rerun the step."
    )


def read_config(path: Path) -> dict[str, Any] | None:
    """The model config of a ``.keras`` zip or a full-model ``.h5`` (None if it has none),
    after the resource limits. Empty, truncated or corrupt files are refused here, with the
    file named, rather than deep inside Keras."""
    if not path.exists():
        raise ModelFileError(
            f"Model file not found: {path}. Fix: correct its path in the registry, or run the "
            f"step that writes it."
        )
    if path.is_dir():
        return None
    size = path.stat().st_size
    if path.suffix == ".keras":
        if size == 0 or not zipfile.is_zipfile(path):
            detail = "empty file" if size == 0 else "not a zip archive: truncated or corrupt"
            raise _bad_file(path, ".keras archive", detail)
        try:
            with zipfile.ZipFile(path) as archive:
                check_archive(path, archive)
                broken = archive.testzip()
                if broken is not None:
                    raise _bad_file(path, ".keras archive", f"member {broken!r} is corrupt")
                if "config.json" not in archive.namelist():
                    return None
                return parse_config(path, archive.read("config.json"))
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise _bad_file(path, ".keras archive", f"{type(exc).__name__}: {exc}") from None
    if path.suffix == ".h5":
        import h5py

        if size == 0:
            raise _bad_file(path, "HDF5 file", "empty file")
        try:
            with h5py.File(path, "r") as handle:
                check_hdf5(path, handle)
                raw = handle.attrs.get("model_config")
                if raw is None:
                    return None
                return parse_config(path, raw if isinstance(raw, bytes | str) else str(raw))
        except OSError as exc:
            raise _bad_file(path, "HDF5 file", f"{type(exc).__name__}: {exc}") from None
    return None


#: the keys under a layer's config that hold a layer it wraps
WRAPPED = ("layer", "backward_layer", "cell")


def walk(
    config: Any, where: str = "model", *, layers_only: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(layer path, object)`` for every dict with a ``class_name``, depth first: every
    one anywhere (initializers, losses, metrics, ...), or with ``layers_only`` the model's
    layers, through nested models (``layers``) and wrappers (``layer``, ``backward_layer``,
    ``cell``). The one walker of a model config: the safety check and inspection use it."""
    stack: list[tuple[Any, str]] = [(config, where)]
    while stack:
        value, here = stack.pop()
        if isinstance(value, dict):
            if "class_name" in value:
                inner = value.get("config")
                name = inner.get("name") if isinstance(inner, dict) else None
                here = f"{here}/{name}" if isinstance(name, str) else here
                yield here, value
                if layers_only:
                    stack.extend(_wrapped(inner if isinstance(inner, dict) else {}, here))
            if not layers_only:
                stack.extend(
                    (child, here)
                    for child in reversed(list(value.values()))
                    if isinstance(child, dict | list)
                )
        elif isinstance(value, list) and not layers_only:
            stack.extend(
                (child, here) for child in reversed(value) if isinstance(child, dict | list)
            )


def _wrapped(inner: dict[str, Any], here: str) -> list[tuple[Any, str]]:
    """A layer's nested layers, then the layers it wraps, in the order they are pushed."""
    children = inner.get("layers")
    found = [(child, here) for child in reversed(children)] if isinstance(children, list) else []
    return found + [(inner[key], here) for key in WRAPPED if isinstance(inner.get(key), dict)]


def unsafe_references(config: dict[str, Any], allowed: set[str]) -> list[str]:
    """Every Lambda layer, function reference that is not a plain Keras function, and module
    reference outside Keras/TensorFlow, by layer path."""
    problems: list[str] = []
    for where, obj in walk(config):
        class_name = str(obj.get("class_name", ""))
        module = obj.get("module")
        registered = obj.get("registered_name")
        if class_name in CODE_LAYERS:
            problems.append(f"{class_name} layer at {where}")
        elif class_name == "function":
            name = str(obj.get("config", ""))
            leaf = name.rsplit(".", 1)[-1]
            module_name = str(module or "builtins")
            if (
                leaf in UNSAFE_FUNCTION_NAMES
                or (module_name == "builtins" and hasattr(builtins, leaf))
                or not module_name.startswith(SAFE_FUNCTION_MODULES)
            ):
                if name not in allowed and registered not in allowed:
                    problems.append(f"function {module}.{name} at {where}")
        elif class_name in allowed or registered in allowed:
            continue
        elif isinstance(module, str) and not module.startswith(SAFE_MODULE_PREFIXES):
            problems.append(f"reference to module {module!r} ({class_name}) at {where}")
    return problems


def check_safe(path: Path, *, model_id: str, trusted: bool, allowed: set[str]) -> None:
    """Refuse to load ``path`` when it breaks a resource limit, or could execute code and the
    model is not trusted."""
    config = read_config(path)
    if path.is_dir() and not trusted:
        raise UnsafeModelError(
            f"Refusing to load {path}: a SavedModel runs its TensorFlow graph when called, which "
            f"can read and write files (Keras 3.14+ refuses TFSMLayer in safe mode too). "
            f'Fix: if you trust model {model_id!r}, set "trusted": true in its registry entry.'
        )
    if trusted or config is None:
        return
    problems = unsafe_references(config, allowed)
    if problems:
        raise UnsafeModelError(
            f"Refusing to load {path}: it can execute code ({'; '.join(problems)}). "
            f'Fix: if you trust model {model_id!r}, set "trusted": true in its registry entry.'
        )
