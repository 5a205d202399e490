"""Canaries in TF 2.13 (Keras 2 runs a Lambda's bytecode from an .h5 with no guard, and calls any
TensorFlow function a TFOpLambda names): every crafted file is refused before any load, and the
files built here are shown to run their code when Keras 2.13 loads them directly."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from tests.integration.canaries import check_canaries, load_directly, refused

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


def tf_op_read_file_h5(path: Path) -> Path:
    """A model whose TFOpLambda calls ``tf.io.read_file`` on its input: built with a pure op of
    the same signature, then renamed in the config (Keras 2 resolves the name when loading)."""
    names = tf.keras.Input(shape=(), dtype=tf.string, name="names")
    joined = tf.strings.reduce_join(names)
    model = tf.keras.Model(names, tf.strings.strip(joined))
    model.save(str(path))
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        layers = config["config"]["layers"]
        (strip,) = [layer for layer in layers if layer["config"].get("function") == "strings.strip"]
        strip["config"]["function"] = "io.read_file"
        handle.attrs["model_config"] = json.dumps(config)
    return path


def test_canaries_never_run_in_tf213(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary"
    lambda_h5 = nested_lambda_h5(tmp_path / "lambda.h5", canary)
    read_h5 = tf_op_read_file_h5(tmp_path / "tf_op_read.h5")
    built = {
        "nested_lambda": refused(
            "2.13.h5", lambda_h5, "Lambda layer at model/outer/inner/canary", "nested_lambda"
        ),
        "tf_op_read": refused(
            "2.13.h5",
            read_h5,
            "TFOpLambda calling tf.io.read_file (not a pure TF op) at model/model/tf.strings.strip",
            "tf_op_read",
        ),
    }
    assert check_canaries(pytester, monkeypatch, tmp_path, "tf213", built) == canary

    # the proofs: Keras 2.13 loading these files directly runs their code
    lambda_run = load_directly(
        "import numpy as np, tensorflow as tf\n"
        f"model = tf.keras.models.load_model({str(lambda_h5)!r})\n"
        "model.predict(np.ones((1, 2), 'float32'), verbose=0)\n",
        tmp_path / "canary_module",
    )
    assert lambda_run.returncode == 0, lambda_run.stderr[-2000:]
    assert canary.exists()
    secret = tmp_path / "secret.txt"
    secret.write_text("read by a TFOpLambda")
    read_run = load_directly(
        "import tensorflow as tf\n"
        f"model = tf.keras.models.load_model({str(read_h5)!r}, compile=False)\n"
        f"print(model(tf.constant([{str(secret)!r}])).numpy().decode())\n",
        tmp_path / "canary_module",
    )
    assert read_run.returncode == 0, read_run.stderr[-2000:]
    assert read_run.stdout.strip() == "read by a TFOpLambda"
