"""Crafted model files for the canary tests (no TensorFlow needed to write these)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.helpers import run_suite

ROOT = Path(__file__).parents[2]


def crafted_keras(path: Path, reference: dict[str, object]) -> Path:
    """A Keras 3 style .keras whose inner model's Dense layer names ``reference`` as activation."""
    dense = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "payload", "units": 1, "activation": reference},
    }
    inner = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "inner", "layers": [dense]},
    }
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "outer", "layers": [inner]},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
    return path


CRAFTED = {
    "os_system": {"module": "os", "class_name": "function", "config": "system"},
    "load_api": {"module": "keras.models", "class_name": "function", "config": "load_model"},
}


def registry_for(tmp_path: Path, files: dict[str, tuple[str, Path]]) -> Path:
    """A registry whose models have only their source spec (``{id: (spec, path)}``)."""
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    models = {
        model_id: {"paths": {spec: str(path)}, "source": spec}
        for model_id, (spec, path) in files.items()
    }
    registry.write_text(json.dumps({"models": models}))
    return registry


def check_canaries(
    pytester: pytest.Pytester, tmp_path: Path, env: str, lambda_file: tuple[str, Path], canary: Path
) -> None:
    """Run the suite on the Lambda file and the crafted configs; nothing may execute."""
    files = {"nested_lambda": lambda_file}
    spec = lambda_file[0].rsplit(".", 1)[0] + ".keras"
    for name, reference in CRAFTED.items():
        files[name] = (spec, crafted_keras(tmp_path / f"{name}.keras", reference))
    result = run_suite(pytester, registry_for(tmp_path, files), env, tmp_path / "build")
    assert not canary.exists()
    assert result.ret != 0
    result.stdout.fnmatch_lines_random(
        [
            f"*Refusing to load */{lambda_file[1].name}: it can execute code (Lambda layer at "
            "model/outer/inner/canary). Fix: if you trust model 'nested_lambda', set \"trusted\": "
            "true in its registry entry.*",
            "*Refusing to load */os_system.keras: it can execute code (function os.system at "
            "model/outer/inner/payload)*",
            "*Refusing to load */load_api.keras: it can execute code (function "
            "keras.models.load_model at model/outer/inner/payload)*",
        ]
    )
