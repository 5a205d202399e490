"""The committed LIMITATIONS.md, COMPAT.md and README's routes table are what the catalogue and
the measured baseline say (CI runs this: stale copies fail it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from harness.report.docs import ROUTES_BEGIN, ROUTES_END, expected_docs, replace_block

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", ["LIMITATIONS.md", "COMPAT.md", "README.md"])
def test_generated_docs_are_not_stale(name: str) -> None:
    expected = expected_docs(
        ROOT, ROOT / "harness.toml", ROOT / "limitations.toml", ROOT / "golden/baseline.json"
    )
    committed = (ROOT / name).read_text(encoding="utf-8")
    assert committed == expected[ROOT / name], (
        f"{name} is stale. Fix: run `keras-harness docs` (after `tox -e matrix -- "
        "--update-baseline` if the matrix changed) and commit it."
    )


def test_docs_check_fails_on_a_stale_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    for name in ("README.md", "LIMITATIONS.md", "COMPAT.md"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    args = [
        "--config",
        str(ROOT / "harness.toml"),
        "docs",
        "--root",
        str(tmp_path),
        "--limitations",
        str(ROOT / "limitations.toml"),
        "--baseline",
        str(ROOT / "golden/baseline.json"),
    ]
    assert main([*args, "--check"]) == 0
    (tmp_path / "COMPAT.md").write_text("old\n", encoding="utf-8")
    assert main([*args, "--check"]) == 1
    assert f"stale: {tmp_path / 'COMPAT.md'}. Fix: run `keras-harness docs`" in (
        capsys.readouterr().err
    )
    assert (tmp_path / "COMPAT.md").read_text(encoding="utf-8") == "old\n"  # --check writes nothing
    assert main(args) == 0
    assert main([*args, "--check"]) == 0


def test_a_readme_without_the_routes_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessError) as info:
        replace_block("# no block\n", "table", where=tmp_path / "README.md")
    assert str(info.value) == (
        f"{tmp_path / 'README.md'} has no generated routes block. Fix: add the two lines "
        f"{ROUTES_BEGIN!r} and {ROUTES_END!r} where the table belongs."
    )
