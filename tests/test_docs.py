"""The committed LIMITATIONS.md is what the catalogue and the measured baseline say."""

from __future__ import annotations

from pathlib import Path

from harness.docs import render_limitations
from harness.limitations import load_catalogue
from harness.matrix import read_baseline

ROOT = Path(__file__).parent.parent


def test_limitations_md_is_not_stale() -> None:
    expected = render_limitations(
        load_catalogue(ROOT / "limitations.toml"), read_baseline(ROOT / "golden/baseline.json")
    )
    committed = (ROOT / "LIMITATIONS.md").read_text(encoding="utf-8")
    assert committed == expected, (
        "LIMITATIONS.md is stale. Fix: run `keras-harness docs` (after `tox -e matrix -- "
        "--update-baseline` if the matrix changed) and commit it."
    )
