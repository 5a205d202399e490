"""Canaries in Keras 3: the harness refuses before Keras's own safe_mode is even asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.canaries import check_canaries

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
    lambda_file = ("2.16.keras", lambda_keras(tmp_path / "lambda.keras", canary))
    check_canaries(pytester, tmp_path, "tf216", lambda_file, canary)
