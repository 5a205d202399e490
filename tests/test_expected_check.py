"""The ``expected`` check (no TensorFlow): what the user stated against what the source load
produced, its verdict, its classification, its cell and its place among the items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.core.compare import Tolerance
from harness.core.config import load_config
from harness.core.errors import ExpectedError
from harness.core.expected import Statement, attach, read_expected
from harness.core.limitations import Observation, load_catalogue
from harness.core.registry import Registry
from harness.core.stated import judge, name_differences, verdict
from harness.verify.classify import classify
from harness.verify.session import items_of
from tests.test_expected import npz, small_golden

ROOT = Path(__file__).parent.parent
CROSS = Tolerance(1e-5, 128, "cross-hardware")


# ------------------------------------------------------------------------------ the verdict
def test_identical_values_pass_with_their_distances() -> None:
    golden = small_golden({"loss": 0.5, "out_mae": 0.25})
    statement = Statement(
        [golden.predict[0].astype(np.float64)], {"loss": 0.5, "out_mae": 0.25}
    )  # float64, as JSON gives: compared in the model's float32
    assert judge(statement, golden.predict, golden.evaluate, CROSS, "b") == (
        None,
        "predict bitwise; evaluate bitwise (b)",
        {
            "max_abs_diff": 0.0,
            "max_ulp": 0,
            "mismatches": 0,
            "total": 4,
            "metric_name_differences": 0,
        },
    )


def test_a_re_prefixed_metric_is_a_rename_with_its_value_still_compared() -> None:
    golden = small_golden({"loss": 0.5, "out_out_mae": 0.25, "aux_aux_acc": 1.0})
    statement = Statement([], {"loss": 0.5, "out_mae": 0.25, "aux_acc": 1.0})
    observation, detail, numbers = judge(statement, [], golden.evaluate, CROSS, "b")
    assert detail == (
        "metric names re-prefixed by the source load: 'aux_acc' stated, 'aux_aux_acc' produced; "
        "'out_mae' stated, 'out_out_mae' produced; evaluate bitwise (re-prefixed names by their "
        "stated name) (b)"
    )
    assert observation == Observation("expected-metric-renamed", "", detail)
    assert numbers["metric_name_differences"] == 2 and numbers["total"] == 3
    # the value of a renamed metric is compared too: another value is a mismatch
    moved = Statement([], {"loss": 0.5, "out_mae": 0.3, "aux_acc": 1.0})
    observation, detail, _ = judge(moved, [], golden.evaluate, CROSS, "b")
    assert observation is not None and observation.outcome == "expected-mismatch"
    assert "1/3 values differ" in detail and "out_mae expected 0.30000001192092896" in detail


def test_names_stated_or_produced_alone_are_differences() -> None:
    assert name_differences(["loss", "val_mae", "out_mae"], ["loss", "mae", "out_out_mae"])[0] == (
        "metric names differ: 'val_mae' stated, not produced; 'mae' produced, not stated; "
        "'out_mae' stated, 'out_out_mae' produced (output prefix repeated)"
    )
    observation, detail, _ = judge(
        Statement([], {"loss": 0.5}), [], {"loss": 0.5, "mae": 0.1}, CROSS, "b"
    )
    assert observation == Observation("expected-metric-renamed", "", detail)
    assert detail == "metric names differ: 'mae' produced, not stated; evaluate bitwise (b)"
    assert judge(Statement([], {"acc": 1.0}), [], {"loss": 0.5}, CROSS, "b")[1] == (
        "metric names differ: 'acc' stated, not produced; 'loss' produced, not stated; "
        "evaluate: no metric name in common (b)"
    )


def test_predictions_are_judged_under_the_tolerance() -> None:
    produced = [np.array([[1.0], [2.0]], np.float32)]
    drift = [np.nextafter(produced[0], np.float32(3), dtype=np.float32)]
    observation, detail, _ = judge(Statement(drift), produced, {}, CROSS, "b")
    assert observation is None and detail.startswith("predict 2/2 values differ (100.0%)")
    observation, detail, _ = judge(Statement(drift), produced, {}, Tolerance(), "b")
    assert observation is not None and observation.outcome == "expected-mismatch"
    two = [produced[0], produced[0]]
    observation, detail, _ = judge(Statement(two), produced, {}, CROSS, "b")
    assert observation is not None and detail == "predict expected 2 outputs, got 1 (b)"


# ------------------------------------------------------------------------------ the check
def registry_with(tmp_path: Path, entry: dict[str, Any]) -> Registry:
    path = tmp_path / "models" / "model_registry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": {"m": {"paths": {"2.13.keras": "m.keras"}, **entry}}}))
    return Registry.load(path)


def test_the_check_runs_on_what_the_golden_recorded(tmp_path: Path) -> None:
    stated = tmp_path / "expected" / "m.json"
    stated.parent.mkdir()
    stated.write_text('{"evaluate": {"loss": 0.5, "out_mae": 0.25}}')
    registry = registry_with(tmp_path, {"expected": "expected/m.json"})
    golden = small_golden()
    hint = "tox -e tf213 -- --golden-regen --model m"
    message = (
        f"the golden of 'm' was recorded without its expected file {stated}. Fix: record it: "
        f"{hint}."
    )
    assert verdict(registry, "m", golden, CROSS, regenerate=hint) == (
        Observation("expected-not-recorded", "", message),
        message,
        {},
    )
    attach(golden, read_expected(stated), file="expected/m.json", path=stated)
    observation, detail, _ = verdict(registry, "m", golden, CROSS, regenerate=hint)
    assert observation is not None and observation.outcome == "expected-metric-renamed"
    assert detail.endswith(
        "(stated in expected/m.json; cross-hardware tolerance max abs 1e-05 or 128 ULP)"
    )
    recorded_sha = golden.meta["expected"]["sha256"]
    stated.write_text('{"evaluate": {"loss": 0.5, "out_out_mae": 0.25}}')
    observation, detail, _ = verdict(registry, "m", golden, CROSS, regenerate=hint)
    assert observation is not None and observation.outcome == "expected-changed"
    assert detail.startswith(f"the expected file {stated} changed since the golden was recorded")
    assert detail.endswith(
        f"golden {recorded_sha[:12]}). Fix: restore the file, or record it again: {hint}."
    )


def test_a_declared_expected_tolerance_replaces_the_cross_hardware_one(tmp_path: Path) -> None:
    stated = npz(tmp_path / "m.npz", y=np.array([[0.1], [0.2]], np.float32))
    tolerance = {"max_ulp": 0, "reason": "the training runner is this one"}
    registry = registry_with(
        tmp_path, {"expected": str(stated), "tolerances": {"expected": tolerance}}
    )
    golden = small_golden()
    attach(golden, read_expected(stated), file=str(stated), path=stated)
    assert verdict(registry, "m", golden, CROSS, regenerate="r")[1] == (
        f"predict bitwise (stated in {stated}; the model's expected tolerance exact)"
    )


def test_an_expected_file_adds_one_cell_in_the_source_environment_only(tmp_path: Path) -> None:
    config = load_config(ROOT / "harness.toml")
    registry = registry_with(tmp_path, {"expected": "expected/m.json"})
    checks = [(i.route, i.check) for i in items_of(config, registry, "tf213")]
    assert checks[:3] == [("source", "golden"), ("source", "replay"), ("source", "expected")]
    assert checks.count(("source", "expected")) == 1
    assert not any(i.check == "expected" for i in items_of(config, registry, "tf216"))
    plain = registry_with(tmp_path / "plain", {})
    assert not any(i.check == "expected" for i in items_of(config, plain, "tf213"))


def test_an_unusable_expected_file_fails_the_golden_before_any_load(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from harness.source.recorder import check_golden

    stated = tmp_path / "expected" / "m.json"
    stated.parent.mkdir()
    stated.write_text('{"evaluate": {"loss": "low"}}')
    registry = registry_with(tmp_path, {"expected": "expected/m.json"})

    def never(*_: Any) -> None:
        raise AssertionError("the model was loaded")

    session = SimpleNamespace(
        registry=registry, golden_dir=tmp_path / "golden", env=None, open=never, config=None
    )
    with pytest.raises(ExpectedError) as info:
        check_golden(session, "m", None)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"Model 'm': expected file {stated}: the evaluate value 'loss' must be a number (got "
        '"low"). Fix: write the number that model.evaluate(..., return_dict=True) returned for '
        "it."
    )
    assert not (tmp_path / "golden").exists()


def test_the_rename_is_a_limitation_in_keras_2_and_fails_elsewhere() -> None:
    config = load_config(ROOT / "harness.toml")
    catalogue = load_catalogue(ROOT / "limitations.toml")
    renamed = Observation(
        "expected-metric-renamed",
        "",
        "metric names re-prefixed by the source load: 'out_mae' stated, 'out_out_mae' produced",
    )
    other = Observation("expected-metric-renamed", "", "metric names differ: 'mae' stated, ...")

    def status(env: str, observation: Observation) -> str:
        keras = config.environments[env].keras
        applicable = catalogue.applicable(
            env=env, route="source", model="m", check="expected", keras=keras
        )
        return classify("i", observation, "", applicable, catalogue.path).status

    assert status("tf213", renamed) == "limitation:source-load-renames-output-metrics"
    assert status("tf216-legacy", renamed) == "limitation:source-load-renames-output-metrics"
    assert status("tf216", renamed) == "mismatch"
    assert status("tf213", other) == "mismatch"
    mismatch = Observation("expected-mismatch", "", renamed.message)
    assert status("tf213", mismatch) == "mismatch"
