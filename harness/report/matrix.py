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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ResultsError
from harness.core.results import Cell, read_results

BASELINE_SCHEMA = 1
UPDATE_COMMAND = "tox -e matrix -- --update-baseline"


def merge(paths: list[Path]) -> list[Cell]:
    """Merge results files; identical duplicates collapse, conflicting ones are refused."""
    if not paths:
        raise ResultsError(
            "No results files to merge. Received: an empty list. Fix: run the verification "
            "environments first (e.g. tox -e tf213,tf215,tf216)."
        )
    cells: dict[str, tuple[Cell, Path]] = {}
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


@dataclass
class GateReport:
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    hardware: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.regressions or self.improvements or self.new)

    def render(self) -> str:
        lines: list[str] = []
        if self.new:
            tally: dict[str, dict[str, int]] = {}
            for item in self.new:
                key, status = item.split(": ", 2)[:2]
                env = "-".join(key.split("|")[1:3])
                kind = status.split(":", 1)[0].split(" ", 1)[0]
                tally.setdefault(env, {}).setdefault(kind, 0)
                tally[env][kind] += 1
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


def baseline_from(cells: list[Cell]) -> dict[str, Any]:
    """The baseline of a merged matrix; runners that disagree on a cell's status are refused
    (the numbers kept are those of the first runner by fingerprint)."""
    chosen: dict[str, Cell] = {}
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
            key: {"status": c.status, "numbers": c.numbers} for key, c in sorted(chosen.items())
        },
    }


def read_baseline(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(
            f"Baseline not found: {path}. Fix: review the matrix, then create it with "
            f"{UPDATE_COMMAND}."
        ) from None
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"Baseline {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Fix: restore it from git or recreate it with {UPDATE_COMMAND}."
        ) from None
    if data.get("schema") != BASELINE_SCHEMA or not isinstance(data.get("cells"), dict):
        raise ResultsError(
            f"Baseline {path} has schema {data.get('schema')!r}, expected {BASELINE_SCHEMA}. "
            f"Fix: recreate it with {UPDATE_COMMAND}."
        )
    cells: dict[str, dict[str, Any]] = data["cells"]
    return cells


def gate(cells: list[Cell], baseline: dict[str, dict[str, Any]]) -> GateReport:
    report = GateReport()
    current: dict[str, list[Cell]] = {}
    for cell in cells:
        current.setdefault(cell.key, []).append(cell)
    several = len({cell.fingerprint for cell in cells}) > 1
    for key in sorted(set(baseline) | set(current)):
        before = baseline.get(key, {}).get("status")
        if key not in current:
            report.regressions.append(f"{key}: {before} -> missing")
            continue
        for cell in current[key]:
            label = f"{key}|{cell.fingerprint}" if several and cell.fingerprint else key
            now = cell.status
            if before == now:
                if now == "pass":
                    old = baseline[key].get("numbers", {})
                    if old != cell.numbers:
                        report.drift.append(f"{label}: {old} -> {cell.numbers}")
                continue
            detail = f" ({cell.detail})" if cell.detail else ""
            if before is None:
                report.new.append(f"{label}: {now}{detail}")
            elif now == "pass":
                report.improvements.append(f"{label}: {before} -> pass")
            else:
                report.regressions.append(f"{label}: {before} -> {now}{detail}")
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
