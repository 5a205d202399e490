"""The routes to code that the audit of issue 21 found, each refused before any load (no
TensorFlow): an ``.h5``'s training config, TFSMLayer, TF-op layers calling I/O, module names
matched by prefix, serialized lambdas, nested external links, unsafe zip members, FIFOs."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.cli import main
from harness.core.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from harness.core.modelfile import read_document
from harness.core.safety import check_safe
from tests.test_safety import keras_zip, model_with

FIX = "Fix: if you trust model 'm', set \"trusted\": true in its registry entry."


def refused(path: Path) -> str:
    with pytest.raises(UnsafeModelError) as info:
        check_safe(path, model_id="m", trusted=False, allowed=set())
    message = str(info.value)
    assert message.startswith(f"Refusing to load {path}: it can execute code (")
    assert message.endswith(f"). {FIX}")
    return message.removeprefix(f"Refusing to load {path}: it can execute code (").removesuffix(
        f"). {FIX}"
    )


def dense_with(activation: object) -> dict[str, object]:
    return model_with(
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {"name": "dense", "activation": activation},
        }
    )


def h5_model(path: Path, training: dict[str, object] | None = None) -> Path:
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "2.13.1"
        handle.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
        )
        if training is not None:
            handle.attrs["training_config"] = json.dumps(training)
    return path


def test_an_h5_training_config_is_checked(tmp_path: Path) -> None:
    loss = {"module": "os", "class_name": "function", "config": "system"}
    path = h5_model(tmp_path / "m.h5", {"loss": loss, "metrics": ["mae"]})
    assert refused(path) == "function os.system at training_config"
    check_safe(
        h5_model(tmp_path / "ok.h5", {"loss": "mse"}), model_id="m", trusted=False, allowed=set()
    )


def test_inspect_reports_the_training_config_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loss = {"module": "os", "class_name": "function", "config": "system"}
    path = h5_model(tmp_path / "m.h5", {"loss": loss})
    assert main(["inspect", str(path)]) == 0
    assert "    - executes code when loaded: function os.system at training_config\n" in (
        capsys.readouterr().out + "\n"
    )


def test_tfsmlayer_and_layers_opening_paths_are_refused(tmp_path: Path) -> None:
    tfsm = {
        "module": "keras.src.export.export_lib",
        "class_name": "TFSMLayer",
        "config": {"name": "sm", "filepath": "/tmp/evil_sm"},
    }
    path = keras_zip(tmp_path / "m.keras", model_with(tfsm))
    assert refused(path) == "TFSMLayer (opens the path its config names) at model/outer/inner/sm"
    other = {
        "module": "keras.layers",
        "class_name": "Thing",
        "config": {"name": "t", "filepath": "/x"},
    }
    path = keras_zip(tmp_path / "o.keras", model_with(other))
    assert refused(path) == "Thing with filepath '/x' (opens a path) at model/outer/inner/t"


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("io.write_file", "TFOpLambda calling tf.io.write_file (not a pure TF op)"),
        ("io.read_file", "TFOpLambda calling tf.io.read_file (not a pure TF op)"),
        ("numpy_function", "TFOpLambda calling tf.numpy_function (not a pure TF op)"),
        ("math.add", None),
        ("__operators__.getitem", None),
    ],
)
def test_tf_op_layers_call_only_pure_ops(
    tmp_path: Path, function: str, expected: str | None
) -> None:
    layer = {
        "class_name": "TFOpLambda",
        "config": {"name": "op", "function": function},
    }
    path = keras_zip(tmp_path / "m.keras", model_with(layer))
    if expected is None:
        check_safe(path, model_id="m", trusted=False, allowed=set())
    else:
        assert refused(path) == f"{expected} at model/outer/inner/op"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            {"module": "kerasevil.x", "class_name": "Dense"},
            "reference to module 'kerasevil.x' (Dense)",
        ),
        (
            {"module": "tensorflow_evil.x", "class_name": "T"},
            "reference to module 'tensorflow_evil.x' (T)",
        ),
        (
            {"module": "builtins_evil", "class_name": "function", "config": "f"},
            "function builtins_evil.f",
        ),
        (
            {"module": "keras.lossesevil", "class_name": "function", "config": "f"},
            "function keras.lossesevil.f",
        ),
        (
            {"module": "tensorflow.math", "class_name": "function", "config": "write_file"},
            "function tensorflow.math.write_file",
        ),
        (
            {"module": "tensorflow.io", "class_name": "function", "config": "write_file"},
            "function tensorflow.io.write_file",
        ),
        ({"module": "keras.utils", "class_name": "get_file"}, "function keras.utils.get_file"),
        (
            {"module": "keras.losses", "class_name": "function", "config": "deserialize"},
            "function keras.losses.deserialize",
        ),
        ({"class_name": "__lambda__", "config": {"code": "x"}}, "serialized Python lambda"),
        (
            {"module": "harness.keras.opening", "class_name": "Opener"},
            "reference to module 'harness.keras.opening' (Opener)",
        ),
        (
            {"module": "harness.keras.legacy_layers_evil", "class_name": "L"},
            "reference to module 'harness.keras.legacy_layers_evil' (L)",
        ),
    ],
)
def test_modules_match_by_whole_components_and_functions_by_name(
    tmp_path: Path, reference: dict[str, object], expected: str
) -> None:
    path = keras_zip(tmp_path / "m.keras", dense_with(reference))
    assert refused(path) == f"{expected} at model/outer/inner/dense"


@pytest.mark.parametrize(
    "reference",
    [
        {"module": "keras.activations", "class_name": "function", "config": "relu"},
        {
            "module": "keras.src.losses.losses",
            "class_name": "function",
            "config": "mean_squared_error",
        },
        {"module": "tensorflow.nn", "class_name": "function", "config": "relu"},
        {"module": "builtins", "class_name": "function", "config": "relu"},
        {"module": "keras.src.models.functional", "class_name": "Functional"},
        {"module": "harness.keras.legacy_layers", "class_name": "LocallyConnected2D"},
        {"module": "keras.src.ops.numpy", "class_name": "GetItem"},
        {"class_name": "__numpy__", "config": {"value": [1]}},
    ],
)
def test_what_keras_writes_is_accepted(tmp_path: Path, reference: dict[str, object]) -> None:
    path = keras_zip(tmp_path / "m.keras", dense_with(reference))
    check_safe(path, model_id="m", trusted=False, allowed=set())


def test_external_links_inside_a_keras_zip_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as handle:
        handle["data"] = np.arange(3)
    weights = io.BytesIO()
    with h5py.File(weights, "w") as handle:
        handle["layers/leak"] = h5py.ExternalLink(str(secret), "/data")
    path = keras_zip(
        tmp_path / "m.keras", dense_with("relu"), {"model.weights.h5": weights.getvalue()}
    )
    with pytest.raises(ResourceLimitError) as info:
        check_safe(path, model_id="m", trusted=True, allowed=set())
    assert str(info.value) == (
        f"Refusing to read {path}: its member 'model.weights.h5' links to other files "
        f"(layers/leak -> {secret}:/data). Fix: re-save the model as a self-contained file."
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil.py", "has a name that climbs out of the archive ('..')"),
        ("assets/../../evil.py", "has a name that climbs out of the archive ('..')"),
        ("/etc/evil", "has an absolute name"),
        ("link", "is a symbolic link"),
    ],
)
def test_unsafe_zip_members_are_refused(tmp_path: Path, name: str, why: str) -> None:
    path = keras_zip(tmp_path / "m.keras", dense_with("relu"))
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name)
        if name == "link":
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, b"/etc/passwd")
    with pytest.raises(ResourceLimitError) as info_:
        check_safe(path, model_id="m", trusted=True, allowed=set())
    assert str(info_.value) == (
        f"Refusing to read {path}: member {name!r} {why}. Fix: a .keras file written by Keras "
        "has neither; do not load this one."
    )


def test_a_fifo_is_refused_before_it_is_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "m.keras"
    os.mkfifo(fifo)
    signal.alarm(10)  # opening a FIFO blocks: a regression fails here instead of hanging
    try:
        check_fifo(fifo, capsys)
    finally:
        signal.alarm(0)


def check_fifo(fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = (
        f"{fifo} is a FIFO, not a regular file. Fix: pass the model file itself (a .keras zip, "
        "an .h5 file or a SavedModel folder)."
    )
    with pytest.raises(ModelFileError) as info:
        check_safe(fifo, model_id="m", trusted=True, allowed=set())
    assert str(info.value) == expected
    assert main(["inspect", str(fifo)]) == 2
    assert capsys.readouterr().err == f"keras-harness: error: {expected}\n"


def test_a_model_config_that_is_not_an_object_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps([1, 2])
    expected = (
        f"{path} is not a readable model file (its model config is a JSON array, not an "
        "object). Fix: restore the file or re-save the model from its source; if it is the "
        "output of a step, delete it and rerun the step."
    )
    with pytest.raises(ModelFileError) as info:
        read_document(path)
    assert str(info.value) == expected
    assert main(["inspect", str(path)]) == 2
    assert capsys.readouterr().err == f"keras-harness: error: {expected}\n"


def test_a_model_file_is_checked_by_its_content_not_its_name(tmp_path: Path) -> None:
    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l"}}
    disguised = keras_zip(tmp_path / "model.bin", model_with(lambda_layer))
    assert refused(disguised) == "Lambda layer at model/outer/inner/l"
    h5 = h5_model(
        tmp_path / "model.keras",
        {"loss": {"module": "os", "class_name": "function", "config": "system"}},
    )
    assert refused(h5) == "function os.system at training_config"
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(ModelFileError) as info:
        check_safe(other, model_id="m", trusted=True, allowed=set())
    assert str(info.value).startswith(
        f"{other} is not a readable model file (neither a zip archive nor an HDF5 file). Fix: "
    )
