"""The compatibility matrix: merge results, render them, and gate against a baseline (a ratchet).

The gate is strict: any cell whose status differs from the baseline fails it. A pass that became
anything else (or disappeared) is a regression; a non-pass that became a pass is an unexpected
improvement, which fails until the baseline is updated with ``--update-baseline``.

The baseline holds on any runner: its keys name no hardware. A merged matrix may hold the same
cell from runners of several hardware fingerprints; each of them must match the baseline's
status, and a baseline cell is missing only when no runner produced it. Numbers (ULP distances)
that move without a change of status are drift, reported, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ResultsError
from harness.core.files import json_type, read_json, schema_of
from harness.core.results import STATUS_RE, Cell, CellKey, numbers_problem, read_results

BASELINE_SCHEMA = 1
UPDATE_COMMAND = "tox -e matrix -- --update-baseline"


def merge(paths: list[Path]) -> list[Cell]:
    """Merge results files; identical duplicates collapse, conflicting ones are refused."""
    if not paths:
        raise ResultsError(
            "No results files to merge. Received: an empty list. Fix: run the verification "
            "environments first (e.g. tox -e tf213,tf215,tf216)."
        )
    cells: dict[tuple[CellKey, str], tuple[Cell, Path]] = {}
    for path in sorted(paths):
        for cell in read_results(path):
            if cell.run_key in cells:
                other, other_path = cells[cell.run_key]
                if (other.status, other.numbers) != (cell.status, cell.numbers):
                    raise ResultsError(
                        f"Conflicting results for cell {cell.key} on runner "
                        f"{cell.fingerprint or cell.device}: {other.status} in {other_path} and "
                        f"{cell.status} in {path}. Fix: delete the stale file and rerun its "
                        f"environment."
                    )
                continue
            cells[cell.run_key] = (cell, path)
    return [cells[key][0] for key in sorted(cells)]


@dataclass(frozen=True)
class Change:
    """One cell that differs from the baseline: its key, its runner (shown when several ran),
    the status before and now (None: absent), and for new and worse cells the detail."""

    key: CellKey
    runner: str
    before: str | None
    now: str | None
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.key}|{self.runner}" if self.runner else str(self.key)

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        if self.before is None:
            return f"{self.label}: {self.now}{detail}"
        return f"{self.label}: {self.before} -> {self.now or 'missing'}{detail}"


@dataclass
class GateReport:
    changes: list[Change] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    hardware: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[str]:
        return [str(c) for c in self.changes if c.before is not None and c.now != "pass"]

    @property
    def improvements(self) -> list[str]:
        return [str(c) for c in self.changes if c.before is not None and c.now == "pass"]

    @property
    def new(self) -> list[str]:
        return [str(c) for c in self.changes if c.before is None]

    @property
    def ok(self) -> bool:
        return not self.changes

    def render(self) -> str:
        lines: list[str] = []
        tally: dict[str, dict[str, int]] = {}
        for change in self.changes:
            if change.before is None and change.now is not None:
                kinds = tally.setdefault(f"{change.key.env}-{change.key.device}", {})
                kind = change.now.split(":", 1)[0]
                kinds[kind] = kinds.get(kind, 0) + 1
        for env, kinds in sorted(tally.items()):
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            lines.append(f"New in {env}: {sum(kinds.values())} cells ({parts})")
        for title, items in (
            ("Regressions", self.regressions),
            ("Unexpected improvements", self.improvements),
            ("New cells (not in the baseline)", self.new),
            ("Numeric drift in passing cells", self.drift),
            ("Hardware drift (golden vs this runner's replay of the source model)", self.hardware),
        ):
            if items:
                lines.append(f"{title} ({len(items)}):")
                lines.extend(f"  - {item}" for item in items)
        if not self.ok:
            lines.append(
                "The gate FAILED. If these changes are intended, update the baseline with: "
                f"{UPDATE_COMMAND}"
            )
        else:
            lines.append("The gate passed: every cell matches the baseline.")
        return "\n".join(lines)


Baseline = dict[CellKey, dict[str, Any]]


def baseline_from(cells: list[Cell]) -> dict[str, Any]:
    """The baseline of a merged matrix; runners that disagree on a cell's status are refused
    (the numbers kept are those of the first runner by fingerprint)."""
    chosen: dict[CellKey, Cell] = {}
    for cell in sorted(cells, key=lambda c: c.run_key):
        other = chosen.setdefault(cell.key, cell)
        if other.status != cell.status:
            raise ResultsError(
                f"Runners disagree on cell {cell.key}: {other.status} on "
                f"{other.fingerprint or other.device}, {cell.status} on "
                f"{cell.fingerprint or cell.device}. Fix: a status must not depend on the "
                f"hardware; look at both cells before updating the baseline."
            )
    return {
        "schema": BASELINE_SCHEMA,
        "update_with": UPDATE_COMMAND,
        "cells": {
            key.text: {"status": c.status, "numbers": c.numbers}
            for key, c in sorted(chosen.items())
        },
    }


def read_baseline(path: Path) -> Baseline:
    data = read_json(
        path,
        what="Baseline",
        fix=f"restore it from git or recreate it with {UPDATE_COMMAND}.",
        missing=f"review the matrix, then create it with {UPDATE_COMMAND}.",
        error=ResultsError,
    )
    fix = f"restore it from git or recreate it with {UPDATE_COMMAND}."
    if not isinstance(data, dict):
        raise ResultsError(
            f"Baseline {path} is a JSON {json_type(data)}, expected an object of schema "
            f"{BASELINE_SCHEMA}. Fix: {fix}"
        )
    if schema_of(data) != BASELINE_SCHEMA or not isinstance(data.get("cells"), dict):
        raise ResultsError(
            f"Baseline {path} has schema {schema_of(data)!r}, expected {BASELINE_SCHEMA}. "
            f"Fix: recreate it with {UPDATE_COMMAND}."
        )
    baseline: Baseline = {}
    for text, value in data["cells"].items():
        key = CellKey.parse(text, source=path)
        problem = _baseline_cell_problem(value)
        if problem:
            raise ResultsError(f"Baseline {path}: cell {text!r} {problem}. Fix: {fix}")
        baseline[key] = value
    return baseline


def _baseline_cell_problem(value: Any) -> str | None:
    """What is wrong with one baseline cell (``{"status": ..., "numbers": {...}}``), or None."""
    if not isinstance(value, dict):
        return f"is a JSON {json_type(value)}, expected an object"
    status = value.get("status")
    if not isinstance(status, str) or not STATUS_RE.fullmatch(status):
        return (
            f"has status {status!r}, expected pass, mismatch, error:<Type>, limitation:<id> "
            f"or skipped:<reason>"
        )
    numbers = value.get("numbers", {})
    if not isinstance(numbers, dict):
        return f"has numbers of type {json_type(numbers)}, expected an object"
    problem = numbers_problem(numbers)
    return f"has {problem}" if problem else None


def gate(cells: list[Cell], baseline: Baseline | dict[str, dict[str, Any]]) -> GateReport:
    """Every cell against the baseline (read by :func:`read_baseline`, or the ``cells`` of
    :func:`baseline_from` as written)."""
    baseline = {
        key if isinstance(key, CellKey) else CellKey.parse(key, source=Path("<baseline>")): value
        for key, value in baseline.items()
    }
    report = GateReport()
    current: dict[CellKey, list[Cell]] = {}
    for cell in cells:
        current.setdefault(cell.key, []).append(cell)
    several = len({cell.fingerprint for cell in cells}) > 1
    for key in sorted(set(baseline) | set(current)):
        before = baseline.get(key, {}).get("status")
        if key not in current:
            report.changes.append(Change(key, "", before, None))
            continue
        for cell in current[key]:
            runner = cell.fingerprint if several else ""
            now = cell.status
            if before == now:
                if now == "pass":
                    old = baseline[key].get("numbers", {})
                    if old != cell.numbers:
                        label = f"{key}|{runner}" if runner else str(key)
                        report.drift.append(f"{label}: {old} -> {cell.numbers}")
                continue
            worse = before is None or now != "pass"
            report.changes.append(Change(key, runner, before, now, cell.detail if worse else ""))
    report.hardware = hardware_drift(cells)
    return report


def hardware_drift(cells: list[Cell]) -> list[str]:
    """Each runner's ``replay`` cells: how far the golden is from this hardware's replay."""
    lines = []
    for cell in sorted((c for c in cells if c.check == "replay"), key=lambda c: c.run_key):
        numbers = cell.numbers
        if cell.status == "pass" and not numbers.get("mismatches"):
            amount = "bitwise"
        else:
            amount = (
                f"{numbers.get('mismatches', '?')}/{numbers.get('total', '?')} values differ, "
                f"max {numbers.get('max_ulp', '?')} ULP, max abs diff "
                f"{numbers.get('max_abs_diff', 0):.2g}"
            )
        lines.append(f"{cell.model} on {cell.fingerprint or cell.device}: {cell.status}, {amount}")
    return lines
