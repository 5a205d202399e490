"""The canary tests' crafted model files and their checks.

Every route to code that SECURITY.md lists has a crafted file here (written with zipfile, h5py and
json: no TensorFlow needed) whose code would import :data:`CANARY_MODULE`, and that module writes a
canary file when imported or called. Each environment's test runs the real verification suite on
all of them (plus the files it builds with its own Keras) and asserts that every one is refused
before any load and that no canary appears; the tests of the vulnerable environments also load
the same kind of file directly with Keras and assert that the canary does appear, so that the
refusal cannot pass vacuously.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.helpers import run_suite

ROOT = Path(__file__).parents[2]
CANARY_MODULE = "harness_canary"
TRUST_FIX = "Fix: if you trust model '{model}', set \"trusted\": true in its registry entry."


@dataclass
class Crafted:
    """A crafted file, the spec it is registered under, and the refusal it must get (an
    fnmatch pattern of the suite's output)."""

    spec: str
    path: Path
    refusal: str


def refused(spec: str, path: Path, what: str, model: str) -> Crafted:
    """A file the suite must refuse as code (``what``: the problem at its layer path), with the
    exact refusal pattern for ``model``."""
    fix = TRUST_FIX.format(model=model)
    return Crafted(
        spec, path, f"*Refusing to load */{path.name}: it can execute code ({what}). {fix}*"
    )


def canary_module(tmp_path: Path, canary: Path) -> Path:
    """A folder holding :data:`CANARY_MODULE`, whose import and whose ``payload`` function both
    write ``canary``; put it on ``PYTHONPATH`` so that the code is really importable."""
    folder = tmp_path / "canary_module"
    folder.mkdir(exist_ok=True)
    (folder / f"{CANARY_MODULE}.py").write_text(
        f"open({str(canary)!r}, 'w').close()\n\n\n"
        "class Payload:\n"
        "    @classmethod\n"
        "    def from_config(cls, config):\n"
        f"        open({str(canary)!r}, 'w').close()\n"
        "        return cls()\n"
    )
    return folder


def module_reference(name: str | None = None) -> dict[str, object]:
    """A class reference to the canary module (a layer when ``name`` is given): Keras 3 before
    3.9 imports the module to resolve it wherever it deserializes without a module table
    (layers of a model; objects nested in a known class's config, such as an optimizer's
    learning rate)."""
    return {
        "module": CANARY_MODULE,
        "class_name": "Payload",
        "config": {"name": name} if name else {},
        "registered_name": "Payload",
    }


def nested_keras(
    path: Path, layer: dict[str, object], extra: dict[str, bytes] | None = None
) -> Path:
    """A Keras 3 style ``.keras`` whose inner Sequential holds ``layer``."""
    inner = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "inner", "layers": [layer]},
    }
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "outer", "layers": [inner]},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        archive.writestr("config.json", json.dumps(config))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def dense(activation: object) -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "payload", "units": 1, "activation": activation},
    }


def training_config_h5(path: Path) -> Path:
    """An ``.h5`` whose model is plain and whose training config's loss imports the module."""
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "3.3.3"
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": {"name": "plain", "layers": []}}
        )
        handle.attrs["training_config"] = json.dumps(
            {
                "loss": "mse",
                "optimizer_config": {
                    "class_name": "Adam",
                    "config": {"name": "adam", "learning_rate": module_reference()},
                },
            }
        )
    return path


