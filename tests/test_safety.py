"""Refusals before any load: code execution and resource limits (no TensorFlow)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.core.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from harness.core.modelfile import config_depth, read_config
from harness.core.safety import check_safe

ROOT = Path(__file__).parent.parent


def keras_zip(path: Path, config: dict[str, object], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def model_with(layer: dict[str, object]) -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "outer",
            "layers": [
                {
                    "module": "keras",
                    "class_name": "Sequential",
                    "config": {"name": "inner", "layers": [layer]},
                },
            ],
        },
    }


def test_the_embedded_models_are_safe() -> None:
    for case in ("dense_regression", "conv_classifier"):
        check_safe(
            ROOT / f"golden/{case}/model.2.13.keras", model_id=case, trusted=False, allowed=set()
        )
    check_safe(
        ROOT / "tests/fixtures/dense_regression.2.15.h5", model_id="d", trusted=False, allowed=set()
    )


def test_a_nested_lambda_is_refused_with_its_layer_path(tmp_path: Path) -> None:
    path = keras_zip(
        tmp_path / "m.keras",
        model_with(
            {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "canary"}}
        ),
    )
    with pytest.raises(UnsafeModelError) as info:
        check_safe(path, model_id="m", trusted=False, allowed=set())
    assert str(info.value) == (
        f"Refusing to load {path}: it can execute code (Lambda layer at model/outer/inner/canary)."
        " Fix: if you trust model 'm', set \"trusted\": true in its registry entry."
    )
    check_safe(path, model_id="m", trusted=True, allowed=set())  # trusted: allowed


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            {"module": "os", "class_name": "function", "config": "system"},
            "function os.system at model/outer/inner/dense",
        ),
        (
            {"module": "keras.models", "class_name": "function", "config": "load_model"},
            "function keras.models.load_model at model/outer/inner/dense",
        ),
        (
            {"module": "builtins", "class_name": "function", "config": "exec"},
            "function builtins.exec at model/outer/inner/dense",
        ),
        (
            {"module": "evil.pkg", "class_name": "Thing", "config": {}},
            "reference to module 'evil.pkg' (Thing) at model/outer/inner/dense",
        ),
    ],
)
def test_references_that_run_code_are_refused(
    tmp_path: Path, reference: dict[str, object], expected: str
) -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "dense", "activation": reference},
    }
    path = keras_zip(tmp_path / "m.keras", model_with(layer))
    with pytest.raises(UnsafeModelError, match="it can execute code") as info:
        check_safe(path, model_id="m", trusted=False, allowed=set())
    assert expected in str(info.value)


def test_keras_loss_functions_are_allowed(tmp_path: Path) -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": "dense",
            "activation": {"module": "builtins", "class_name": "function", "config": "relu"},
            "loss": {
                "module": "keras.losses",
                "class_name": "function",
                "config": "mean_squared_error",
            },
        },
    }
    check_safe(
        keras_zip(tmp_path / "m.keras", model_with(layer)),
        model_id="m",
        trusted=False,
        allowed=set(),
    )


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = keras_zip(
        tmp_path / "bomb.keras",
        {"class_name": "Sequential", "config": {}},
        {"model.weights.h5": b"\0" * (64 << 20)},
    )
    with pytest.raises(ResourceLimitError) as info:
        read_config(path)
    assert str(info.value).startswith(
        f"Refusing to read {path}: member 'model.weights.h5' decompresses to 67108864 bytes from "
    )
    assert str(info.value).endswith(
        "(ratio over 200). Fix: this looks like a decompression bomb; do not load it."
    )


def test_an_absurdly_deep_config_is_refused(tmp_path: Path) -> None:
    deep = '{"config":' * 5000 + "{}" + "}" * 5000
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", deep)
    with pytest.raises(ResourceLimitError) as info:
        read_config(path)
    assert str(info.value) == (
        f"Refusing to read {path}: its model config nests deeper than 100 levels. Fix: check the "
        "file's origin; real models nest a few dozen levels at most."
    )
    assert config_depth({"a": [{"b": 1}]}) == 3


def test_hdf5_external_links_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as handle:
        handle["data"] = np.arange(3)
    path = tmp_path / "linked.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {}})
        handle["model_weights/leak"] = h5py.ExternalLink(str(secret), "/data")
    with pytest.raises(ResourceLimitError) as info:
        read_config(path)
    assert str(info.value) == (
        f"Refusing to read {path}: it links to other files (model_weights/leak -> {secret}:/data)."
        " Fix: re-save the model as a self-contained file."
    )


def test_hdf5_virtual_datasets_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as handle:
        handle["data"] = np.arange(3)
    layout = h5py.VirtualLayout(shape=(3,), dtype="i8")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=(3,))
    path = tmp_path / "virtual.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {}})
        handle["model_weights/dense/kernel"] = np.zeros((2, 2))
        handle.create_virtual_dataset("model_weights/leak", layout)
    with pytest.raises(ResourceLimitError) as info:
        read_config(path)
    assert str(info.value) == (
        f"Refusing to read {path}: it links to other files (model_weights/leak (virtual dataset))."
        " Fix: re-save the model as a self-contained file."
    )


def test_plain_datasets_and_groups_pass_the_hdf5_walk(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {}})
        handle["model_weights/dense/kernel"] = np.zeros((2, 2))
        handle["model_weights/alias"] = h5py.SoftLink("/model_weights/dense")
        handle.create_group("optimizer_weights")
    assert read_config(path) == {"class_name": "Sequential", "config": {}}


def test_one_walker_lists_every_object_or_only_the_layers() -> None:
    from harness.core.safety import walk

    dense = {
        "class_name": "Dense",
        "config": {"name": "d", "kernel_initializer": {"class_name": "GlorotUniform"}},
    }
    config = {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [
                {
                    "class_name": "Bidirectional",
                    "config": {
                        "name": "bi",
                        "layer": {"class_name": "LSTM", "config": {"name": "fw"}},
                        "backward_layer": {"class_name": "LSTM", "config": {"name": "bw"}},
                    },
                },
                {"class_name": "Sequential", "config": {"name": "inner", "layers": [dense]}},
            ],
        },
    }
    assert [path for path, _ in walk(config, layers_only=True)] == [
        "model/m",
        "model/m/bi",
        "model/m/bi/bw",
        "model/m/bi/fw",
        "model/m/inner",
        "model/m/inner/d",
    ]
    everything = [(path, obj["class_name"]) for path, obj in walk(config)]
    assert ("model/m/inner/d", "GlorotUniform") in everything
    assert ("model/m/bi/fw", "LSTM") in everything and len(everything) == 7


def test_a_legacy_sequential_config_is_read_and_checked(tmp_path: Path) -> None:
    """Keras < 2.2.3 saved a Sequential's config as the array of its layers, and Keras 2 and 3
    still read it: the shape check accepts it, and the safety check walks it."""
    dense = {"class_name": "Dense", "config": {"name": "d"}}
    ok = keras_zip(tmp_path / "ok.keras", {"class_name": "Sequential", "config": [dense]})
    check_safe(ok, model_id="m", trusted=False, allowed=set())
    code = {"class_name": "Lambda", "config": {"name": "l"}}
    bad = keras_zip(tmp_path / "bad.keras", {"class_name": "Sequential", "config": [dense, code]})
    with pytest.raises(UnsafeModelError) as info:
        check_safe(bad, model_id="m", trusted=False, allowed=set())
    assert str(info.value) == (
        f"Refusing to load {bad}: it can execute code (Lambda layer at model/l). Fix: if you "
        "trust model 'm', set \"trusted\": true in its registry entry."
    )


def test_a_model_config_of_the_wrong_shape_is_refused_even_when_trusted(tmp_path: Path) -> None:
    path = keras_zip(
        tmp_path / "m.keras",
        model_with({"module": "keras.layers", "class_name": "Dense", "config": [1]}),
    )
    with pytest.raises(ModelFileError) as info:
        check_safe(path, model_id="m", trusted=True, allowed=set())
    assert str(info.value) == (
        f"{path} is not a readable model file (its model config: layer 0 of model/outer/inner "
        "(Dense) has a config that is a JSON array, not an object). Fix: restore the file or "
        "re-save the model from its source; if it is the output of a step, delete it and rerun "
        "the step."
    )
