from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.errors import LimitationsError
from harness.core.limitations import Observation, load_catalogue

ROOT = Path(__file__).parent.parent

CATALOGUE = """
[[limitation]]
id = "optimizer-state-lost"
title = "t"
workaround = "w"
source = "s"
[limitation.applies_to]
environments = ["tf216*"]
routes = ["chain"]
checks = ["optimizer-state"]
[limitation.evidence]
outcome = "optimizer-state-lost"

[[limitation]]
id = "keras-file-unreadable"
title = "t"
workaround = "w"
source = "s"
[limitation.applies_to]
environments = ["tf215", "tf216"]
routes = ["direct-keras"]
[limitation.evidence]
exception = ["TypeError", "ValueError"]
message = "could not be deserialized"
"""


def test_matching_by_scope_and_evidence(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text(CATALOGUE)
    catalogue = load_catalogue(path)
    found = catalogue.applicable(env="tf216", route="chain", model="m", check="optimizer-state")
    assert [entry.id for entry in found] == ["optimizer-state-lost"]
    assert found[0].explains(Observation("optimizer-state-lost"))
    assert not found[0].explains(Observation("optimizer-state-changed"))
    assert catalogue.applicable(env="tf213", route="chain", model="m", check="load") == []
    unreadable = catalogue.get("keras-file-unreadable")
    assert unreadable.applies(env="tf215", route="direct-keras", model="any", check="predict")
    assert unreadable.explains(Observation("error", "TypeError", "x could not be deserialized y"))
    assert not unreadable.explains(Observation("error", "KeyError", "could not be deserialized"))
    assert unreadable.describe_evidence() == (
        "exception='TypeError' or 'ValueError', message='could not be deserialized'"
    )


def test_missing_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text('[[limitation]]\nid = "x"\ntitle = "t"\nsource = "s"\n')
    with pytest.raises(LimitationsError) as info:
        load_catalogue(path)
    assert str(info.value) == (
        f"[[limitation]] #1 in {path} needs a non-empty 'workaround'. Received: None. "
        'Fix: add workaround = "...".'
    )


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text(CATALOGUE + CATALOGUE.split("[[limitation]]")[1].join(["[[limitation]]", ""]))
    with pytest.raises(LimitationsError, match="Duplicate limitation id 'optimizer-state-lost'"):
        load_catalogue(path)


def test_the_projects_catalogue_loads() -> None:
    catalogue = load_catalogue(ROOT / "limitations.toml")
    assert "optimizer-state-lost" in {entry.id for entry in catalogue.entries}


def test_keras_generation_selectors(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text(CATALOGUE.replace('environments = ["tf216*"]', 'environments = ["@keras3"]'))
    entry = load_catalogue(path).get("optimizer-state-lost")
    assert entry.applies(env="tf221", route="chain", model="m", check="optimizer-state", keras=3)
    assert not entry.applies(
        env="tf215", route="chain", model="m", check="optimizer-state", keras=2
    )
    assert not entry.applies(env="tf221", route="chain", model="m", check="optimizer-state")


@pytest.mark.parametrize(("scope", "pattern"), [("environments", "@keras4"), ("routes", "@keras3")])
def test_an_unknown_selector_is_refused(tmp_path: Path, scope: str, pattern: str) -> None:
    path = tmp_path / "l.toml"
    text = CATALOGUE.replace('environments = ["tf216*"]', f'{scope} = ["{pattern}"]', 1)
    if scope == "routes":
        text = text.replace('routes = ["chain"]\n', "", 1)
    path.write_text(text)
    with pytest.raises(LimitationsError) as info:
        load_catalogue(path)
    assert str(info.value) == (
        f"[[limitation]] #1 in {path} (optimizer-state-lost): unknown selector {pattern!r} in "
        f"applies_to.{scope}. Fix: use '@keras2', '@keras3', '@tensorflow', '@jax', '@torch' in "
        f"environments only."
    )
