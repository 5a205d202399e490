"""The Keras 2 optimizer state as read from real .h5 files, and its mapping onto Keras 3's
variables (no TensorFlow: the files are fixtures, the Keras 3 variables are their paths)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import TransplantError
from harness.core.optimizer_state import (
    Keras2State,
    Slot,
    hyperparameter_changes,
    pair,
    plan,
    read_h5,
)

FIXTURES = Path(__file__).parent / "fixtures"


def state(name: str) -> Keras2State:
    found = read_h5(FIXTURES / name)
    assert found is not None
    return found


def test_a_tf_2_15_h5_stores_iterations_and_one_slot_per_variable_and_kind() -> None:
    adam = state("dense_regression.2.15.h5")
    assert (adam.class_name, adam.legacy, adam.iterations) == ("Adam", False, 12)
    assert [s.name for s in adam.slots[:3]] == [
        "m/hidden_1/kernel",
        "v/hidden_1/kernel",
        "m/hidden_1/bias",
    ]
    assert adam.slots[0].value.shape == (8, 16)
    assert adam.config["learning_rate"] == pytest.approx(1e-3)


def test_legacy_optimizers_are_recognised_by_their_slot_names() -> None:
    adam = state("legacy_adam.2.13.h5")
    assert (adam.class_name, adam.legacy, adam.iterations) == ("Adam", True, 4)
    assert sorted({s.kind for s in adam.slots}) == ["m", "v", "vhat"]
    assert adam.slots[0].variable == "hidden/kernel"
    rmsprop = state("legacy_rmsprop.2.13.h5")
    assert sorted({s.kind for s in rmsprop.slots}) == ["mg", "momentum", "rms"]
    targets = [
        a.target
        for a in plan(
            rmsprop,
            [
                ("hidden/kernel", (4, 3)),
                ("hidden/bias", (3,)),
                ("value/kernel", (3, 1)),
                ("value/bias", (1,)),
            ],
        )
    ]
    assert targets[:2] == ["hidden_kernel_velocity", "hidden_bias_velocity"]
    assert "value_bias_average_gradient" in targets and "hidden_kernel_momentum" in targets


def test_a_wrapper_prefix_and_a_renamed_layer_still_map_by_path() -> None:
    bigru = state("bigru_masking.2.15.h5")
    paths = [
        ("embedding/embeddings", (30, 8)),
        ("forward_gru/gru_cell/kernel", (8, 36)),
        ("forward_gru/gru_cell/recurrent_kernel", (12, 36)),
        ("forward_gru/gru_cell/bias", (2, 36)),
        ("backward_gru/gru_cell/kernel", (8, 36)),
        ("backward_gru/gru_cell/recurrent_kernel", (12, 36)),
        ("backward_gru/gru_cell/bias", (2, 36)),
        ("score/kernel", (24, 1)),
        ("score/bias", (1,)),
    ]
    found = plan(bigru, paths)
    assert [(a.slot.variable, a.variable) for a in found][1] == (
        "bigru/forward_gru/gru_cell/kernel",
        "forward_gru/gru_cell/kernel",
    )
    assert found[4].target == "backward_gru_gru_cell_kernel_velocity"
    scoped = state("scoped_names.2.15.h5")
    assert (
        plan(scoped, [(s.variable.replace("/", "_", 1), s.value.shape) for s in scoped.slots[::2]])[
            0
        ].target
        == "encoder_dense_kernel_momentum"
    )


def test_keras3_calls_a_depthwise_kernel_kernel() -> None:
    depthwise = state("depthwise_separable.2.15.h5")
    slot = next(s for s in depthwise.slots if s.variable == "block1_dw/depthwise_kernel")
    paths = [("block1_dw/kernel", slot.value.shape)]
    only = Keras2State("Adam", False, {}, 6, [slot], "f.h5")
    assert plan(only, paths)[0].target == "block1_dw_kernel_momentum"


def test_an_optimizer_without_a_keras_3_equivalent_is_refused_by_name() -> None:
    ftrl = Keras2State("Ftrl", False, {}, 3, [], "m.h5")
    with pytest.raises(TransplantError) as raised:
        plan(ftrl, [])
    assert str(raised.value) == (
        "The optimizer Ftrl of m.h5 has no Keras 3 equivalent the harness can carry its state "
        "to (known: Adagrad, Adam, AdamW, RMSprop, SGD). Fix: accept a fresh optimizer "
        "state for this model (limitation optimizer-state-lost)."
    )


def test_a_slot_whose_variable_has_another_shape_is_refused() -> None:
    slot = Slot("m", "dense/kernel", np.zeros((2, 3), dtype="float32"))
    adam = Keras2State("Adam", False, {}, 1, [slot], "m.h5")
    with pytest.raises(TransplantError) as raised:
        plan(adam, [("dense/kernel", (3, 2))])
    assert str(raised.value) == (
        "Optimizer slot m/dense/kernel of m.h5 has shape (2, 3), its Keras 3 variable "
        "dense/kernel (3, 2). Fix: accept a fresh optimizer state for this model (limitation "
        "optimizer-state-lost)."
    )
    with pytest.raises(TransplantError, match="names no variable of the Keras 3 model"):
        plan(adam, [("other/kernel", (2, 3))])


def test_duplicated_keras_2_names_pair_in_order() -> None:
    expected = [("dense/kernel:0", (2,)), ("dense/kernel:0", (2,)), ("x/bias:0", (1,))]
    actual = [("a/dense/kernel", (2,)), ("b/dense/kernel", (2,)), ("y/bias", (1,))]
    assert pair(expected, actual) == [0, 1, None]


def test_hyperparameters_that_did_not_come_across_are_named() -> None:
    schedule = {
        "module": "keras.optimizers.schedules",
        "class_name": "ExponentialDecay",
        "config": {
            "initial_learning_rate": 0.003,
            "decay_steps": 4,
            "decay_rate": 0.8,
            "staircase": False,
            "name": None,
        },
        "registered_name": None,
    }
    keras2 = {
        "learning_rate": schedule,
        "amsgrad": True,
        "clipnorm": 0.5,
        "beta_1": 0.9,
        "jit_compile": False,
    }
    same = {
        **keras2,
        "learning_rate": {**schedule, "config": {**schedule["config"], "name": "ExponentialDecay"}},
    }
    assert hyperparameter_changes(keras2, same) == []
    reset = {
        "learning_rate": 0.0010000000474974513,
        "amsgrad": False,
        "clipnorm": None,
        "beta_1": 0.8999999761581421,
    }
    assert [c.split(":")[0] for c in hyperparameter_changes(keras2, reset)] == [
        "learning_rate",
        "amsgrad",
        "clipnorm",
    ]
    assert hyperparameter_changes(
        {"learning_rate": 0.01, "decay": 0.1}, {"learning_rate": 0.01}
    ) == ["decay: 0.1 -> absent (Keras 3 has no 'decay')"]


def test_a_file_without_optimizer_weights_has_no_state(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle.create_group("model_weights")
    assert read_h5(path) is None


def test_nadam_is_left_fresh_with_the_reason() -> None:
    nadam = Keras2State("Nadam", False, {}, 12, [], "n.h5")
    with pytest.raises(TransplantError) as raised:
        plan(nadam, [])
    assert str(raised.value).startswith(
        "The state of the optimizer Nadam of n.h5 is not carried: Keras 3 minors before 3.11 "
        "create Nadam's u_product variable before its slots, 3.11 and later after them"
    )
    assert str(raised.value).endswith(
        "Fix: accept a fresh optimizer state for this model (limitation "
        "optimizer-state-not-carried)."
    )


def test_keras2_slots_pair_with_or_without_a_wrappers_prefix() -> None:
    """TF 2.13 names a custom layer's inner Dense 'kernel:0' from a .keras and
    'scaled_dense/kernel:0' from a .h5: the same slot, found by the optimizer-state check."""
    from harness.core.golden import Golden
    from harness.verify.checks import OptimizerState

    hidden, inner = np.ones((2, 3), "float32"), np.full((3, 3), 2.0, "float32")
    names = ["m/hidden/kernel:0", "m/kernel:0"]
    golden = Golden("m", {}, [], [], [], [hidden, inner])
    loaded = {"m/hidden/kernel:0": hidden, "m/scaled_dense/kernel:0": inner}
    found = OptimizerState.same_generation(names, golden, loaded, legacy=False)
    assert [label for label, _ in found] == names
    assert found[0][1] is hidden and found[1][1] is inner
    alone = Golden("m", {}, [], [], [], [hidden])
    assert OptimizerState.same_generation(["m/other:0"], alone, {}, legacy=False) == [
        ("m/other:0", None)
    ]
