"""Canaries in TF 2.13 (Keras 2 runs a Lambda's bytecode from .h5 with no guard): crafted files
that would write a canary file if executed are refused before any load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.canaries import CRAFTED, crafted_keras, registry_for, run_suite

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
    files = {"nested_lambda": ("2.13.h5", nested_lambda_h5(tmp_path / "lambda.h5", canary))}
    for name, reference in CRAFTED.items():
        files[name] = ("2.13.keras", crafted_keras(tmp_path / f"{name}.keras", reference))
    result = run_suite(pytester, registry_for(tmp_path, files), "tf213", tmp_path / "build")
    assert not canary.exists()
    assert result.ret != 0
    result.stdout.fnmatch_lines_random(
        [
            "*Refusing to load */lambda.h5: it can execute code (Lambda layer at "
            "model/outer/inner/canary). Fix: if you trust model 'nested_lambda', set \"trusted\": "
            "true in its registry entry.*",
            "*Refusing to load */os_system.keras: it can execute code (function os.system at "
            "model/outer/inner/payload)*",
            "*Refusing to load */load_api.keras: it can execute code (function "
            "keras.models.load_model at model/outer/inner/payload)*",
        ]
    )
