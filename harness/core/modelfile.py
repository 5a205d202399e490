"""Reading a model file's configs within resource limits, before anything loads it.

Reads ``.keras`` zips and full-model ``.h5`` files with zipfile, h5py and json only (no
TensorFlow), and refuses what no model file needs and an attacker does: non-regular files (a FIFO
would hang the reader), zip members with unsafe names or symbolic links, decompression bombs,
configs that are huge or absurdly deep, HDF5 external links and virtual datasets (in the file, or
in a ``.keras`` zip's nested ``model.weights.h5``). These limits apply to trusted models too. The
one reader of a model's configs: the safety check (:mod:`harness.core.safety`) and ``inspect``
both take their configs from :func:`read_document`.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from harness.core.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from harness.core.files import json_type

MAX_CONFIG_BYTES = 64 << 20
MAX_CONFIG_DEPTH = 100
MAX_MEMBER_RATIO = 200
MAX_ARCHIVE_BYTES = 8 << 30
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: what h5py raises on a truncated or corrupt file (on opening it, or on reading what it holds)
HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError)
#: the zip members of a ``.keras`` file that hold HDF5 data
WEIGHTS_MEMBERS = ("model.weights.h5",)


@dataclass
class ModelDocument:
    """What a model file says about itself: its model config, its training config (an ``.h5``'s
    ``training_config``; a ``.keras`` keeps its ``compile_config`` inside the model config),
    the writer's metadata, and the names of its zip members or HDF5 attributes."""

    path: Path
    format: str
    model: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def configs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(where, config)`` for every config that Keras deserializes from this file."""
        if self.model is not None:
            yield "model", self.model
        if self.training is not None:
            yield "training_config", self.training


def _limit(path: Path, problem: str, fix: str) -> ResourceLimitError:
    return ResourceLimitError(f"Refusing to read {path}: {problem}. Fix: {fix}.")


def bad_file(path: Path, what: str, detail: str) -> ModelFileError:
    """``path`` is not a readable ``what`` (``HDF5 file``, ``.keras archive``) because of
    ``detail``: a one-line error with the fix."""
    return ModelFileError(
        f"{path} is not a readable {what} ({detail}). Fix: restore the file or re-save the "
        f"model from its source; if it is the output of a step, delete it and rerun the step."
    )


def parse_config(path: Path, raw: Any, *, what: str = "model config") -> dict[str, Any]:
    """Parse a config (bytes, text, or an HDF5 attribute), refusing oversized and absurdly deep
    documents and anything but a JSON object (``null`` too: Keras writes no config as null)."""
    if not isinstance(raw, bytes | str):
        raise bad_file(path, "model file", f"its {what} is {_attribute_kind(raw)}, not JSON text")
    size = len(raw)
    if size > MAX_CONFIG_BYTES:
        raise _limit(
            path,
            f"its {what} is {size} bytes (limit {MAX_CONFIG_BYTES})",
            "check the file's origin; a model config is normally kilobytes",
        )
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        depth = MAX_CONFIG_DEPTH + 1
    except ValueError as exc:  # not JSON, not UTF-8, or an integer too long to convert
        raise UnsafeModelError(
            f"The {what} in {path} is not valid JSON ({exc}). Fix: re-save the model "
            f"with Keras, or replace the file."
        ) from None
    else:
        depth = config_depth(data)
    if depth > MAX_CONFIG_DEPTH:
        raise _limit(
            path,
            f"its {what} nests deeper than {MAX_CONFIG_DEPTH} levels",
            "check the file's origin; real models nest a few dozen levels at most",
        )
    if not isinstance(data, dict):
        raise bad_file(path, "model file", f"its {what} is a JSON {json_type(data)}, not an object")
    return data


def _attribute_kind(raw: Any) -> str:
    """What an HDF5 attribute that is not text holds, for a person (h5py gives numpy values)."""
    shape, dtype = getattr(raw, "shape", None), getattr(raw, "dtype", None)
    if shape:  # an array of any dimension but 0
        return f"an array ({dtype}, shape {tuple(shape)})"
    if dtype is not None:
        kind = getattr(dtype, "kind", "")
        number = {"b": "a boolean", "i": "an integer", "u": "an integer", "f": "a number"}
        return f"{number.get(kind, 'a value')} ({dtype})"
    return f"a {type(raw).__name__}"


#: the Keras model classes whose config holds their layers: ``layers``, or a legacy Sequential's
#: config that is itself the array of its layers (Keras < 2.2.3; Sequential.from_config still
#: reads it)
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
#: the keys under a layer's config that hold a layer it wraps (as :func:`safety.walk` reads them)
WRAPPED = ("layer", "backward_layer", "cell")


def shape_problem(config: dict[str, Any]) -> str | None:
    """What in a model config has a type Keras cannot read, or None: the model and its layers
    (a model's ``layers``, wrapped layers) must be objects with a string ``class_name`` and an
    object ``config``, a model's ``layers`` an array, a ``compile_config`` an object. Only the
    shape: what the parts name is :mod:`harness.core.safety`'s to check."""
    compile_config = config.get("compile_config")
    if compile_config is not None and not isinstance(compile_config, dict):
        return f"compile_config is a JSON {json_type(compile_config)}, not an object"
    # (object, its layer path as safety.walk names it, how a message names it)
    stack: list[tuple[Any, str, str]] = [(config, "model", "the model")]
    while stack:
        layer, where, label = stack.pop()
        if not isinstance(layer, dict):
            return f"{label} is a JSON {json_type(layer)}, not an object"
        class_name = layer.get("class_name")
        if "class_name" not in layer:
            return f"{label} has no class_name"
        if not isinstance(class_name, str):
            return f"{label} has a class_name that is a JSON {json_type(class_name)}, not a string"
        inner = layer.get("config", {})
        if class_name == "Sequential" and isinstance(inner, list):  # the legacy format
            of = "the model" if layer is config else where
            stack.extend(_layers(inner, where, f"{of}'s config (a legacy array of layers)"))
            continue
        if not isinstance(inner, dict):
            return (
                f"{label} ({class_name}) has a config that is a JSON {json_type(inner)}, not an "
                f"object"
            )
        name = inner.get("name")
        here = f"{where}/{name}" if isinstance(name, str) else where
        of = "the model" if layer is config else here
        children = inner.get("layers")
        if class_name in MODEL_CLASSES and "layers" in inner:
            if not isinstance(children, list):
                return (
                    f"{label} ({class_name}) has layers that are a JSON {json_type(children)}, "
                    f"not an array"
                )
            stack.extend(_layers(children, here, of))
        elif isinstance(children, list):  # another class's layers, as safety.walk reads them
            stack.extend(
                (child, here, f"layer {index} of {of}")
                for index, child in reversed(list(enumerate(children)))
                if isinstance(child, dict) and "class_name" in child
            )
        stack.extend(
            (inner[key], here, f"the {key} of {of}")
            for key in reversed(WRAPPED)
            if isinstance(inner.get(key), dict) and "class_name" in inner[key]
        )
    return None


def _layers(children: list[Any], here: str, of: str) -> list[tuple[Any, str, str]]:
    """A model's layers, pushed so that the first is checked first."""
    return [(child, here, f"layer {index} of {of}") for index, child in enumerate(children)][::-1]


def check_shape(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """``config``, if :func:`shape_problem` finds nothing wrong with it."""
    problem = shape_problem(config)
    if problem is not None:
        raise bad_file(path, "model file", f"its model config: {problem}")
    return config


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


def unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member's name or type is unsafe (an absolute path, a ``..`` component, a
    symbolic link), or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "has an absolute name"
    if ".." in PurePosixPath(name).parts:
        return "has a name that climbs out of the archive ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    return None


def check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse unsafe member names and symbolic links, and members that decompress to far more
    than their stored size."""
    total = 0
    for info in archive.infolist():
        why = unsafe_member(info)
        if why is not None:
            raise _limit(
                path,
                f"member {info.filename!r} {why}",
                "a .keras file written by Keras has neither; do not load this one",
            )
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


def check_hdf5(path: Path, handle: Any, where: str = "") -> None:
    """Refuse HDF5 external links and virtual datasets (they read other files); ``where`` names
    the zip member the HDF5 data came from. Walks the file with h5py's low-level visitors (every
    link, then every object by its hard links), opening only the datasets: the high-level
    ``visititems`` builds an object per link, about ten times slower on a small model's file."""
    from h5py import h5d, h5l, h5o

    root = handle.id
    found: list[str] = []

    def visit_link(name: bytes, info: Any) -> None:
        if info.type == h5l.TYPE_EXTERNAL:
            filename, target = root.links.get_val(name)
            found.append(f"{_name(name)} -> {_name(filename)}:{_name(target)}")

    def visit_object(name: bytes, info: Any) -> None:
        if info.type != h5o.TYPE_DATASET:
            return
        dataset = h5d.open(root, name)
        if dataset.get_create_plist().get_layout() == h5d.VIRTUAL:
            found.append(f"{_name(name)} (virtual dataset)")

    root.links.visit(visit_link, info=True)
    h5o.visit(root, visit_object, info=True)
    if found:
        inside = f"its member {where!r} " if where else "it "
        raise _limit(
            path,
            f"{inside}links to other files ({'; '.join(found[:3])})",
            "re-save the model as a self-contained file",
        )


