"""Canaries in TF 2.13 (Keras 2 runs a Lambda's bytecode from .h5 with no guard): crafted files
that would write a canary file if executed are refused before any load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.canaries import check_canaries

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow")


def nested_lambda_h5(path: Path, canary: Path) -> Path:
    target = str(canary)
    inner = tf.keras.Sequential(
        [
            tf.keras.Input((2,)),
            tf.keras.layers.Lambda(lambda t: (open(target, "w").close(), t)[1], name="canary"),
        ],
        name="inner",
    )
    outer = tf.keras.Sequential(
        [tf.keras.Input((2,)), inner, tf.keras.layers.Dense(1)], name="outer"
    )
    outer.compile(optimizer="adam", loss="mse")
    outer.save(str(path))
    canary.unlink(missing_ok=True)  # building the model ran the lambda once
    return path


def test_canaries_never_run_in_tf213(tmp_path: Path, pytester: pytest.Pytester) -> None:
    canary = tmp_path / "canary"
    lambda_file = ("2.13.h5", nested_lambda_h5(tmp_path / "lambda.h5", canary))
    check_canaries(pytester, tmp_path, "tf213", lambda_file, canary)
