"""The repair rules that change the graph, on configs alone (no TensorFlow): Keras 2 calls with
tensors in their keyword arguments in Keras 3's node format, TF-op layers as Keras 3 operations,
removed layers as their Keras 3 equivalent; each refuses what it cannot preserve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.core.repairs import RepairError, load_repairs, rewrite

ROOT = Path(__file__).parent.parent
RULES = load_repairs(ROOT / "repairs.toml")


def node_layer(class_name: str, name: str, nodes: list[Any], **config: Any) -> dict[str, Any]:
    return {
        "class_name": class_name,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": nodes,
    }


def model(*layers: dict[str, Any]) -> dict[str, Any]:
    inputs = node_layer("InputLayer", "x", [])
    return {"class_name": "Functional", "config": {"name": "m", "layers": [inputs, *layers]}}


def ref(layer: str) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": "float32", "keras_history": [layer, 0, 0]},
    }


def repaired(*layers: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    result = rewrite(RULES, model(*layers), None)
    return result.model["config"]["layers"][1:], result.applied


def test_a_tensor_passed_by_keyword_reaches_the_same_argument_in_keras3s_node_format() -> None:
    mha = node_layer(
        "MultiHeadAttention",
        "mha",
        [[["x", 0, 0, {"value": ["x", 0, 0], "attention_mask": None}]]],
        num_heads=2,
        query_shape=[None, 8, 16],
        key_shape=[None, 8, 16],
        value_shape=[None, 8, 16],
    )
    dense = node_layer("Dense", "d", [[["mha", 0, 0, {}]]], units=4)
    (mha_out, dense_out), applied = repaired(mha, dense)
    assert mha_out["inbound_nodes"] == [
        {"args": [ref("x")], "kwargs": {"value": ref("x"), "attention_mask": None}}
    ]
    assert mha_out["config"] == {"name": "mha", "num_heads": 2}
    assert dense_out["inbound_nodes"] == [[["mha", 0, 0, {}]]]  # no tensor kwargs: untouched
    assert applied == {
        "node-tensor-arguments": ["model/m/mha"],
        "mha-query-shape": ["model/m/mha"],
        "mha-key-shape": ["model/m/mha"],
        "mha-value-shape": ["model/m/mha"],
    }


def test_tf_op_layers_become_the_keras3_operations_that_call_the_same_kernels() -> None:
    sliced = node_layer(
        "SlicingOpLambda",
        "tf.__operators__.getitem",
        [["x", 0, 0, {"slice_spec": [{"start": None, "stop": None, "step": None}, 2]}]],
        function="__operators__.getitem",
    )
    mean = node_layer(
        "TFOpLambda",
        "tf.math.reduce_mean",
        [["tf.__operators__.getitem", 0, 0, {"axis": -1, "keepdims": True}]],
        function="math.reduce_mean",
    )
    shifted = node_layer(
        "TFOpLambda",
        "tf.__operators__.add",
        [["tf.math.reduce_mean", 0, 0, {"y": 3.0, "name": None}]],
        function="__operators__.add",
    )
    joined = node_layer(
        "TFOpLambda",
        "tf.concat",
        [[["x", 0, 0, {"axis": -1}], ["tf.__operators__.add", 0, 0, {"axis": -1}]]],
        function="concat",
    )
    layers, applied = repaired(sliced, mean, shifted, joined)
    assert [(x["module"], x["class_name"], x["config"]) for x in layers] == [
        ("keras.src.ops.numpy", "GetItem", {"name": "tf.__operators__.getitem"}),
        ("keras.src.ops.numpy", "Mean", {"axis": -1, "keepdims": True}),
        ("keras.src.ops.numpy", "Add", {"name": "tf.__operators__.add"}),
        ("keras.src.ops.numpy", "Concatenate", {"axis": -1}),
    ]
    slice_all = {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}}
    assert [x["inbound_nodes"] for x in layers] == [
        [{"args": [ref("x"), [slice_all, 2]], "kwargs": {}}],
        [{"args": [ref("tf.__operators__.getitem")], "kwargs": {}}],
        [{"args": [ref("tf.math.reduce_mean"), 3.0], "kwargs": {}}],
        [{"args": [[ref("x"), ref("tf.__operators__.add")]], "kwargs": {}}],
    ]
    assert [x["name"] for x in layers] == [x["config"]["name"] for x in (sliced, mean)] + [
        "tf.__operators__.add",
        "tf.concat",
    ]
    assert applied == {"tf-op-layers": [f"model/m/{x['name']}" for x in layers]}


def test_a_tf_op_without_a_keras3_operation_refuses_the_repair_with_the_layer() -> None:
    cumsum = node_layer(
        "TFOpLambda", "tf.math.cumsum", [["x", 0, 0, {"axis": 1}]], function="math.cumsum"
    )
    with pytest.raises(RepairError) as info:
        rewrite(RULES, model(cumsum), None)
    message = str(info.value)
    assert message.startswith(
        "Cannot repair TFOpLambda at model/m/tf.math.cumsum: tf.math.cumsum has no Keras 3 "
        "operation in the rule's table (it maps __operators__.add, __operators__.getitem, "
    )
    assert message.endswith(
        "Fix: none by rewriting; rebuild this layer in Keras 3 code (limitation "
        "tf-op-layers-unknown-in-keras3)."
    )
    mean = node_layer(
        "TFOpLambda",
        "tf.math.reduce_mean",
        [["x", 0, 0, {"axis": -1, "keepdims": True, "output_type": "float64"}]],
        function="math.reduce_mean",
    )
    with pytest.raises(RepairError) as info:
        rewrite(RULES, model(mean), None)
    assert str(info.value) == (
        "Cannot repair TFOpLambda at model/m/tf.math.reduce_mean: tf.math.reduce_mean "
        "argument(s) ['output_type'] have no equivalent in keras.src.ops.numpy.Mean. Fix: none "
        "by rewriting; rebuild this layer in Keras 3 code (limitation "
        "tf-op-layers-unknown-in-keras3)."
    )


def test_removed_layers_become_their_keras3_equivalents() -> None:
    thresholded = node_layer("ThresholdedReLU", "t", [[["x", 0, 0, {}]]], theta=0.1, trainable=True)
    local = node_layer(
        "LocallyConnected2D",
        "local",
        [[["t", 0, 0, {}]]],
        filters=2,
        kernel_size=[3, 3],
        implementation=1,
        padding="valid",
        data_format="channels_last",
        kernel_regularizer=None,
        bias_constraint=None,
    )
    (relu, rebuilt), applied = repaired(thresholded, local)
    assert relu["class_name"] == "ReLU"
    assert relu["config"] == {"name": "t", "threshold": 0.1, "trainable": True}
    assert rebuilt["class_name"] == "keras_harness>LocallyConnected2D"
    assert rebuilt["config"] == {"name": "local", "filters": 2, "kernel_size": [3, 3]}
    assert rebuilt["inbound_nodes"] == [[["t", 0, 0, {}]]]
    assert applied == {
        "thresholded-relu": ["model/m/t"],
        "locally-connected-2d": ["model/m/local"],
    }


def test_a_locally_connected_layer_the_rebuild_does_not_compute_is_refused() -> None:
    local = node_layer("LocallyConnected2D", "local", [[["x", 0, 0, {}]]], implementation=2)
    with pytest.raises(RepairError) as info:
        rewrite(RULES, model(local), None)
    assert str(info.value) == (
        "Cannot repair LocallyConnected2D at model/m/local: implementation=2, and the rule's "
        "keras_harness>LocallyConnected2D computes only implementation=1. Fix: none by "
        "rewriting; rebuild this layer in Keras 3 code (limitation "
        "removed-layers-unknown-in-keras3)."
    )


def test_layer_names_with_a_slash_are_renamed_everywhere_they_are_named() -> None:
    dense = node_layer("Dense", "encoder/dense", [[["x", 0, 0, {}]]], units=4)
    merge = node_layer(
        "Concatenate", "encoder/merge", [[["encoder/dense", 0, 0, {}], ["x", 0, 0, {}]]]
    )
    source = model(dense, merge)
    source["config"]["output_layers"] = [["encoder/merge", 0, 0]]
    result = rewrite(RULES, source, None)
    layers = result.model["config"]["layers"]
    assert [(x["name"], x["config"]["name"]) for x in layers[1:]] == [
        ("encoder_dense", "encoder_dense"),
        ("encoder_merge", "encoder_merge"),
    ]
    assert layers[2]["inbound_nodes"] == [[["encoder_dense", 0, 0, {}], ["x", 0, 0, {}]]]
    assert result.model["config"]["output_layers"] == [["encoder_merge", 0, 0]]
    assert result.renamed == {"encoder/dense": "encoder_dense", "encoder/merge": "encoder_merge"}
    assert result.applied == {"layer-name-slash": ["model/encoder/dense", "model/encoder/merge"]}


def test_a_rename_onto_an_existing_name_is_refused() -> None:
    taken = node_layer("Dense", "a_b", [[["x", 0, 0, {}]]])
    scoped = node_layer("Dense", "a/b", [[["a_b", 0, 0, {}]]])
    with pytest.raises(RepairError) as info:
        rewrite(RULES, model(taken, scoped), None)
    assert str(info.value) == (
        "Cannot repair the layer names: layer 'a/b' would become 'a_b', a name another layer "
        "has. Fix: rename the layers in the Keras 2 model and save it again (limitation "
        "keras3-layer-name-slash-refused)."
    )


def test_a_loss_stored_by_alias_gets_its_full_name_per_output_too() -> None:
    training = {"loss": {"price": "mse", "label": "sparse_categorical_crossentropy"}}
    result = rewrite(RULES, model(), training)
    assert result.training == {
        "loss": {"price": "mean_squared_error", "label": "sparse_categorical_crossentropy"}
    }
    assert result.applied == {"loss-alias": ["training_config/loss"]}
    assert rewrite(RULES, model(), {"loss": "mae"}).training == {"loss": "mean_absolute_error"}
    untouched = rewrite(RULES, model(), {"loss": "huber"})
    assert untouched.training == {"loss": "huber"} and untouched.applied == {}
