"""Canaries in Keras 3.3.3 (before 3.9 Keras imports any module a config names, CVE-2025-1550,
from an .h5's training config as from a .keras config; before 3.14 it loads a TFSMLayer's
SavedModel in safe mode): every crafted file is refused before any load, and the files built here
are shown to run their code when Keras 3.3.3 loads them directly."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import pytest

from tests.integration.canaries import (
    check_canaries,
    load_directly,
    module_reference,
    refused,
    tfsm_layer_keras,
)

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="3")
tf = pytest.importorskip("tensorflow")
#: the Keras this environment runs: its proofs hold only before 3.9, which stopped importing
#: modules named in configs
KERAS = tuple(int(part) for part in keras.version().split(".")[:2])


def plain_model() -> object:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")], name="plain")
    model.compile(optimizer="adam", loss="mse")
    return model


def training_config_h5(path: Path) -> Path:
    """A real Keras 3.3.3 .h5 whose optimizer's learning rate is a class of the canary module."""
    plain_model().save(str(path))
    with h5py.File(path, "r+") as handle:
        training = json.loads(handle.attrs["training_config"])
        training["optimizer_config"]["config"]["learning_rate"] = module_reference()
        handle.attrs["training_config"] = json.dumps(training)
    return path


def module_import_keras(path: Path) -> Path:
    """A real Keras 3.3.3 .keras whose Dense layer is replaced by a class of the canary module."""
    source = path.with_name("plain.keras")
    plain_model().save(str(source))
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as crafted:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                layers = config["config"]["layers"]
                layers[-1] = module_reference("payload")  # the Dense layer
                data = json.dumps(config).encode()
            crafted.writestr(info, data)
    return path


def test_canaries_never_run_in_keras33(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert KERAS < (3, 9), (
        f"tests-tf216-keras33 must run a Keras 3 before 3.9 (got {keras.version()}): pin it in "
        "harness.toml's tf216-keras33 line"
    )
    canary = tmp_path / "canary"
    h5 = training_config_h5(tmp_path / "real_training_config.h5")
    keras_file = module_import_keras(tmp_path / "real_module_import.keras")
    tfsm = tfsm_layer_keras(tmp_path / "real_tfsm.keras", canary)
    module = "reference to module 'harness_canary' (Payload) at"
    built = {
        "real_training_config": refused(
            "2.13.h5", h5, f"{module} training_config/adam", "real_training_config"
        ),
        "real_module_import": refused(
            "2.13.keras", keras_file, f"{module} model/plain/payload", "real_module_import"
        ),
        "real_tfsm": refused(
            "2.13.keras",
            tfsm,
            "TFSMLayer (opens the path its config names) at model/outer/sm",
            "real_tfsm",
        ),
    }
    assert check_canaries(pytester, monkeypatch, tmp_path, "tf216-keras33", built) == canary

    # the proofs: Keras 3.3.3 loading these files directly (safe mode on) runs their code
    folder = tmp_path / "canary_module"
    for path, then in (
        (h5, ""),
        (keras_file, ""),
        (tfsm, "model.predict(np.ones((1, 2), 'float32'), verbose=0)\n"),
    ):
        canary.unlink(missing_ok=True)
        run = load_directly(
            f"import numpy as np, keras\nmodel = keras.saving.load_model({str(path)!r})\n" + then,
            folder,
        )
        assert canary.exists(), f"{path.name} did not run its code: {run.stderr[-2000:]}"
