"""Goldens: what the source model does in the source environment, with provenance.

A golden is two files under ``<golden dir>/<model>/``: ``golden.json`` (schema version,
provenance, compile config, evaluate results by metric name, optimizer summary) and
``golden.npz`` (inputs, targets, predict outputs, optimizer slot variables). Both are written
atomically under a lock. A golden with another schema version is tainted and must be regenerated.

Optional parts that older goldens lack, without a schema change: ``expected`` in
``golden.json`` and the arrays ``e0``, ``e1``, ... (counted as ``arrays.expected``), the values
the user stated in the model's ``expected`` file (see :mod:`harness.core.expected`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.atomic import atomic_open, lock_for, write_json
from harness.core.errors import GoldenError, GoldenTaintedError, describe
from harness.core.files import json_type, open_regular, read_json

GOLDEN_SCHEMA = 1
REGEN_HINT = "tox -e tf213 -- --golden-regen --model {model}"


def sha256_of(path: Path) -> str:
    """A file's sha256; for a folder (a SavedModel), the sha256 of its files' paths and hashes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{member.relative_to(path).as_posix()}\0{sha256_of(member)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Golden:
    model: str
    meta: dict[str, Any]
    x: list[Any]
    y: list[Any]
    predict: list[Any]
    slots: list[Any] = field(default_factory=list)
    #: the predictions the user stated (``expected`` file), none in most goldens
    stated: list[Any] = field(default_factory=list)
    #: every weight after one train step (``meta["train_step"]`` names them); recorded in
    #: runner references, and in goldens recorded since the train-step check
    trained: list[Any] = field(default_factory=list)

    @property
    def evaluate(self) -> dict[str, float]:
        return dict(self.meta["evaluate"])

    @property
    def metrics(self) -> list[str]:
        return list(self.meta["compile"]["metrics"])

    @property
    def iterations(self) -> int | None:
        value = self.meta["optimizer"]["iterations"]
        return None if value is None else int(value)

    @property
    def batch_size(self) -> int:
        return int(self.meta["batch_size"])


def golden_files(golden_dir: Path, model: str, stem: str = "golden") -> tuple[Path, Path]:
    """``<dir>/<model>/<stem>.json`` and ``.npz`` (runner references use the stem
    ``reference``)."""
    folder = golden_dir / model
    return folder / f"{stem}.json", folder / f"{stem}.npz"


def exists(golden_dir: Path, model: str) -> bool:
    return all(path.exists() for path in golden_files(golden_dir, model))


def read_golden(golden_dir: Path, model: str, stem: str = "golden") -> Golden:
    import numpy as np

    json_path, npz_path = golden_files(golden_dir, model, stem)
    if not json_path.exists() or not npz_path.exists():
        raise GoldenError(
            f"Golden for model {model!r} is missing: {json_path.parent}. Fix: record it in the "
            f"source environment (tox -e tf213), review it and commit it."
        )
    fix = f"restore it from git or regenerate it: {REGEN_HINT.format(model=model)}."
    meta = read_json(json_path, what="Golden", fix=fix, error=GoldenError)
    if not isinstance(meta, dict):
        raise GoldenTaintedError(
            f"Golden {json_path} is a JSON {json_type(meta)}, not an object of schema "
            f"{GOLDEN_SCHEMA}: tainted. Fix: regenerate it with {REGEN_HINT.format(model=model)}."
        )
    if meta.get("schema") != GOLDEN_SCHEMA:
        raise GoldenTaintedError(
            f"Golden {json_path} has schema {meta.get('schema')!r}, this harness writes "
            f"{GOLDEN_SCHEMA}: tainted. Fix: regenerate it with {REGEN_HINT.format(model=model)}."
        )
    problem = _meta_problem(meta)
    if problem:
        raise GoldenError(f"Golden {json_path}: {problem}. Fix: {fix}")
    handle = open_regular(npz_path, what="Golden arrays", fix=fix, error=GoldenError)
    try:
        with handle:
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            with loaded as data:
                arrays = {key: data[key] for key in data.files}
            for key, value in arrays.items():
                if not isinstance(value, np.ndarray):  # numpy returns such a member's bytes
                    raise ValueError(f"member {key!r} is not a .npy array")
    except Exception as exc:  # zipfile/ValueError/OSError: a corrupt archive
        raise GoldenError(
            f"Golden arrays {npz_path} cannot be read: {type(exc).__name__}: {describe(exc)}. "
            f"Fix: {fix}"
        ) from None

    def take(prefix: str, count: int) -> list[Any]:
        if count > len(arrays):
            raise GoldenError(
                f"Golden arrays {npz_path} hold {len(arrays)} arrays, fewer than the {count} "
                f"{prefix!r} arrays that {json_path.name} counts. Fix: regenerate it: "
                f"{REGEN_HINT.format(model=model)}."
            )
        keys = [f"{prefix}{i}" for i in range(count)]
        missing = [key for key in keys if key not in arrays]
        if missing:
            raise GoldenError(
                f"Golden arrays {npz_path} lack {missing}. Fix: regenerate it: "
                f"{REGEN_HINT.format(model=model)}."
            )
        return [arrays[key] for key in keys]

    counts = meta["arrays"]
    return Golden(
        model,
        meta,
        take("x", counts["x"]),
        take("y", counts["y"]),
        take("p", counts["predict"]),
        take("s", counts["slots"]),
        take("e", counts.get("expected", 0)),
        take("t", counts.get("trained", 0)),
    )


#: golden.json's fields and the JSON types that reading and checking a golden needs
_META_TYPES: dict[str, tuple[type, str]] = {
    "source_sha256": (str, "string"),
    "batch_size": (int, "integer"),
    "evaluate": (dict, "object"),
    "compile": (dict, "object"),
    "optimizer": (dict, "object"),
    "provenance": (dict, "object"),
}
_ARRAY_COUNTS = ("x", "y", "predict", "slots")


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What in a golden.json is missing or of the wrong type, or None."""
    counts = meta.get("arrays")
    if not isinstance(counts, dict):
        return f'"arrays" is {_json_kind(counts)}, expected an object of array counts'
    for key in _ARRAY_COUNTS:
        value = counts.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f'"arrays"."{key}" is {value!r}, expected a count (an integer >= 0)'
    for key, (kind, name) in _META_TYPES.items():
        value = meta.get(key)
        if key in meta and (isinstance(value, bool) or not isinstance(value, kind)):
            return f'"{key}" is {_json_kind(value)}, expected {name}'
    for name, value in meta.get("evaluate", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f'"evaluate"."{name}" is {_json_kind(value)}, expected a number'
    metrics = meta.get("compile", {}).get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        return '"compile"."metrics" must be an array of metric names'
    iterations = meta.get("optimizer", {}).get("iterations")
    if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int)):
        return f'"optimizer"."iterations" is {_json_kind(iterations)}, expected an integer or null'
    return None


def _json_kind(value: Any) -> str:
    return "missing or null" if value is None else f"a JSON {json_type(value)}"


def write_golden(golden_dir: Path, golden: Golden, stem: str = "golden") -> None:
    import numpy as np

    json_path, npz_path = golden_files(golden_dir, golden.model, stem)
    arrays: dict[str, Any] = {}
    for prefix, values in (
        ("x", golden.x),
        ("y", golden.y),
        ("p", golden.predict),
        ("s", golden.slots),
        ("e", golden.stated),
        ("t", golden.trained),
    ):
        for index, value in enumerate(values):
            arrays[f"{prefix}{index}"] = np.asarray(value)
    golden.meta["arrays"] = {
        "x": len(golden.x),
        "y": len(golden.y),
        "predict": len(golden.predict),
        "slots": len(golden.slots),
        **({"expected": len(golden.stated)} if golden.stated else {}),
        **({"trained": len(golden.trained)} if golden.trained else {}),
    }
    golden.meta["schema"] = GOLDEN_SCHEMA
    with lock_for(json_path):
        with atomic_open(npz_path, "wb") as handle:
            np.savez(handle, **arrays)
        write_json(json_path, golden.meta, indent=2)