def crafted_files(tmp_path: Path, secret: Path) -> dict[str, Crafted]:
    """One crafted file per route (TF-free), registered as the source of a model named after it."""
    folder = tmp_path / "crafted"
    folder.mkdir(exist_ok=True)
    weights = io.BytesIO()
    with h5py.File(weights, "w") as handle:
        handle["layers/leak"] = h5py.ExternalLink(str(secret), "/data")

    def code(name: str, what: str) -> str:
        return f"*Refusing to load */{name}: it can execute code ({what}). {TRUST_FIX}*"

    where = "model/outer/inner"
    files = {
        "os_system": (
            nested_keras(
                folder / "os_system.keras",
                dense({"module": "os", "class_name": "function", "config": "system"}),
            ),
            code("os_system.keras", f"function os.system at {where}/payload"),
        ),
        "load_api": (
            nested_keras(
                folder / "load_api.keras",
                dense({"module": "keras.models", "class_name": "function", "config": "load_model"}),
            ),
            code("load_api.keras", f"function keras.models.load_model at {where}/payload"),
        ),
        "module_import": (
            nested_keras(folder / "module_import.keras", module_reference("payload")),
            code(
                "module_import.keras",
                f"reference to module {CANARY_MODULE!r} (Payload) at {where}/payload",
            ),
        ),
        "prefix_module": (
            nested_keras(
                folder / "prefix_module.keras",
                {
                    "module": "kerasevil.layers",
                    "class_name": "Dense",
                    "config": {"name": "payload"},
                },
            ),
            code(
                "prefix_module.keras",
                f"reference to module 'kerasevil.layers' (Dense) at {where}/payload",
            ),
        ),
        "tfsm_layer": (
            nested_keras(
                folder / "tfsm_layer.keras",
                {
                    "module": "keras.src.export.export_lib",
                    "class_name": "TFSMLayer",
                    "config": {"name": "payload", "filepath": str(tmp_path / "evil_sm")},
                },
            ),
            code(
                "tfsm_layer.keras",
                f"TFSMLayer (opens the path its config names) at {where}/payload",
            ),
        ),
        "tf_op_io": (
            nested_keras(
                folder / "tf_op_io.keras",
                {
                    "class_name": "TFOpLambda",
                    "config": {"name": "payload", "function": "io.write_file"},
                },
            ),
            code(
                "tf_op_io.keras",
                f"TFOpLambda calling tf.io.write_file (not a pure TF op) at {where}/payload",
            ),
        ),
        "lambda_activation": (
            nested_keras(
                folder / "lambda_activation.keras",
                dense({"class_name": "__lambda__", "config": {"value": ["ZZZ", None, None]}}),
            ),
            code("lambda_activation.keras", f"serialized Python lambda at {where}/payload"),
        ),
        "zip_slip": (
            nested_keras(folder / "zip_slip.keras", dense("relu"), {"../escape.py": b"print('x')"}),
            "*Refusing to read */zip_slip.keras: member '../escape.py' has a name that climbs out "
            "of the archive ('..'). Fix: a .keras file written by Keras has neither; do not load "
            "this one.*",
        ),
        "nested_link": (
            nested_keras(
                folder / "nested_link.keras",
                dense("relu"),
                {"model.weights.h5": weights.getvalue()},
            ),
            f"*Refusing to read */nested_link.keras: its member 'model.weights.h5' links to other "
            f"files (layers/leak -> {secret}:/data)*",
        ),
    }
    crafted = {
        name: Crafted("2.13.keras", path, refusal.replace("{model}", name))
        for name, (path, refusal) in files.items()
    }
    crafted["training_config"] = Crafted(
        "2.13.h5",
        training_config_h5(folder / "training_config.h5"),
        code(
            "training_config.h5",
            f"reference to module {CANARY_MODULE!r} (Payload) at training_config/adam",
        ).replace("{model}", "training_config"),
    )
    return crafted


def secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as handle:
        handle["data"] = np.arange(3.0)
    return secret


def registry_for(tmp_path: Path, files: dict[str, Crafted]) -> Path:
    """A registry whose models have only their crafted source file."""
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    models = {
        model_id: {"paths": {item.spec: str(item.path)}, "source": item.spec}
        for model_id, item in files.items()
    }
    registry.write_text(json.dumps({"models": models}))
    return registry


def check_canaries(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: str,
    built: dict[str, Crafted],
) -> Path:
    """Run the suite of ``env`` on every crafted file and on ``built`` (the files the
    environment's own Keras wrote), with the canary module importable: every file is refused
    with its message, and no canary appears. Returns the canary's path (for the proofs)."""
    canary = tmp_path / "canary"
    folder = canary_module(tmp_path, canary)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    )
    files = {**crafted_files(tmp_path, secret_file(tmp_path)), **built}
    # -v: each failure with its full explanation, which repeats the refusal as observed
    result = run_suite(
        pytester, registry_for(tmp_path, files), env, tmp_path / "build", verbose=True
    )
    assert not canary.exists()
    assert result.ret != 0
    result.stdout.fnmatch_lines_random([item.refusal for item in files.values()])
    return canary


def load_directly(
    code: str, canary_folder: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (which loads a crafted file with Keras itself) in a fresh interpreter with
    the canary module importable: the proof that the file would have run its code."""
    path = os.pathsep.join(filter(None, [str(canary_folder), os.environ.get("PYTHONPATH")]))
    environ = {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3", **variables}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=600
    )


def tfsm_layer_keras(path: Path, canary: Path) -> Path:
    """A .keras (Keras 3) holding a TFSMLayer whose SavedModel writes the canary when called."""
    import keras
    import tensorflow as tf

    class Writer(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])  # type: ignore[misc]
        def serve(self, inputs: object) -> object:
            written = tf.io.write_file(str(canary), "written by a SavedModel")
            with tf.control_dependencies([written]):
                return tf.identity(inputs)

    saved = path.with_name("writer_savedmodel")
    writer = Writer()
    tf.saved_model.save(writer, str(saved), signatures={"serving_default": writer.serve})
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.TFSMLayer(str(saved), call_endpoint="serving_default", name="sm"),
        ],
        name="outer",
    )
    model.save(str(path))
    canary.unlink(missing_ok=True)
    return path
