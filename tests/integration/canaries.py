"""Crafted model files for the canary tests (no TensorFlow needed to write these)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

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


def run_suite(pytester: pytest.Pytester, registry: Path, env: str, build: Path) -> pytest.RunResult:
    for name in ("harness.toml", "limitations.toml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copy(ROOT / "compat" / "test_compat.py", pytester.path / "test_compat.py")
    return pytester.runpytest_subprocess(
        "--harness-env",
        env,
        "--registry",
        str(registry),
        "--build-dir",
        str(build),
        "-q",
        "-p",
        "no:cacheprovider",
    )


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
