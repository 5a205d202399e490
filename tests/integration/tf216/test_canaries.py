"""Canaries in Keras 3: the harness refuses before Keras's own safe_mode is even asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.canaries import CRAFTED, crafted_keras, registry_for, run_suite

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


def test_canaries_never_run_in_keras3(tmp_path: Path, pytester: pytest.Pytester) -> None:
    canary = tmp_path / "canary"
    files = {"nested_lambda": ("2.16.keras", lambda_keras(tmp_path / "lambda.keras", canary))}
    for name, reference in CRAFTED.items():
        files[name] = ("2.16.keras", crafted_keras(tmp_path / f"{name}.keras", reference))
    result = run_suite(pytester, registry_for(tmp_path, files), "tf216", tmp_path / "build")
    assert not canary.exists()
    assert result.ret != 0
    result.stdout.fnmatch_lines_random(
        [
            "*Refusing to load */lambda.keras: it can execute code (Lambda layer at "
            "model/outer/inner/canary). Fix: if you trust model 'nested_lambda', set \"trusted\": "
            "true in its registry entry.*",
            "*Refusing to load */os_system.keras: it can execute code (function os.system at "
            "model/outer/inner/payload)*",
            "*Refusing to load */load_api.keras: it can execute code (function "
            "keras.models.load_model at model/outer/inner/payload)*",
        ]
    )
