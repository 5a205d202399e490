"""Cells and results files: what each verification run measured, with provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.core.atomic import write_json
from harness.core.errors import ResultsError
from harness.core.files import check_schema, json_type, read_json

RESULTS_SCHEMA = 1
CHECKS = ("load", "predict", "evaluate", "metrics", "optimizer-state", "train-step")
#: the checks of the source environment on each runner: ``replay`` is the hardware drift (the
#: committed golden vs the source model replayed on this runner's hardware); ``expected``, for a
#: model with an ``expected`` file, the values the user stated vs what the source load produced;
#: ``names`` (Keras 2 sources), the metric names the file's compile config says training
#: reported vs the names the source load reported
SOURCE_CHECKS = ("replay", "expected", "names")
STATUS_RE = re.compile(
    r"^(pass|mismatch|error:[A-Za-z0-9_.]+|limitation:[a-z0-9_.-]+|skipped:.+|not-produced:.+)$"
)


@dataclass(frozen=True)
class CellKey:
    """What a cell is about, on any runner: model, environment, device kind, route, check. The
    baseline's JSON keys are its :attr:`text` (``model|env|device|route|check``); keys order by
    that text."""

    model: str
    env: str
    device: str
    route: str
    check: str

    @property
    def text(self) -> str:
        return "|".join((self.model, self.env, self.device, self.route, self.check))

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: CellKey) -> bool:
        return self.text < other.text

    @classmethod
    def parse(cls, text: str, *, source: Path) -> CellKey:
        parts = text.split("|")
        if len(parts) != 5:
            raise ResultsError(
                f"Malformed cell key {text!r} in {source}: expected model|env|device|route|check. "
                f"Fix: restore the file from git or recreate it."
            )
        return cls(*parts)


@dataclass
class Cell:
    """The outcome of one check on (model, environment, device, route)."""

    model: str
    env: str
    device: str
    route: str
    spec: str
    check: str
    status: str
    detail: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: the runner's hardware fingerprint id (``cpu-0bbfdbc7``); its details are in
    #: ``provenance["hardware"]``. Not part of :attr:`key`: the baseline holds on any runner.
    fingerprint: str = ""

    @property
    def key(self) -> CellKey:
        return CellKey(self.model, self.env, self.device, self.route, self.check)

    @property
    def run_key(self) -> tuple[CellKey, str]:
        """:attr:`key` and the fingerprint: one cell per runner in a merged matrix."""
        return self.key, self.fingerprint

    @property
    def runner_label(self) -> str:
        """What names this cell's runner in file names: the fingerprint, else the device."""
        return self.fingerprint or self.device

    @property
    def kind(self) -> str:
        """``pass``, ``mismatch``, ``error``, ``limitation``, ``skipped`` or ``not-produced``."""
        return self.status.split(":", 1)[0]

    def to_json(self) -> dict[str, Any]:
        """The cell's fields; the nested ``numbers`` and ``provenance`` are the cell's own, not
        copies (every caller serialises the dict or replaces a key: ``dataclasses.asdict``
        deep-copied 43,000 cells' provenance in one gate, a third of its time)."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: Any, *, source: Path) -> Cell:
        if not isinstance(data, dict):
            raise ResultsError(
                f"Malformed cell in {source}: a JSON {json_type(data)}, expected an object. "
                f"Fix: regenerate the results file by rerunning its environment."
            )
        try:
            cell = cls(**data)
        except TypeError as exc:
            raise ResultsError(
                f"Malformed cell in {source}: {exc}. Received keys: {sorted(data)}. "
                f"Fix: regenerate the results file by rerunning its environment."
            ) from None
        problem = _type_problem(data)
        if problem:
            raise ResultsError(
                f"Malformed cell in {source}: {problem}. Fix: regenerate the results file by "
                f"rerunning its environment."
            )
        if not STATUS_RE.fullmatch(cell.status):
            raise ResultsError(
                f"Unknown cell status {cell.status!r} in {source}. Fix: use pass, mismatch, "
                f"error:<Type>, limitation:<id>, skipped:<reason> or not-produced:<step>."
            )
        return cell


#: the fields of a cell, in order (its JSON form)
_FIELDS = tuple(f.name for f in fields(Cell))


#: what the renderings take from a cell, and the JSON types they need
_TEXT_FIELDS = ("model", "env", "device", "route", "spec", "check", "status", "detail")
_NUMBER_KEYS = ("max_abs_diff", "max_ulp", "mismatches", "total")
_PROVENANCE_OBJECTS = ("versions", "hardware")


def numbers_problem(numbers: dict[str, Any]) -> str | None:
    """What in a cell's ``numbers`` the renderings cannot format, or None."""
    for key in _NUMBER_KEYS:
        value = numbers.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"numbers.{key} is a JSON {json_type(value)}, expected a number"
    return None


def _type_problem(data: dict[str, Any]) -> str | None:
    """What in a cell's JSON is of the wrong type for the renderings, or None."""
    for name in (*_TEXT_FIELDS, "fingerprint"):
        if name in data and not isinstance(data[name], str):
            return f"{name} is a JSON {json_type(data[name])}, expected a string"
    for name in ("numbers", "provenance"):
        if name in data and not isinstance(data[name], dict):
            return f"{name} is a JSON {json_type(data[name])}, expected an object"
    problem = numbers_problem(data.get("numbers", {}))
    if problem:
        return problem
    provenance = data.get("provenance", {})
    for key in _PROVENANCE_OBJECTS:
        if key in provenance and not isinstance(provenance[key], dict):
            return f"provenance.{key} is a JSON {json_type(provenance[key])}, expected an object"
    lineage = provenance.get("lineage", [])
    if not isinstance(lineage, list) or not all(isinstance(hop, dict) for hop in lineage):
        return "provenance.lineage must be an array of objects"
    return None


def write_results(
    path: Path, *, env: str, device: str, run: dict[str, Any], cells: list[Cell]
) -> None:
    data = {
        "schema": RESULTS_SCHEMA,
        "env": env,
        "device": device,
        "run": run,
        "cells": [cell.to_json() for cell in sorted(cells, key=lambda c: c.run_key)],
    }
    write_json(path, data, indent=1)


def read_results(path: Path) -> list[Cell]:
    fix = "delete it and rerun its environment."
    data = check_schema(
        read_json(path, what="Results file", fix=fix, error=ResultsError),
        expected=RESULTS_SCHEMA,
        what="Results file",
        path=path,
        fix=fix,
        error=ResultsError,
    )
    cells = data.get("cells", [])
    if not isinstance(cells, list):
        raise ResultsError(
            f'Results file {path}: "cells" is a JSON {json_type(cells)}, expected an array of '
            f"cells. Fix: {fix}"
        )
    return [Cell.from_json(raw, source=path) for raw in cells]


def merge_into(
    path: Path, *, env: str, device: str, run: dict[str, Any], cells: list[Cell]
) -> None:
    """Replace the given cells in an existing results file (a partial run), under its lock."""
    from harness.core.atomic import lock_for

    with lock_for(path):
        merged = {cell.run_key: cell for cell in (read_results(path) if path.exists() else [])}
        merged.update({cell.run_key: cell for cell in cells})
        write_results(path, env=env, device=device, run=run, cells=list(merged.values()))
