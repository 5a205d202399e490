"""RELIABILITY.md stays true: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_row_names_a_test_that_exists() -> None:
    text = (ROOT / "RELIABILITY.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "::test_" in line]
    assert len(rows) >= 20
    for row in rows:
        for node in re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", row):
            path, name = ROOT / node[0], node[1]
            assert path.exists(), f"RELIABILITY.md names a missing file: {node[0]}"
            assert re.search(rf"^def {name}\(", path.read_text(), re.M), (
                f"RELIABILITY.md names a missing test: {node[0]}::{name}"
            )
        for name in re.findall(r"`(test_\w+)`", row):  # other tests of the same file
            path = ROOT / re.findall(r"`(tests/[\w/]+\.py)::", row)[0]
            assert re.search(rf"^def {name}\(", path.read_text(), re.M), (path, name)
