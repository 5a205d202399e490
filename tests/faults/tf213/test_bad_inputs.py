"""Inputs that do not fit the model: one line naming the file and the fix (TF 2.13)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_suite

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]


def test_inputs_of_the_wrong_shape(tmp_path: Path, pytester: pytest.Pytester) -> None:
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    shutil.copy(ROOT / "golden/dense_regression/model.2.13.keras", models / "2.13.keras/m.keras")
    inputs = models / "inputs.npz"
    with open(inputs, "wb") as handle:
        np.savez(handle, x=np.zeros((4, 5), np.float32), y=np.zeros((4, 1), np.float32))
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "m": {
                        "paths": {"2.13.keras": "models/2.13.keras/m.keras"},
                        "inputs": "models/inputs.npz",
                    }
                }
            }
        )
    )
    result = run_suite(pytester, registry, "tf213", tmp_path / "build")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            f"Inputs file {inputs} of model 'm': input 0 has shape (4, 5), the model expects "
            "(None, 8). Fix: save inputs that match the model's input shape."
        ]
    )
    assert not (models / "golden" / "m").exists()  # nothing half-written
