"""``keras-harness validate`` on a model's ``expected`` file: it exists, reads, fits the model's
inputs and golden, and is the one the golden recorded (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.expected import attach, read_expected
from harness.core.golden import read_golden, write_golden
from tests.test_validate import SOURCE, check, record_golden


def npz(path: Path, **arrays: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def inputs(tmp_path: Path, rows: int = 16, *, targets: bool = True) -> str:
    arrays = {"x": np.zeros((rows, 4), np.float32)}
    if targets:
        arrays["y"] = np.zeros((rows, 1), np.float32)
    npz(tmp_path / "inputs" / "m.npz", **arrays)
    return "inputs/m.npz"


def entry(**keys: Any) -> dict[str, Any]:
    return {"m": {"paths": {"2.13.keras": SOURCE}, **keys}}


def test_an_expected_file_that_fits_validates(tmp_path: Path) -> None:
    npz(tmp_path / "expected/m.npz", y=np.zeros((16, 1), np.float32), **{"evaluate/loss": 0.1})
    _, out = check(tmp_path, entry(inputs=inputs(tmp_path), expected="expected/m.npz"))
    assert out == []


def test_an_expected_value_of_the_wrong_type(tmp_path: Path) -> None:
    registry, out = check(tmp_path, entry(expected=["expected/m.npz"]))
    assert out == [
        f"{registry}:7: error: model 'm': \"expected\" must be a string (got "
        '["expected/m.npz"]). Fix: write it like "expected": "expected/model.json".'
    ]


def test_a_missing_or_unreadable_expected_file(tmp_path: Path) -> None:
    registry, out = check(tmp_path, entry(inputs=inputs(tmp_path), expected="expected/m.json"))
    path = tmp_path / "expected/m.json"
    assert out == [
        f"{registry}:8: error: model 'm': expected file {path} does not exist. Fix: correct "
        "the model's \"expected\" path (relative paths start at the registry's root) or restore "
        "the file."
    ]
    path.parent.mkdir()
    path.write_text('{"evaluate": {"loss": "0.1"}}')
    registry, out = check(tmp_path, entry(inputs=inputs(tmp_path), expected="expected/m.json"))
    assert out == [
        f"{registry}:8: error: model 'm': expected file {path}: the evaluate value 'loss' must "
        'be a number (got "0.1"). Fix: write the number that model.evaluate(..., '
        "return_dict=True) returned for it."
    ]


def test_an_expected_file_leaving_the_root(tmp_path: Path) -> None:
    registry, out = check(tmp_path / "project", entry(expected="../../stated.json"))
    assert out == [
        f"{registry}:7: error: model 'm': Model 'm' in {registry}: the expected file "
        f"'../../stated.json' leaves the registry's root {tmp_path / 'project'}. Fix: give an "
        'absolute path, move the file under the root, or set "allow_outside_root": true.'
    ]


def test_expected_values_need_the_inputs_they_were_computed_on(tmp_path: Path) -> None:
    path = npz(tmp_path / "expected/m.npz", y=np.zeros((12, 1), np.float32))
    registry, out = check(tmp_path, entry(expected="expected/m.npz"))
    assert out == [
        f"{registry}:7: error: model 'm': its expected file {path} states values computed on "
        "the golden's inputs, but the model has no \"inputs\" file, so its golden's inputs are "
        'seeded noise. Fix: add "inputs": an .npz with the x (and y) that the expected values '
        "were computed on."
    ]
    npz(path, y=np.zeros((12, 1), np.float32), **{"evaluate/loss": 0.1})
    registry, out = check(
        tmp_path, entry(inputs=inputs(tmp_path, targets=False), expected="expected/m.npz")
    )
    where = tmp_path / "inputs/m.npz"
    assert out == [
        f"{registry}:8: error: model 'm': its expected file {path} states evaluate values, but "
        f"its inputs file {where} has no targets (keys: ['x']). Fix: save the targets the "
        "values were computed on as y (or y0, y1, ...) in the inputs file.",
        f"{registry}:8: error: model 'm': its expected file {path}: the predictions of output 0 "
        f"have 12 rows, the inputs file {where} has 16. Fix: save the predictions of exactly "
        "these inputs, one row per input, in their order.",
    ]


def recorded_golden(tmp_path: Path, stated: Path | None) -> None:
    """dense_regression's golden for model 'm', with ``stated`` recorded in it (if given)."""
    folder = tmp_path / "models/golden"
    record_golden(folder, "m", "golden.json", "golden.npz")
    if stated is not None:
        golden = read_golden(folder, "m")
        attach(golden, read_expected(stated), file="expected/m.npz", path=stated)
        write_golden(folder, golden)


def test_the_golden_must_hold_the_expected_file_it_is_checked_against(tmp_path: Path) -> None:
    rows = read_golden(Path(__file__).parent.parent / "golden", "dense_regression").predict[0]
    path = npz(tmp_path / "expected/m.npz", y=rows)
    recorded_golden(tmp_path, None)
    keys = entry(inputs=inputs(tmp_path, len(rows)), expected="expected/m.npz")
    registry, out = check(tmp_path, keys)
    assert out == [
        f"{registry}:8: error: model 'm': its golden was recorded without its expected file "
        f"{path}. Fix: record it with --golden-regen --model m."
    ]
    recorded_golden(tmp_path, path)
    assert check(tmp_path, keys)[1] == []
    npz(path, y=rows, **{"evaluate/loss": 0.1})
    registry, out = check(tmp_path, keys)
    assert out == [
        f"{registry}:8: error: model 'm': its expected file {path} changed since the golden was "
        "recorded. Fix: restore the file, or record it again with --golden-regen --model m."
    ]


def test_stated_predictions_must_fit_the_golden(tmp_path: Path) -> None:
    rows = read_golden(Path(__file__).parent.parent / "golden", "dense_regression").predict[0]
    path = npz(tmp_path / "expected/m.npz", y0=rows, y1=rows)
    recorded_golden(tmp_path, path)
    keys = entry(inputs=inputs(tmp_path, len(rows)), expected="expected/m.npz")
    registry, out = check(tmp_path, keys)
    assert out == [
        f"{registry}:8: error: model 'm': its expected file {path} states 2 outputs, the golden "
        f"has 1 (shapes {rows.shape}). Fix: save one array per model output, y0, y1, ... in "
        "output order."
    ]
    path = npz(tmp_path / "expected/m.npz", y=rows[:, :0])
    recorded_golden(tmp_path, path)
    registry, out = check(tmp_path, keys)
    assert out == [
        f"{registry}:8: error: model 'm': its expected file {path}: the predictions of output 0 "
        f"have shape {rows[:, :0].shape}, the golden's have {rows.shape}. Fix: save what "
        "model.predict returned on the golden's inputs."
    ]
