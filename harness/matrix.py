"""The compatibility matrix: merge results, render them, and gate against a baseline (a ratchet).

The gate is strict: any cell whose status differs from the baseline fails it. A pass that became
anything else (or disappeared) is a regression; a non-pass that became a pass is an unexpected
improvement, which fails until the baseline is updated with ``--update-baseline``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.atomic import write_json
from harness.errors import ResultsError
from harness.results import CHECKS, Cell, read_results

BASELINE_SCHEMA = 1
UPDATE_COMMAND = "tox -e matrix -- --update-baseline"
DETAIL_CHARS = 240


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
            if cell.key in cells:
                other, other_path = cells[cell.key]
                if (other.status, other.numbers) != (cell.status, cell.numbers):
                    raise ResultsError(
                        f"Conflicting results for cell {cell.key}: {other.status} in "
                        f"{other_path} and {cell.status} in {path}. Fix: delete the stale "
                        f"file and rerun its environment."
                    )
                continue
            cells[cell.key] = (cell, path)
    return [cells[key][0] for key in sorted(cells)]


@dataclass
class GateReport:
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.regressions or self.improvements or self.new)

    def render(self) -> str:
        lines: list[str] = []
        for title, items in (
            ("Regressions", self.regressions),
            ("Unexpected improvements", self.improvements),
            ("New cells (not in the baseline)", self.new),
            ("Numeric drift in passing cells", self.drift),
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
    return {
        "schema": BASELINE_SCHEMA,
        "update_with": UPDATE_COMMAND,
        "cells": {c.key: {"status": c.status, "numbers": c.numbers} for c in cells},
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
    current = {cell.key: cell for cell in cells}
    for key in sorted(set(baseline) | set(current)):
        before = baseline.get(key, {}).get("status")
        cell = current.get(key)
        now = cell.status if cell else None
        if before == now:
            if cell is not None and cell.status == "pass":
                old = baseline[key].get("numbers", {})
                if old != cell.numbers:
                    report.drift.append(f"{key}: {old} -> {cell.numbers}")
            continue
        detail = f" ({cell.detail})" if cell is not None and cell.detail else ""
        if before is None:
            report.new.append(f"{key}: {now}{detail}")
        elif now is None:
            report.regressions.append(f"{key}: {before} -> missing")
        elif now == "pass":
            report.improvements.append(f"{key}: {before} -> pass")
        else:
            report.regressions.append(f"{key}: {before} -> {now}{detail}")
    return report


# ---------------------------------------------------------------- rendering
_ICONS = {"pass": "✅", "limitation": "📘", "mismatch": "❌", "error": "💥", "skipped": "⏭️"}


def cell_text(cell: Cell) -> str:
    icon = _ICONS[cell.kind]
    if cell.kind == "pass":
        if cell.check in ("predict", "evaluate"):
            ulp = cell.numbers.get("max_ulp", 0)
            if cell.numbers.get("mismatches", 0) == 0:
                return f"{icon} bitwise"
            return f"{icon} ≤{ulp} ULP"
        if cell.check == "metrics" and ":" in cell.detail:
            return f"{icon} {cell.detail.split(':', 1)[0]}"
        return icon
    if cell.kind == "limitation":
        return f"{icon} `{cell.status.split(':', 1)[1]}`"
    if cell.kind == "error":
        return f"{icon} `{cell.status.split(':', 1)[1]}`"
    if cell.kind == "mismatch":
        return f"{icon} mismatch"
    return f"{icon} {cell.status.split(':', 1)[1]}"


def render_markdown(
    cells: list[Cell],
    *,
    titles: dict[str, str] | None = None,
    route_order: list[str] | None = None,
) -> str:
    titles = titles or {}
    models = sorted({c.model for c in cells})
    lines = [
        "# Compatibility matrix",
        "",
        "Generated by `keras-harness matrix` from the measured results; do not edit by hand.",
        "",
        "Legend: ✅ pass (predict/evaluate: `bitwise`, or `≤N ULP` within a declared tolerance), "
        "📘 documented limitation, ❌ mismatch, 💥 error, ⏭️ skipped (never counts as a pass).",
        "",
    ]
    envs = sorted({(c.env, c.device) for c in cells})
    lines += ["## Environments", "", "| environment | device | TensorFlow | Keras | numpy |"]
    lines.append("|---|---|---|---|---|")
    for env, device in envs:
        sample = next(c for c in cells if (c.env, c.device) == (env, device))
        versions = sample.provenance.get("versions", {})
        lines.append(
            f"| {env} | {device} ({sample.provenance.get('device_name', device)}) | "
            f"{versions.get('tensorflow', '?')} | {versions.get('keras', '?')} | "
            f"{versions.get('numpy', '?')} |"
        )
    lines.append("")
    for model in models:
        lines += [f"## {model}", "", "| environment | route (spec) | " + " | ".join(CHECKS) + " |"]
        lines.append("|---|---|" + "---|" * len(CHECKS))
        rank = {name: index for index, name in enumerate(route_order or [])}
        rows = sorted(
            {(c.env, c.device, c.route, c.spec) for c in cells if c.model == model},
            key=lambda row: (row[0], row[1], rank.get(row[2], len(rank)), row[2]),
        )
        for env, device, route, spec in rows:
            by_check = {
                c.check: c
                for c in cells
                if (c.model, c.env, c.device, c.route) == (model, env, device, route)
            }
            texts = [cell_text(by_check[ch]) if ch in by_check else "—" for ch in CHECKS]
            lines.append(f"| {env}-{device} | {route} ({spec}) | " + " | ".join(texts) + " |")
        lines.append("")
    details = [
        c
        for c in cells
        if (c.kind != "pass" or (c.numbers.get("mismatches") or 0) > 0)
        and "not run, load failed" not in c.detail
    ]
    if details:
        lines += [
            "## Details",
            "",
            "Cells that are not a bitwise pass (checks not run because "
            "the load failed are left out: the load cell says why).",
            "",
        ]
        for c in details:
            text = c.detail.replace("\n", " ").replace("|", "\\|")
            if len(text) > DETAIL_CHARS:
                text = text[:DETAIL_CHARS] + " …"
            lines.append(
                f"- `{c.model}` {c.env}-{c.device} {c.route} {c.check}: **{c.status}** — {text}"
            )
        lines.append("")
    used = sorted({c.status.split(":", 1)[1] for c in cells if c.kind == "limitation"})
    if used:
        lines += ["## Limitations seen", ""]
        for limitation_id in used:
            lines.append(f"- `{limitation_id}`: {titles.get(limitation_id, '')}")
        lines.append("")
    return "\n".join(lines)


def write_matrix_json(path: Path, cells: list[Cell]) -> None:
    write_json(path, {"schema": BASELINE_SCHEMA, "cells": [c.to_json() for c in cells]}, indent=1)
