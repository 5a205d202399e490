"""The model registry: the recipe's ``models/model_registry.json``, read and written unchanged.

The recipe's format is ``{"models": {ID: {"paths": {SPEC: PATH}}}}``. Other keys in a model's
entry or at the top level are kept through a round trip. The harness reads these optional keys of
a model's entry:

- ``source``: the spec golden outputs are recorded from (default ``2.13.keras``);
- ``custom_objects``: ``{name: "module:attr"}`` or ``{name: "path/to/file.py:attr"}`` (a file
  path relative to the registry's folder) passed to ``load_model``;
- ``inputs``: an ``.npz`` with ``x`` (or ``x0``, ``x1``, ...) and optionally ``y``;
- ``expected``: an ``.npz`` or ``.json`` of values kept from training (predictions on the
  inputs, ``evaluate`` results by metric name), see :mod:`harness.core.expected`;
- ``tolerances``: ``{check: {"max_ulp": N, "max_abs": X, "reason": "..."}}``;
- ``trusted``: ``true`` lets the model's file execute code (Lambda layers, custom modules);
- ``case``: the embedded case that built it.

Relative paths are resolved against the registry's root: the folder that holds the registry's
folder (the recipe runs from the project root, one level above ``models/``), unless the file sets
a top-level ``"root"`` (relative to the registry's folder). A relative path that climbs out of the
root (``../..``) is refused unless the file sets ``"allow_outside_root": true``; absolute paths
are taken as written.

Keys it does not know are kept, and an optional value of the wrong type is ignored in the safe
direction (see :mod:`harness.core.registry_schema`); ``keras-harness validate`` reports both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import RegistryError, SpecError
from harness.core.files import parser_gave_up, read_text
from harness.core.registry_schema import shown, usable_custom_objects, usable_tolerances
from harness.core.specs import DEFAULT_SOURCE, Spec


def file_reference(reference: str) -> tuple[str, str] | None:
    """``(path, attr)`` when a custom object reference names a Python file (``path.py:attr``),
    else None (``module:attr``)."""
    target, _, attr = reference.rpartition(":")
    return (target, attr) if target.endswith(".py") else None


MODEL_ID_RE = re.compile(r"^[a-z0-9_.-]+$", re.IGNORECASE)


@dataclass
class ModelEntry:
    """One registered model: its saved forms and the harness's optional settings."""

    id: str
    paths: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # key order as read, kept on write

    @property
    def source(self) -> Spec:
        return Spec.parse(self.extra.get("source", DEFAULT_SOURCE))

    @property
    def trusted(self) -> bool:
        return self.extra.get("trusted", False) is True

    @property
    def custom_objects(self) -> dict[str, str]:
        """``{name: reference}``, the references that are strings."""
        return usable_custom_objects(self.extra.get("custom_objects", {}))

    @property
    def tolerances(self) -> dict[str, dict[str, Any]]:
        """The declared tolerances that can be used (a malformed one leaves its check exact)."""
        return usable_tolerances(self.extra.get("tolerances", {}))

    @property
    def inputs(self) -> str | None:
        value = self.extra.get("inputs")
        return value if isinstance(value, str) else None

    @property
    def expected(self) -> str | None:
        value = self.extra.get("expected")
        return value if isinstance(value, str) else None

    @property
    def case(self) -> str | None:
        value = self.extra.get("case")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        values = {"paths": dict(self.paths), **self.extra}
        return _ordered(values, self.order)


