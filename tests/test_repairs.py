"""The repair rules on configs alone (no TensorFlow): each rule rewrites what it names and
nothing else, refuses what it cannot preserve with the layer named, and repairs a catalogued
limitation."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.limitations import load_catalogue
from harness.core.repairs import RepairError, load_repairs, rewrite

ROOT = Path(__file__).parent.parent
RULES = load_repairs(ROOT / "repairs.toml")


def model(*layers: dict[str, object]) -> dict[str, object]:
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers)}}


def layer(class_name: str, name: str, **config: object) -> dict[str, object]:
    return {"class_name": class_name, "config": {"name": name, **config}}


def test_every_rule_repairs_a_catalogued_limitation_and_says_why() -> None:
    catalogue = load_catalogue(ROOT / "limitations.toml")
    for rule in RULES:
        assert catalogue.get(rule.repairs).id == rule.repairs
        assert len(rule.proof) > 40, rule.id


def test_depthwise_groups_one_is_dropped_and_nothing_else_changes() -> None:
    source = model(
        layer("DepthwiseConv2D", "dw", groups=1, kernel_size=[3, 3]),
        layer("Conv2D", "conv", groups=1, filters=4),
    )
    result = rewrite(RULES, source, None)
    layers = result.model["config"]["layers"]  # type: ignore[index]
    assert layers[0]["config"] == {"name": "dw", "kernel_size": [3, 3]}
    assert layers[1]["config"] == {"name": "conv", "groups": 1, "filters": 4}  # Conv2D keeps it
    assert result.applied == {"depthwise-groups": ["model/m/dw"]}
    assert source["config"]["layers"][0]["config"]["groups"] == 1  # type: ignore[index]


def test_a_value_a_rule_cannot_preserve_refuses_the_repair_with_the_layer() -> None:
    with pytest.raises(RepairError) as info:
        rewrite(RULES, model(layer("Conv2DTranspose", "up", groups=2)), None)
    assert str(info.value) == (
        "Cannot repair Conv2DTranspose at model/m/up: groups=2, and rule 'depthwise-groups' "
        "preserves behaviour only for groups=1. Fix: none by rewriting; rebuild this layer in "
        "Keras 3 code (limitation depthwise-conv-groups-refused)."
    )
    with pytest.raises(RepairError, match="time_major=True"):
        rewrite(RULES, model(layer("LSTM", "rnn", time_major=True)), None)


def test_rnn_time_major_false_inside_a_bidirectional_wrapper() -> None:
    inner = layer("GRU", "forward_gru", time_major=False, units=4)
    result = rewrite(RULES, model(layer("Bidirectional", "bi", layer=inner)), None)
    wrapped = result.model["config"]["layers"][0]["config"]["layer"]  # type: ignore[index]
    assert wrapped["config"] == {"name": "forward_gru", "units": 4}
    assert result.applied == {"rnn-time-major": ["model/m/bi/forward_gru"]}


def test_a_mixed_precision_policy_becomes_its_name() -> None:
    policy = {
        "module": "keras.mixed_precision",
        "class_name": "Policy",
        "config": {"name": "mixed_float16"},
    }
    result = rewrite(
        RULES, model(layer("Dense", "d", dtype=policy), layer("Dense", "e", dtype="float32")), None
    )
    layers = result.model["config"]["layers"]  # type: ignore[index]
    assert [item["config"]["dtype"] for item in layers] == ["mixed_float16", "float32"]
    assert result.applied == {"mixed-precision-policy": ["model/m/d"]}


def test_the_orthogonal_initializer_gets_the_name_every_keras3_reads() -> None:
    init = {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}
    result = rewrite(RULES, model(layer("LSTM", "rnn", recurrent_initializer=init)), None)
    lstm = result.model["config"]["layers"][0]["config"]  # type: ignore[index]
    assert lstm["recurrent_initializer"] == {
        "class_name": "OrthogonalInitializer",
        "config": {"gain": 1.0, "seed": None},
    }


def test_training_config_rules_touch_only_the_training_config() -> None:
    training = {
        "loss": {
            "class_name": "ScaledHuber",
            "config": {"reduction": "auto", "name": "scaled_huber"},
        },
        "metrics": [
            [
                {
                    "class_name": "MeanAbsoluteError",
                    "config": {"fn": "mean_absolute_error", "name": "mae"},
                }
            ]
        ],
    }
    source = model(layer("Dense", "d", reduction="auto"))
    result = rewrite(RULES, source, training)
    assert result.model == source  # the model config's "reduction" is not a loss
    assert result.training is not None
    assert result.training["loss"]["config"] == {
        "reduction": "sum_over_batch_size",
        "name": "scaled_huber",
    }
    assert result.training["metrics"][0]["config"] == {"name": "mae"}  # one output: flat
    assert result.rules == [
        "loss-class-fn-mean-absolute-error",
        "loss-reduction-auto",
        "metrics-by-output",
    ]


def test_a_bad_catalogue_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "repairs.toml"
    path.write_text(
        '[[rule]]\nid = "x"\nrepairs = "y"\nlayers = ["A"]\nargument = "b"\n'
        'action = "explode"\nproof = "p"\n'
    )
    with pytest.raises(RepairError) as info:
        load_repairs(path)
    assert str(info.value) == (
        f"{path}: rule #1: action 'explode' / where None is not one of ['drop', 'value', "
        "'policy-name', 'metric-class', 'sparse-accuracy', 'metrics-by-output', 'node-tensors', "
        "'tf-op', 'class', 'rename', 'loss-alias'] / ['model', 'training']. Fix: correct it."
    )


def wrapper(name: str, fn: str) -> dict[str, object]:
    return {
        "class_name": "MeanMetricWrapper",
        "config": {"name": name, "dtype": "float32", "fn": fn},
    }


def test_metric_wrappers_become_their_metric_class_with_the_trained_name() -> None:
    training = {
        "loss": "mean_squared_error",
        "metrics": [[wrapper("mae", "mean_absolute_error"), wrapper("odd", "my_fn")]],
    }
    result = rewrite(RULES, model(), training)
    assert result.training is not None
    assert result.training["metrics"] == [
        {"class_name": "MeanAbsoluteError", "config": {"name": "mae", "dtype": "float32"}},
        wrapper("odd", "my_fn"),  # no known class: left for Keras (and its limitation)
    ]


def test_accuracy_stored_as_categorical_is_sparse_only_where_the_outputs_loss_is_sparse() -> None:
    two_outputs = {
        "class_name": "Functional",
        "config": {"name": "m", "layers": [], "output_layers": [["price", 0, 0], ["label", 0, 0]]},
    }
    training = {
        "loss": {"price": "mean_squared_error", "label": "sparse_categorical_crossentropy"},
        "metrics": [
            [wrapper("price_accuracy", "categorical_accuracy")],
            [wrapper("label_accuracy", "categorical_accuracy")],
        ],
    }
    result = rewrite(RULES, two_outputs, training)
    assert result.training is not None
    by_output = result.training["metrics"]  # a dict by output, names without the prefix
    assert list(by_output) == ["price", "label"]
    assert by_output["price"][0]["class_name"] == "CategoricalAccuracy"  # loss not sparse
    assert by_output["label"][0] == {
        "class_name": "SparseCategoricalAccuracy",
        "config": {"name": "accuracy", "dtype": "float32"},
    }
    assert result.applied["sparse-accuracy"] == ["training_config/label_accuracy"]
    one = rewrite(
        RULES,
        model(),
        {
            "loss": "sparse_categorical_crossentropy",
            "metrics": [[wrapper("accuracy", "categorical_accuracy")]],
        },
    )
    assert one.training is not None
    assert one.training["metrics"][0]["class_name"] == "SparseCategoricalAccuracy"


def test_limitations_md_says_which_rules_repair_each_limitation() -> None:
    text = (ROOT / "LIMITATIONS.md").read_text(encoding="utf-8")
    section = text.split("## `depthwise-conv-groups-refused`", 1)[1].split("\n## ", 1)[0]
    assert "- **Repaired route**: rules `depthwise-groups` (repairs.toml)" in section
    section = text.split("## `tf-op-layers-unknown-in-keras3`", 1)[1].split("\n## ", 1)[0]
    assert "- **Repaired route**: rules `tf-op-layers` (repairs.toml)" in section
    section = text.split("## `keras3-numpy-string-inputs`", 1)[1].split("\n## ", 1)[0]
    assert "- **Repaired route**: no rule repairs it" in section


def test_per_output_metrics_get_back_the_names_training_reported() -> None:
    """Each output prefix Keras 2's loads added goes (out_out_mae -> mae); Keras 3 puts one back
    (out_mae, the name training reported)."""
    source = model(layer("Dense", "out"), layer("Dense", "aux"))
    source["config"]["output_layers"] = [["out", 0, 0], ["aux", 0, 0]]  # type: ignore[index]
    training = {
        "loss": {"out": "mean_squared_error", "aux": "mean_squared_error"},
        "metrics": [
            [{"class_name": "MeanAbsoluteError", "config": {"name": "out_out_mae"}}],
            [{"class_name": "SparseCategoricalAccuracy", "config": {"name": "aux_acc"}}],
        ],
    }
    result = rewrite(RULES, source, training)
    assert result.training is not None
    assert result.training["metrics"] == {
        "out": [{"class_name": "MeanAbsoluteError", "config": {"name": "mae"}}],
        "aux": [{"class_name": "SparseCategoricalAccuracy", "config": {"name": "acc"}}],
    }
