"""Embedded cases: ``cases/<name>.py`` modules that build small seeded models with their data.

A case module defines ``build() -> model`` (compiled and trained a few seeded steps, TensorFlow
imported inside), ``make_data(seed) -> (x, y)`` (numpy lists) and optionally ``TOLERANCES``
(the registry's per-check tolerances, each with a written reason), ``CUSTOM_OBJECTS``
(``{name: "cases/<file>.py:attr"}``, paths relative to the project) and ``TRUSTED = True`` (the
saved file runs code: Lambda layers), and ``FAMILY`` (its row group in README's routes table).
Its docstring says what it exercises. The source model is committed beside its golden
(``golden/<name>/model.2.13.keras``).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.core.atomic import lock_for, write_json
from harness.core.errors import HarnessError
from harness.core.golden import sha256_of
from harness.core.registry import Registry, file_reference
from harness.core.specs import Spec

SOURCE = Spec.parse("2.13.keras")
SOURCE_ENV_COMMAND = f"tox -e tf{SOURCE.version.replace('.', '')}"
MODEL_FILE = "model.2.13.keras"
EVAL_SEED = 1


def discover(cases_dir: Path) -> dict[str, Path]:
    return {
        path.stem: path for path in sorted(cases_dir.glob("*.py")) if not path.name.startswith("_")
    }


def load_case(path: Path) -> ModuleType:
    from harness.keras.formats import import_file

    try:
        module = import_file(path)  # the same module object custom_objects references resolve to
    except ImportError as exc:
        raise HarnessError(
            f"Case {path} cannot be imported: {type(exc).__name__}: {exc}. Fix: run it in the "
            f"source environment ({SOURCE_ENV_COMMAND}), which installs what the cases import."
        ) from None
    for name in ("build", "make_data"):
        if not callable(getattr(module, name, None)):
            raise HarnessError(
                f"Case {path} has no {name}() function. Fix: define build() and make_data(seed)."
            )
    return module


def registry_entry(
    module: ModuleType, name: str, relative: str, project: Path, registry_dir: Path
) -> dict[str, Any]:
    """A case's registry entry: its source path and what its module declares (file references
    are relative to ``project`` in the case, to the registry's folder in the entry)."""
    entry: dict[str, Any] = {"paths": {str(SOURCE): relative}, "case": name}
    custom = getattr(module, "CUSTOM_OBJECTS", None)
    if custom:
        references = {}
        for key, reference in custom.items():
            found = file_reference(reference)
            if found is not None:
                reference = f"{_relpath(project / found[0], registry_dir)}:{found[1]}"
            references[key] = reference
        entry["custom_objects"] = references
    if getattr(module, "TRUSTED", False) is True:
        entry["trusted"] = True
    tolerances = getattr(module, "TOLERANCES", None)
    if tolerances:
        entry["tolerances"] = tolerances
    return entry


def build_missing(cases_dir: Path, golden_dir: Path, *, only: list[str] | None = None) -> list[str]:
    """Build and save the source model of every case that has none yet (source env only)."""
    from harness.keras import formats

    built = []
    for name, path in discover(cases_dir).items():
        if only and name not in only:
            continue
        target = golden_dir / name / MODEL_FILE
        if target.exists():
            continue
        module = load_case(path)
        model = module.build()
        formats.save(model, SOURCE, target)
        built.append(name)
    return built


def write_registry(cases_dir: Path, golden_dir: Path, registry_path: Path) -> Registry:
    """Write the embedded cases' registry in the recipe's layout, copying each source model."""
    models: dict[str, Any] = {}
    root = registry_path.parent.parent
    for name, path in discover(cases_dir).items():
        source = golden_dir / name / MODEL_FILE
        if not source.exists():
            raise HarnessError(
                f"Case {name!r} has no source model at {source}. Fix: build it in the source "
                f"environment: tox -e tf213."
            )
        relative = f"models/{SOURCE}/{name}{SOURCE.suffix}"
        copy = root / relative
        if not copy.exists() or sha256_of(copy) != sha256_of(source):
            copy.parent.mkdir(parents=True, exist_ok=True)
            tmp = copy.with_name(f".{copy.name}.tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(copy)
        models[name] = registry_entry(
            load_case(path), name, relative, cases_dir.parent, registry_path.parent
        )
    with lock_for(registry_path):
        golden_rel = Path(_relpath(golden_dir, registry_path.parent))
        write_json(registry_path, {"models": models, "golden_dir": str(golden_rel)})
    return Registry.load(registry_path)


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.absolute(), start.absolute())


def case_data(cases_dir: Path, name: str) -> tuple[list[Any], list[Any]]:
    module = load_case(cases_dir / f"{name}.py")
    x, y = module.make_data(EVAL_SEED)
    return list(x), list(y)


def prepare(config_path: Path, golden_dir: Path, registry_path: Path) -> list[str]:
    """``keras-harness cases``: build the embedded cases whose source model is missing (in the
    source environment only) and write their registry; returns what was done, one line each."""
    from harness.core.config import load_config
    from harness.keras import runtime

    cases_dir = load_config(config_path).path.parent / "cases"
    if importlib.util.find_spec("tensorflow") is None:
        raise HarnessError(
            f"TensorFlow is not installed in {sys.prefix}, and `keras-harness cases` needs it: "
            f"it builds and imports the embedded cases in {cases_dir}. Fix: run it in the source "
            f"environment: {SOURCE_ENV_COMMAND}."
        )
    missing = [
        name for name in discover(cases_dir) if not (golden_dir / name / MODEL_FILE).exists()
    ]
    lines = []
    if missing:
        runtime.check_environment(SOURCE.version, f"tf{SOURCE.version.replace('.', '')}")
        built = build_missing(cases_dir, golden_dir, only=missing)
        lines.append(f"built source models: {', '.join(built)}")
    stamp = _stamp(cases_dir, golden_dir, registry_path)
    stamp_path = registry_path.with_name(STAMP)
    if not missing and _read(stamp_path) == stamp:  # nothing to build, import or copy
        count = len(discover(cases_dir))
        lines.append(f"registry: {registry_path} ({count} embedded cases, up to date)")
        return lines
    registry = write_registry(cases_dir, golden_dir, registry_path)
    write_json(stamp_path, {"stamp": _stamp(cases_dir, golden_dir, registry_path)})
    lines.append(f"registry: {registry.path} ({len(registry.models)} embedded cases)")
    return lines


#: beside the cases' registry: what it was written from (see :func:`_stamp`)
STAMP = ".cases-stamp.json"


def _stamp(cases_dir: Path, golden_dir: Path, registry_path: Path) -> str:
    """What the cases' registry is written from: every ``cases/*.py`` (shared modules too: a
    case's TOLERANCES may come from one), each source model and its copy (size and modification
    time), and the registry itself. The same stamp means that writing it again would change
    nothing, so ``keras-harness cases`` imports no case (and no TensorFlow)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(cases_dir.glob("*.py")):
        digest.update(f"{path.name}\0".encode())
        digest.update(path.read_bytes())
    root = registry_path.parent.parent
    for name in discover(cases_dir):
        for path in (
            golden_dir / name / MODEL_FILE,
            root / f"models/{SOURCE}/{name}{SOURCE.suffix}",
        ):
            stat = path.stat() if path.exists() else None
            digest.update(f"{path}\0{stat and (stat.st_size, stat.st_mtime_ns)}\0".encode())
    digest.update(registry_path.read_bytes() if registry_path.exists() else b"-")
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    import json

    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("stamp")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None
