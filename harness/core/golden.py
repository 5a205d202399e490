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
from harness.core.errors import GoldenError, GoldenTaintedError
from harness.core.files import read_json, schema_of

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
    meta = read_json(
        json_path,
        what="Golden",
        fix=f"restore it from git or regenerate it: {REGEN_HINT.format(model=model)}.",
        error=GoldenError,
    )
    if not isinstance(meta, dict) or meta.get("schema") != GOLDEN_SCHEMA:
        raise GoldenTaintedError(
            f"Golden {json_path} has schema {schema_of(meta)!r}, this harness writes "
            f"{GOLDEN_SCHEMA}: tainted, regenerate it with {REGEN_HINT.format(model=model)}."
        )
    try:
        with open(npz_path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {key: np.array(data[key]) for key in data.files}
    except Exception as exc:  # zipfile/ValueError/OSError: a corrupt archive
        raise GoldenError(
            f"Golden arrays {npz_path} cannot be read: {type(exc).__name__}: {exc}. Fix: "
            f"restore it from git or regenerate it: {REGEN_HINT.format(model=model)}."
        ) from None

    def take(prefix: str, count: int) -> list[Any]:
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
    )


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
    ):
        for index, value in enumerate(values):
            arrays[f"{prefix}{index}"] = np.asarray(value)
    golden.meta["arrays"] = {
        "x": len(golden.x),
        "y": len(golden.y),
        "predict": len(golden.predict),
        "slots": len(golden.slots),
        **({"expected": len(golden.stated)} if golden.stated else {}),
    }
    golden.meta["schema"] = GOLDEN_SCHEMA
    with lock_for(json_path):
        with atomic_open(npz_path, "wb") as handle:
            np.savez(handle, **arrays)
        write_json(json_path, golden.meta, indent=2)
