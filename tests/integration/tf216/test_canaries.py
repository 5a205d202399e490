"""Canaries in the newest Keras 3 (3.15: Keras's own safe mode refuses lambdas, module imports
and TFSMLayer, but a model marked trusted is loaded with safe_mode=False): every crafted file is
refused by the harness before Keras is even asked, and the files built here are shown to run
their code when Keras loads them the way a trusted model is loaded."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.integration.canaries import (
    check_canaries,
    load_directly,
    refused,
    tfsm_layer_keras,
)

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="3")


def lambda_keras(path: Path, canary: Path) -> Path:
    target = str(canary)
    inner = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Lambda(lambda t: (open(target, "w").close(), t)[1], name="canary"),
        ],
        name="inner",
    )
    outer = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1)], name="outer")
    outer.save(str(path))
    canary.unlink(missing_ok=True)  # building the model ran the lambda once
    return path


def lambda_activation_keras(path: Path, canary: Path) -> Path:
    """A Dense layer whose activation is a serialized Python lambda (a ``__lambda__`` object).
    Keras 3.15 saves a lambda activation without its ``class_name`` (and then cannot read it
    back), so the saved config is completed the way Keras's serializer writes other lambdas."""
    source = path.with_name("activation_source.keras")
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(
                1, activation=lambda t, c=str(canary): (open(c, "w").close(), t)[1], name="dense"
            ),
        ],
        name="activation",
    )
    model.save(str(source))
    canary.unlink(missing_ok=True)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as crafted:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                dense = config["config"]["layers"][-1]["config"]
                dense["activation"] = {"class_name": "__lambda__", "config": dense["activation"]}
                data = json.dumps(config).encode()
            crafted.writestr(info, data)
    return path


def test_canaries_never_run_in_keras3(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary"
    lambda_file = lambda_keras(tmp_path / "lambda.keras", canary)
    activation = lambda_activation_keras(tmp_path / "activation.keras", canary)
    tfsm = tfsm_layer_keras(tmp_path / "real_tfsm.keras", canary)
    built = {
        "nested_lambda": refused(
            "2.16.keras", lambda_file, "Lambda layer at model/outer/inner/canary", "nested_lambda"
        ),
        "lambda_activation_real": refused(
            "2.16.keras",
            activation,
            "serialized Python lambda at model/activation/dense",
            "lambda_activation_real",
        ),
        "real_tfsm": refused(
            "2.16.keras",
            tfsm,
            "TFSMLayer (opens the path its config names) at model/outer/sm",
            "real_tfsm",
        ),
    }
    assert check_canaries(pytester, monkeypatch, tmp_path, "tf216", built) == canary

    # the proofs: loaded as a trusted model is (safe_mode=False), each file runs its code
    for path in (lambda_file, activation, tfsm):
        canary.unlink(missing_ok=True)
        run = load_directly(
            "import numpy as np, keras\n"
            f"model = keras.saving.load_model({str(path)!r}, safe_mode=False)\n"
            "model.predict(np.ones((1, 2), 'float32'), verbose=0)\n",
            tmp_path / "canary_module",
        )
        assert canary.exists(), f"{path.name} did not run its code: {run.stderr[-2000:]}"
