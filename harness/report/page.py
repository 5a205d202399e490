"""A self-contained HTML page of the matrix: no network, filters by model, environment, Keras
backend and status, and a details panel with each cell's numbers and provenance, why a failing
cell fails (every limitation that applies, with its evidence: :mod:`harness.report.summary`)
and, for a limitation, its title, evidence and workaround."""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from harness.core.results import CHECKS, SOURCE_CHECKS, Cell, CellKey
from harness.report.render import backend_of, compact, counts, sort_rows

COLOURS = {
    "pass": "#2e7d32",
    "limitation": "#1565c0",
    "mismatch": "#ef6c00",
    "error": "#c62828",
    "skipped": "#757575",
    "not-produced": "#8d6e63",
}

TEMPLATE = "templates/matrix.html"


def cell_label(cell: Cell) -> str:
    """Plain text for a table cell (no emoji: fonts without them show boxes)."""
    if cell.kind == "pass":
        if cell.check in ("predict", "evaluate", "replay", "expected"):
            if cell.numbers.get("mismatches", 0) == 0:
                return "bitwise"
            return f"≤{cell.numbers.get('max_ulp', 0)} ULP"
        if cell.check == "metrics" and ":" in cell.detail:
            return cell.detail.split(":", 1)[0]
        return "pass"
    return cell.status.split(":", 1)[1] if ":" in cell.status else cell.status


def _options(values: list[str]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)


def render_html(
    cells: list[Cell],
    *,
    route_order: list[str] | None = None,
    why: dict[tuple[CellKey, str], str] | None = None,
    limitations: dict[str, dict[str, str]] | None = None,
) -> str:
    """The page; ``why``: each failing cell's explanation by its run key, ``limitations``: the
    catalogue's entries (title, evidence, workaround) by id."""
    ordered = sort_rows(cells, route_order)
    _, rows = compact(ordered)
    why = why or {}
    used = {cell.status.split(":", 1)[1] for cell in cells if cell.kind == "limitation"}
    payload: dict[str, Any] = {
        "colours": COLOURS,
        "checks": list(CHECKS + SOURCE_CHECKS),
        "limitations": {k: v for k, v in sorted((limitations or {}).items()) if k in used},
        "cells": [
            {
                **row,
                "kind": cell.kind,
                "backend": backend_of(cell),
                "text": cell_label(cell),
                "index": index,
                **({"why": why[cell.run_key]} if why.get(cell.run_key) else {}),
            }
            for index, (cell, row) in enumerate(zip(ordered, rows, strict=True))
        ],
    }
    data = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")
    kinds = counts(cells)
    badges = "".join(
        f'<span class="count" style="background:{COLOURS[kind]}">{kind}: {kinds[kind]}</span>'
        for kind in kinds
    )
    replacements = {
        "__TOTAL__": str(len(cells)),
        "__COUNTS__": badges,
        "__MODELS__": _options(sorted({c.model for c in cells})),
        "__ENVS__": _options(sorted({f"{c.env}-{c.fingerprint or c.device}" for c in cells})),
        "__KINDS__": _options([k for k in kinds if kinds[k]]),
        "__BACKENDS__": _options(sorted({backend_of(c) for c in cells})),
        "__HEAD__": "".join(f"<th>{html.escape(check)}</th>" for check in CHECKS + SOURCE_CHECKS),
        "__DATA__": data,
    }
    page = resources.files("harness").joinpath(TEMPLATE).read_text("utf-8")
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page