def _ordered(values: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``values`` with the keys of ``order`` first, in that order, then any new ones."""
    keys = [key for key in order if key in values] + [key for key in values if key not in order]
    return {key: values[key] for key in keys}


def _reject_duplicates(path: Path) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise RegistryError(
                    f"Duplicate key {key!r} in registry {path}. Received: the key twice in one "
                    f"object. Fix: keep one entry per model id and per spec."
                )
            seen[key] = value
        return seen

    return hook


def read_data(path: Path) -> dict[str, Any]:
    """The registry's JSON, refused when it is missing, not a regular file, not UTF-8,
    malformed or has no ``models`` object."""
    text = read_text(
        path,
        what="Registry",
        fix="save it as UTF-8 JSON in the recipe's format, or restore it from git.",
        error=RegistryError,
        missing='create it in the recipe\'s format {"models": {ID: {"paths": {SPEC: PATH}}}} or '
        "pass --registry.",
    )
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates(path))
    except json.JSONDecodeError as exc:
        raise RegistryError(
            f"Registry {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Fix: correct the JSON at that position."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise RegistryError(
            f"Registry {path} cannot be read as JSON: {parser_gave_up(exc)}. Fix: correct it (a "
            f"registry is a few levels of objects, strings and small numbers) or restore it "
            f"from git."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise RegistryError(
            f'Registry {path} has no "models" object. Received top-level keys: '
            f"{sorted(data) if isinstance(data, dict) else type(data).__name__}. "
            f'Fix: use the recipe\'s format {{"models": {{ID: {{"paths": {{SPEC: PATH}}}}}}}}.'
        )
    return data


class Registry:
    """A loaded registry file."""

    def __init__(
        self,
        path: Path,
        models: dict[str, ModelEntry],
        extra: dict[str, Any],
        order: list[str] | None = None,
    ):
        self.path = path
        self.models = models
        self.extra = extra
        self.order = order or ["models"]

    @classmethod
    def load(cls, path: Path | str) -> Registry:
        path = Path(path).absolute()
        data = read_data(path)
        models = {
            model_id: parse_entry(path, model_id, entry)
            for model_id, entry in data["models"].items()
        }
        return cls.from_data(path, data, models)

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any], models: dict[str, ModelEntry]) -> Registry:
        """The registry of ``data`` (read from ``path``) with the entries ``models`` parsed from
        it; a top-level value that leaves the files unlocatable is refused."""
        for key, example in (("root", ".."), ("golden_dir", "golden")):
            if key in data and not isinstance(data[key], str):
                raise RegistryError(
                    f"Registry {path}: {key!r} must be a folder path, relative to the "
                    f"registry's folder (got {shown(data[key])}). Fix: write it as a string, "
                    f'e.g. "{key}": "{example}".'
                )
        extra = {key: value for key, value in data.items() if key != "models"}
        return cls(path, models, extra, list(data))

    @property
    def root(self) -> Path:
        root = self.extra.get("root")
        if isinstance(root, str):
            return (self.path.parent / root).resolve()
        return self.path.parent.parent

    @property
    def allow_outside_root(self) -> bool:
        """Only the JSON boolean true lets relative paths leave the root."""
        return self.extra.get("allow_outside_root", False) is True

    @property
    def golden_dir(self) -> Path:
        """Where the models' goldens live: ``"golden_dir"`` (relative to the registry's folder),
        else ``golden/`` beside the registry."""
        value = self.extra.get("golden_dir")
        if isinstance(value, str):
            return (self.path.parent / value).resolve()
        return self.path.parent / "golden"

    def to_json(self) -> dict[str, Any]:
        models = {model_id: entry.to_json() for model_id, entry in self.models.items()}
        return _ordered({"models": models, **self.extra}, self.order)

    def resolve(self, model_id: str, spec: Spec | str) -> Path:
        """The absolute path of one saved form of a model."""
        entry = self.get(model_id)
        raw = entry.paths.get(str(spec))
        if raw is None:
            raise RegistryError(
                f"Model {model_id!r} has no path for spec {str(spec)!r} in {self.path}. "
                f"Received specs: {sorted(entry.paths)}. Fix: run the step that writes "
                f"{str(spec)!r} or add its path to the registry."
            )
        path = Path(raw)
        if path.is_absolute():
            return path  # written out in full by whoever wrote the registry
        resolved = (self.root / path).resolve()
        if not resolved.is_relative_to(self.root.resolve()) and not self.allow_outside_root:
            raise RegistryError(
                f"Model {model_id!r} in {self.path}: the relative path {raw!r} for "
                f"{str(spec)!r} leaves the registry's root {self.root}. Fix: give an absolute "
                f'path, move the file under the root, or set "allow_outside_root": true.'
            )
        return self.root / path

    def custom_objects(self, model_id: str) -> dict[str, str]:
        """The model's custom object references, file paths made absolute (relative ones are
        relative to the registry's folder: the registry is the user's configuration, not input)."""
        resolved = {}
        for name, reference in self.get(model_id).custom_objects.items():
            found = file_reference(reference)
            if found is not None and not Path(found[0]).is_absolute():
                reference = f"{(self.path.parent / found[0]).resolve()}:{found[1]}"
            resolved[name] = reference
        return resolved

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self.models[model_id]
        except KeyError:
            raise RegistryError(
                f"Unknown model {model_id!r} in {self.path}. Received ids: "
                f"{sorted(self.models)}. Fix: register it or correct the id."
            ) from None


def parse_entry(path: Path, model_id: str, entry: Any) -> ModelEntry:
    """One model's entry of the registry at ``path``, refused when it has no usable ``paths``
    or ``source`` (optional values of the wrong type are left to ``validate``)."""
    if not MODEL_ID_RE.match(model_id):
        raise RegistryError(
            f"Invalid model id {model_id!r} in {path}. Fix: use letters, digits, '_', '.' "
            f"and '-' only."
        )
    if not isinstance(entry, dict) or not isinstance(entry.get("paths"), dict):
        raise RegistryError(
            f'Model {model_id!r} in {path} has no "paths" object. Received: {entry!r}. '
            f'Fix: write {{"paths": {{"2.13.keras": "models/2.13.keras/{model_id}.keras"}}}}.'
        )
    for spec, spec_path in entry["paths"].items():
        try:
            Spec.parse(spec)
        except SpecError as exc:
            raise RegistryError(f"Model {model_id!r} in {path}: {exc}") from None
        if not isinstance(spec_path, str) or not spec_path:
            raise RegistryError(
                f"Model {model_id!r} in {path}: the path for {spec!r} must be a non-empty "
                f"string. Received: {spec_path!r}. Fix: give the model file's path."
            )
    if "source" in entry:
        try:
            Spec.parse(entry["source"])
        except SpecError as exc:
            raise RegistryError(f"Model {model_id!r} in {path}: source: {exc}") from None
    extra = {key: value for key, value in entry.items() if key != "paths"}
    return ModelEntry(model_id, dict(entry["paths"]), extra, list(entry))