def _name(raw: bytes | str) -> str:
    """An HDF5 name or path as text (h5py's low level gives bytes)."""
    return raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw


def check_regular(path: Path) -> os.stat_result:
    """The file's status, if it exists and is a regular file or a folder (a SavedModel); a FIFO,
    socket or device is refused before anything opens it."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ModelFileError(
            f"Model file not found: {path}. Fix: correct its path in the registry, or run the "
            f"step that writes it."
        ) from None
    except OSError as exc:
        raise bad_file(path, "model file", f"{type(exc).__name__}: {exc}") from None
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(status.st_mode)
            else "a socket"
            if stat.S_ISSOCK(status.st_mode)
            else "a device"
        )
        raise ModelFileError(
            f"{path} is {kind}, not a regular file. Fix: pass the model file itself (a .keras "
            f"zip, an .h5 file or a SavedModel folder)."
        )
    return status


def sniff(path: Path) -> str | None:
    """``"zip"``, ``"hdf5"`` or None, from the first bytes of a regular file."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if head[:2] == b"PK":
        return "zip"
    return None


def read_document(path: Path, *, format: str | None = None) -> ModelDocument:
    """The configs of a ``.keras`` zip or an ``.h5`` file, after every check above, read by
    content (``format``, ``"keras"``/``"h5"``, or else the file's name, only says what an
    unreadable file was meant to be); a folder is a SavedModel (no config read). Empty,
    truncated, corrupt or unknown files are refused with the file named."""
    status = check_regular(path)
    if stat.S_ISDIR(status.st_mode):
        return ModelDocument(path, "savedmodel")
    # Keras picks its loader from the content, so the check does too: a zip is read as a
    # .keras whatever its name, HDF5 as an .h5; the name decides only what an unreadable
    # file is reported as
    content = sniff(path) if status.st_size else None
    kind = {"zip": "keras", "hdf5": "h5"}.get(content or "") or format
    kind = kind or {".keras": "keras", ".h5": "h5"}.get(path.suffix)
    if kind == "keras":
        return _read_keras(path, status.st_size)
    if kind == "h5":
        return _read_h5(path, status.st_size)
    raise bad_file(path, "model file", "neither a zip archive nor an HDF5 file")


