"""Classification of observations into cells (no TensorFlow: the device is given)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.config import load_config
from harness.core.limitations import Observation, load_catalogue
from harness.core.registry import Registry
from harness.verify.session import Item, Verifier

ROOT = Path(__file__).parent.parent
EXTRA = """
[[limitation]]
id = "maybe-broken"
title = "t"
workaround = "w"
source = "s"
strict = false
[limitation.applies_to]
environments = ["tf216"]
routes = ["direct-h5"]
[limitation.evidence]
exception = "ValueError"
message = "boom"

[[limitation]]
id = "also-boom"
title = "t"
workaround = "w"
source = "s"
strict = false
[limitation.applies_to]
environments = ["tf216"]
routes = ["direct-h5"]
models = ["twice"]
[limitation.evidence]
message = "boom"
"""


@pytest.fixture
def verifier(tmp_path: Path) -> Verifier:
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir()
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "m": {"paths": {"2.13.keras": "models/m.keras"}},
                    "twice": {"paths": {"2.13.keras": "models/t.keras"}},
                }
            }
        )
    )
    catalogue = tmp_path / "limitations.toml"
    catalogue.write_text((ROOT / "limitations.toml").read_text() + EXTRA)
    result = Verifier(
        config=load_config(ROOT / "harness.toml"),
        registry=Registry.load(registry),
        catalogue=load_catalogue(catalogue),
        env="tf216",
        build_dir=tmp_path / "build",
    )
    result.runner._device = ("cpu", "test-cpu")
    return result


def test_a_pass_is_a_pass(verifier: Verifier) -> None:
    verdict = verifier.classify(Item("m", "chain", "2.16.keras", "predict"), None, "bitwise", {})
    assert verdict.ok and verdict.cell.status == "pass"
    assert verdict.cell.provenance["device_name"] == "test-cpu"
    assert [hop["spec"] for hop in verdict.cell.provenance["lineage"]] == [
        "2.13.keras",
        "2.13.h5",
        "2.15.h5",
        "2.16.keras",
    ]


def test_a_documented_limitation_is_asserted(verifier: Verifier) -> None:
    item = Item("m", "chain-h5", "2.15.h5", "optimizer-state")
    verdict = verifier.classify(item, Observation("optimizer-state-lost", "", "fresh"), "", {})
    assert verdict.ok and verdict.cell.status == "limitation:optimizer-state-lost"


def test_a_strict_limitation_that_stops_happening_fails(verifier: Verifier) -> None:
    item = Item("m", "chain-h5", "2.15.h5", "optimizer-state")
    verdict = verifier.classify(item, None, "12/12 slot variables identical", {})
    assert not verdict.ok and verdict.cell.status == "pass"
    first, *explanation = verdict.message.split("\n")
    assert first == (
        "m-2.15.h5-optimizer-state: pass: documented limitation optimizer-state-lost no longer "
        "happens here (the check passed: 12/12 slot variables identical). Fix: update its "
        "applies_to in limitations.toml."
    )
    assert explanation[1].startswith(
        f"    - optimizer-state-lost (strict, {verifier.catalogue.path})"
    )


def test_a_non_strict_limitation_may_not_happen(verifier: Verifier) -> None:
    verdict = verifier.classify(Item("m", "direct-h5", "2.13.h5", "load"), None, "loaded", {})
    assert verdict.ok and verdict.cell.status == "pass"


def test_an_unexplained_error_fails_with_its_type(verifier: Verifier) -> None:
    item = Item("m", "savedmodel", "2.13.savedmodel", "load")
    verdict = verifier.classify(item, Observation("error", "KeyError", "'x'"), "", {})
    assert not verdict.ok and verdict.cell.status == "error:KeyError"
    assert verdict.message.split("\n")[:3] == [
        "m-2.13.savedmodel-load: error:KeyError: 'x' [no limitation applies]",
        "  observed: KeyError: 'x'",
        f"  limitations of {verifier.catalogue.path} that apply here (environment tf216, route "
        "savedmodel, model m, check load): 0",
    ]


def test_an_error_that_matches_no_applicable_entry_names_them(verifier: Verifier) -> None:
    item = Item("m", "direct-h5", "2.13.h5", "evaluate")
    verdict = verifier.classify(item, Observation("error", "KeyError", "nope"), "", {})
    assert not verdict.ok
    first, *explanation = verdict.message.split("\n")
    assert (
        first
        == "m-2.13.h5-evaluate: error:KeyError: nope [15 limitations apply here, none matches]"
    )
    assert (
        "    - maybe-broken: exception='ValueError', message='boom' (exception and message differ)"
        in explanation
    )


def test_an_observation_explained_twice_fails(verifier: Verifier) -> None:
    item = Item("twice", "direct-h5", "2.13.h5", "load")
    verdict = verifier.classify(item, Observation("error", "ValueError", "boom"), "", {})
    assert not verdict.ok and verdict.cell.status == "error:ValueError"
    assert verdict.message.split("\n")[0] == (
        "twice-2.13.h5-load: error:ValueError: boom [explained by more than one limitation: "
        "maybe-broken, also-boom]"
    )


def test_a_mismatch_without_exception(verifier: Verifier) -> None:
    item = Item("m", "chain", "2.16.keras", "metrics")
    text = "missing metric 'mae' (model reports: loss, mean_absolute_error)"
    verdict = verifier.classify(item, Observation("metrics-missing", "", text), text, {})
    assert not verdict.ok and verdict.cell.status == "mismatch"
    assert verdict.cell.detail == text


def test_classification_is_a_pure_function_of_the_outcome_and_the_catalogue() -> None:
    from harness.verify.classify import Classification, classify

    catalogue = load_catalogue(ROOT / "limitations.toml")
    lost = catalogue.get("optimizer-state-lost")
    assert classify("i", None, "bitwise", [], Path("l.toml")) == Classification(
        "pass", "bitwise", True
    )
    assert classify(
        "i", Observation("optimizer-state-lost", "", "fresh"), "", [lost], Path("l.toml")
    ) == Classification("limitation:optimizer-state-lost", "fresh", True)
    assert classify("i", None, "12/12", [lost], Path("l.toml")) == Classification(
        "pass",
        "12/12",
        False,
        "i: pass: documented limitation optimizer-state-lost no longer happens here (the check "
        "passed: 12/12). Fix: update its applies_to in l.toml.",
        "  the check passed: 12/12\n"
        "    - optimizer-state-lost (strict, l.toml): applies_to environments = ['@keras3']; "
        "routes = ['direct-h5', 'chain-h5']; models = ['*']; "
        "checks = ['optimizer-state']",
    )


def test_every_check_is_one_class() -> None:
    from harness.core.results import CHECKS, SOURCE_CHECKS
    from harness.verify.checks import CHECK_TYPES

    assert sorted(CHECK_TYPES) == sorted(CHECKS + SOURCE_CHECKS)
    no_model = [name for name, kind in CHECK_TYPES.items() if not kind.needs_model]
    assert no_model == ["replay", "expected", "names"]


def test_a_model_that_took_its_train_step_is_loaded_again_by_a_later_check(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.verify import loading

    opened: list[object] = []

    def open_model(*args: object) -> object:
        opened.append(object())
        return opened[-1]

    monkeypatch.setattr(loading, "open_model", open_model)
    route = loading.route_named(verifier.config, "direct-keras")
    first = verifier.load("m", route)
    assert verifier.load("m", route) is first and len(opened) == 1  # one load per route
    first.trained = True  # the train step keeps its weights (no restore): the file is read again
    again = verifier.load("m", route)
    assert again is not first and again.model is opened[1] and not again.trained
    assert verifier.load("m", route) is again and len(opened) == 2
