"""The metric names training reported, derived from a compile config by Keras 2's rules (no
TensorFlow), and the ``names`` check's verdict."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from harness.core.metric_names import (
    as_trained,
    compiled_names,
    drift_text,
    reported_names,
    training_pairs,
    verdict,
)

ROOT = Path(__file__).parent.parent


def mae_object(name: str) -> dict[str, Any]:
    return {
        "module": "keras.metrics",
        "class_name": "MeanAbsoluteError",
        "config": {"name": name, "dtype": "float32"},
        "registered_name": None,
    }


def test_one_output_keeps_the_strings_given() -> None:
    config = {"loss": "mse", "metrics": ["mae", "mse"]}
    assert reported_names(config, ["price"]) == ["loss", "mae", "mse"]


def test_several_outputs_prefix_losses_and_metrics_by_output() -> None:
    config = {
        "loss": {"price": "mse", "label": "sparse_categorical_crossentropy"},
        "metrics": {"price": ["mae"], "label": ["accuracy"]},
    }
    assert reported_names(config, ["price", "label"]) == [
        "loss",
        "price_loss",
        "label_loss",
        "price_mae",
        "label_accuracy",
    ]


def test_an_object_stored_under_its_prefixed_name_is_the_name_training_reported() -> None:
    """The file was saved after training: Keras 2 had already renamed the object."""
    config = {"loss": "mse", "metrics": {"out": [mae_object("out_mae")]}}
    assert reported_names(config, ["out", "aux"]) == ["loss", "out_loss", "aux_loss", "out_mae"]


def test_an_object_stored_before_training_gets_its_prefix() -> None:
    config = {"loss": {"out": "mse"}, "metrics": {"out": [mae_object("mae")]}}
    assert reported_names(config, ["out", "aux"]) == ["loss", "out_loss", "out_mae"]


def test_one_flat_list_applies_to_every_output() -> None:
    config = {"loss": ["mse", None], "metrics": ["mae"]}
    assert reported_names(config, ["a", "b"]) == ["loss", "a_loss", "a_mae", "b_mae"]


def test_a_list_of_lists_is_per_output_by_position() -> None:
    config = {"loss": "mse", "metrics": [["mae"], [mae_object("b_err")]]}
    assert reported_names(config, ["a", "b"]) == ["loss", "a_loss", "b_loss", "a_mae", "b_err"]


def test_weighted_metrics_of_a_taken_name_are_marked_weighted() -> None:
    one = {"loss": "mse", "metrics": ["mae"], "weighted_metrics": ["mae"]}
    assert reported_names(one, ["y"]) == ["loss", "mae", "weighted_mae"]
    two = {"loss": "mse", "metrics": {"a": ["mae"]}, "weighted_metrics": {"a": ["mae"]}}
    assert reported_names(two, ["a", "b"]) == [
        "loss",
        "a_loss",
        "b_loss",
        "a_mae",
        "a_weighted_mae",
    ]


@pytest.mark.parametrize(
    ("metric", "name"),
    [
        ("AUC", "auc"),
        ("MeanSquaredError", "mean_squared_error"),
        ("acc", "acc"),
        ({"class_name": "function", "config": "rmse"}, "rmse"),
        ({"class_name": "Precision", "config": {}}, "precision"),
    ],
)
def test_metric_names_by_kind(metric: Any, name: str) -> None:
    assert reported_names({"loss": "mse", "metrics": [metric]}, ["y"]) == ["loss", name]


def keras_file(path: Path, config: dict[str, Any]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


def two_heads(tmp_path: Path, compile_config: dict[str, Any] | None) -> Path:
    model: dict[str, Any] = {
        "class_name": "Functional",
        "config": {"name": "m", "layers": [], "output_layers": [["out", 0, 0], ["aux", 0, 0]]},
    }
    if compile_config is not None:
        model["compile_config"] = compile_config
    return keras_file(tmp_path / "two.keras", model)


def test_the_names_come_from_the_files_compile_config(tmp_path: Path) -> None:
    config = {"loss": "mse", "metrics": {"out": [mae_object("out_mae")]}}
    path = two_heads(tmp_path, config)
    assert compiled_names(path, 2) == ["loss", "out_loss", "aux_loss", "out_mae"]
    assert compiled_names(two_heads(tmp_path, None), 2) is None


def test_the_committed_goldens_report_the_names_their_files_compiled() -> None:
    """Every embedded case's source load reports what its compile config says, but two_heads,
    the case whose metric objects Keras 2 prefixes again on load."""
    drifted = {}
    for golden in sorted((ROOT / "golden").glob("*/golden.json")):
        meta = json.loads(golden.read_text())
        names = compiled_names(golden.parent / "model.2.13.keras", _outputs(golden.parent))
        if sorted(names or []) != sorted(meta["evaluate"]):
            drifted[golden.parent.name] = (names, list(meta["evaluate"]))
    assert drifted == {
        "two_heads": (
            ["loss", "out_loss", "aux_loss", "out_mae", "aux_acc"],
            ["loss", "out_loss", "aux_loss", "out_out_mae", "aux_aux_acc"],
        )
    }


def _outputs(folder: Path) -> int:
    import numpy as np

    with np.load(folder / "golden.npz") as data:
        return len([key for key in data.files if key[0] == "p" and key[1:].isdigit()])


def test_a_drift_is_observed_with_both_sets_of_names(tmp_path: Path) -> None:
    path = two_heads(tmp_path, {"loss": "mse", "metrics": {"out": [mae_object("out_mae")]}})
    observation, detail, numbers = verdict(
        path, 2, ["loss", "out_loss", "aux_loss", "out_out_mae"], "two.keras"
    )
    assert observation is not None and observation.outcome == "metric-names-drift"
    assert detail == (
        "metric names re-prefixed by the source load: 'out_mae' compiled, 'out_out_mae' "
        "produced; compiled: loss, out_loss, aux_loss, out_mae (compile config of two.keras)"
    )
    assert numbers == {"metric_name_differences": 1}


def test_names_that_agree_pass_and_say_which(tmp_path: Path) -> None:
    path = two_heads(tmp_path, {"loss": "mse", "metrics": {"out": ["mae"]}})
    observation, detail, _ = verdict(
        path, 2, ["loss", "out_loss", "aux_loss", "out_mae"], "two.keras"
    )
    assert observation is None
    assert (
        detail
        == "names as compiled: loss, out_loss, aux_loss, out_mae (compile config of two.keras)"
    )


def test_an_uncompiled_file_passes_only_when_the_load_reports_no_names(tmp_path: Path) -> None:
    path = two_heads(tmp_path, None)
    assert verdict(path, 2, [], "two.keras")[0] is None
    observation, detail, _ = verdict(path, 2, ["loss"], "two.keras")
    assert observation is not None
    assert detail == (
        "metric names differ: 'loss' produced, not compiled; compiled: none "
        "(compile config of two.keras)"
    )


def test_training_pairs_only_for_a_pure_re_prefix() -> None:
    compiled = ["loss", "out_loss", "aux_loss", "out_mae", "aux_acc"]
    drifted = ["loss", "out_loss", "aux_loss", "out_out_mae", "aux_aux_acc"]
    assert training_pairs(compiled, drifted) == {"out_mae": "out_out_mae", "aux_acc": "aux_aux_acc"}
    assert training_pairs(compiled, compiled) == {}
    assert training_pairs(None, drifted) == {}
    assert training_pairs(compiled, [*drifted, "extra"]) == {}  # not only a re-prefix: as is


def test_the_golden_values_under_training_names() -> None:
    pairs = {"out_mae": "out_out_mae"}
    assert as_trained({"loss": 1.0, "out_out_mae": 0.5}, pairs) == {"loss": 1.0, "out_mae": 0.5}
    assert drift_text(pairs) == (
        "metric names re-prefixed by the source load: 'out_mae' compiled, 'out_out_mae' produced"
    )


def test_a_model_reporting_the_source_loads_names_is_read_under_trainings() -> None:
    from harness.verify.checks import renamed_as_loaded

    pairs = {"out_mae": "out_out_mae"}
    reference = {"loss": 1.0, "out_mae": 0.5}
    assert renamed_as_loaded(reference, {"loss": 1.0, "out_out_mae": 0.5}, pairs) == reference
    assert renamed_as_loaded(reference, {"loss": 1.0, "out_mae": 0.5}, pairs) is None  # restored
    assert renamed_as_loaded(reference, {"loss": 1.0, "out_out_out_mae": 0.5}, pairs) is None
    assert renamed_as_loaded(reference, {"loss": 1.0}, {}) is None