def _read_keras(path: Path, size: int) -> ModelDocument:
    if size == 0 or not zipfile.is_zipfile(path):
        detail = "empty file" if size == 0 else "not a zip archive: truncated or corrupt"
        raise bad_file(path, ".keras archive", detail)
    document = ModelDocument(path, "keras")
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(path, archive)
            broken = archive.testzip()
            if broken is not None:
                raise bad_file(path, ".keras archive", f"member {broken!r} is corrupt")
            names = set(archive.namelist())
            if "config.json" in names:
                document.model = check_shape(path, parse_config(path, archive.read("config.json")))
            if "metadata.json" in names:
                document.metadata = parse_config(
                    path, archive.read("metadata.json"), what="metadata.json"
                )
            for member in WEIGHTS_MEMBERS:
                if member in names:
                    _check_nested_hdf5(path, archive, member)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, *HDF5_ERRORS) as exc:
        raise bad_file(path, ".keras archive", f"{type(exc).__name__}: {exc}") from None
    return document


def _check_nested_hdf5(path: Path, archive: zipfile.ZipFile, member: str) -> None:
    import h5py

    with archive.open(member) as stream:
        if stream.read(8) != HDF5_SIGNATURE:
            raise bad_file(path, ".keras archive", f"member {member!r} is not HDF5")
    with archive.open(member) as stream, h5py.File(stream, "r") as handle:
        check_hdf5(path, handle, member)


def _read_h5(path: Path, size: int) -> ModelDocument:
    import h5py

    if size == 0:
        raise bad_file(path, "HDF5 file", "empty file")
    if sniff(path) != "hdf5":
        raise bad_file(path, "HDF5 file", "no HDF5 signature: truncated or not HDF5")
    document = ModelDocument(path, "h5")
    try:
        with h5py.File(path, "r") as handle:
            check_hdf5(path, handle)
            attrs = handle.attrs
            for key, what in (
                ("model_config", "model config"),
                ("training_config", "training_config"),
            ):
                raw = attrs.get(key)
                if raw is None:
                    continue
                config = parse_config(path, raw, what=what)
                if key == "model_config":
                    document.model = check_shape(path, config)
                else:
                    document.training = config
            document.metadata = {
                key: _text(attrs[key]) for key in ("keras_version", "backend") if key in attrs
            }
    except HDF5_ERRORS as exc:
        raise bad_file(path, "HDF5 file", f"{type(exc).__name__}: {exc}") from None
    return document


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def read_config(path: Path) -> dict[str, Any] | None:
    """The model config of a ``.keras`` zip or a full-model ``.h5`` (None if it has none)."""
    return read_document(path).model
