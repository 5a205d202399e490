"""Expected values from the user (no TensorFlow): the ``expected`` file's format and its copy in
the golden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.core.errors import ExpectedError
from harness.core.expected import Statement, attach, read_expected, recorded
from harness.core.golden import Golden, read_golden, write_golden

ROOT = Path(__file__).parent.parent
FIX = (
    "Fix: save the predictions with numpy.savez (y for one output, or y0, y1, ... in output "
    'order) and/or write the evaluate values as JSON {"evaluate": {"loss": ...}}.'
)


def npz(path: Path, **arrays: Any) -> Path:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def refused(path: Path) -> str:
    with pytest.raises(ExpectedError) as info:
        read_expected(path)
    return str(info.value)


# ------------------------------------------------------------------------------ the file format
def test_an_npz_states_predictions_in_output_order_and_evaluate_values(tmp_path: Path) -> None:
    outputs = {f"y{i}": np.full((2, 1), i, np.float32) for i in range(11)}
    path = npz(tmp_path / "e.npz", **outputs, **{"evaluate/loss": 0.5, "evaluate/out_mae": 1})
    statement = read_expected(path)
    # y10 is the eleventh output, not the third
    assert [int(p[0, 0]) for p in statement.predict] == list(range(11))
    assert statement.evaluate == {"loss": 0.5, "out_mae": 1.0}
    one = read_expected(npz(tmp_path / "one.npz", y=np.zeros((3, 2), np.float32)))
    assert len(one.predict) == 1 and one.predict[0].shape == (3, 2) and one.evaluate is None


def test_a_json_states_evaluate_values_and_predictions(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(
        json.dumps({"evaluate": {"loss": 0.12, "out_mae": 3}, "predict": {"y0": [[0.5], [0.25]]}})
    )
    statement = read_expected(path)
    assert statement.evaluate == {"loss": 0.12, "out_mae": 3.0}
    assert statement.predict[0].tolist() == [[0.5], [0.25]]
    only = tmp_path / "only.json"
    only.write_text('{"evaluate": {"loss": 1.5}}')
    assert read_expected(only) == Statement([], {"loss": 1.5})


def test_files_that_cannot_be_used_are_refused_with_the_fix(tmp_path: Path) -> None:
    csv = tmp_path / "e.csv"
    csv.write_text("loss,0.1\n")
    assert refused(csv) == f"expected file {csv} is neither .npz nor .json (got 'e.csv'). {FIX}"
    gone = tmp_path / "gone.json"
    assert refused(gone) == (
        f'expected file {gone} does not exist. Fix: correct the model\'s "expected" path '
        "(relative paths start at the registry's root) or restore the file."
    )
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    assert refused(broken).startswith(f"expected file {broken} cannot be read (")
    assert refused(broken).endswith(f"). {FIX}")
    pickled = npz(tmp_path / "pickled.npz", y=np.array([{"a": 1}], dtype=object))
    assert refused(pickled) == (
        f"expected file {pickled} cannot be read (ValueError: Object arrays cannot be loaded "
        f"when allow_pickle=False). {FIX}"
    )
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert refused(empty) == (
        f"expected file {empty} states nothing (no predictions, no evaluate values). {FIX}"
    )


def test_npz_arrays_must_be_named_y_or_evaluate(tmp_path: Path) -> None:
    path = npz(tmp_path / "e.npz", p0=np.zeros(2), x=np.zeros(2), y=np.zeros(2))
    assert refused(path) == (
        f"expected file {path} has arrays the harness does not read: 'p0', 'x' (keys: ['p0', "
        "'x', 'y']). Fix: name the predictions y (one output) or y0, y1, ... (one per output, "
        "in output order) and the evaluate values evaluate/<metric name>."
    )


@pytest.mark.parametrize(
    ("names", "shown"), [(("y", "y0"), "'y', 'y0'"), (("y0", "y2"), "'y0', 'y2'")]
)
def test_predictions_are_y_or_numbered_from_zero(
    tmp_path: Path, names: tuple[str, ...], shown: str
) -> None:
    path = npz(tmp_path / "e.npz", **{name: np.zeros((2, 1)) for name in names})
    assert refused(path) == (
        f"expected file {path}: the predictions must be y (one output) or y0, y1, ... numbered "
        f"from 0 without gaps (got {shown}). Fix: save one array per model output, in output "
        "order."
    )
    json_path = tmp_path / "e.json"
    json_path.write_text(json.dumps({"predict": {"out": [1.0]}}))
    assert refused(json_path) == (
        f"expected file {json_path}: the predictions must be y (one output) or y0, y1, ... "
        "numbered from 0 without gaps (got 'out'). Fix: save one array per model output, in "
        "output order."
    )


def test_predictions_and_evaluate_values_must_be_numbers(tmp_path: Path) -> None:
    text = npz(tmp_path / "text.npz", y=np.array(["a", "b"]))
    assert refused(text) == (
        f"expected file {text}: 'y' must be an array of numbers with one row per input (got "
        "dtype <U1, shape (2,)). Fix: save what model.predict returned on the golden's inputs."
    )
    vector = npz(tmp_path / "vector.npz", **{"evaluate/loss": np.zeros(2)})
    assert refused(vector) == (
        f"expected file {vector}: the evaluate value 'loss' must be a number (got dtype float64, "
        "shape (2,)). Fix: write the number that model.evaluate(..., return_dict=True) returned "
        "for it."
    )
    for value, shown in (('"0.1"', '"0.1"'), ("true", "true")):
        path = tmp_path / "e.json"
        path.write_text(f'{{"evaluate": {{"loss": {value}}}}}')
        assert refused(path) == (
            f"expected file {path}: the evaluate value 'loss' must be a number (got {shown}). "
            "Fix: write the number that model.evaluate(..., return_dict=True) returned for it."
        )
    ragged = tmp_path / "ragged.json"
    ragged.write_text('{"predict": {"y": [[1.0], [1.0, 2.0]]}}')
    assert refused(ragged) == (
        f"expected file {ragged}: 'y' must be an array of numbers with one row per input (got "
        "nested lists of unequal lengths). Fix: save what model.predict returned on the golden's "
        "inputs."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[1, 2]",
            'must hold a JSON object with "evaluate" and/or "predict" (got [1, 2]). Fix: write '
            'it like {"evaluate": {"loss": 0.12}}.',
        ),
        ('{"evaluation": {}}', ": unknown key 'evaluation'. Fix: did you mean 'evaluate'?"),
        (
            '{"evaluate": [0.1]}',
            ': "evaluate" must be a non-empty object of metric names and numbers (got [0.1]). '
            "Fix: write the dict that model.evaluate(x, y, return_dict=True) returned.",
        ),
        (
            '{"predict": [[0.1]]}',
            ': "predict" must be an object of y (or y0, y1, ...) and nested lists of numbers '
            '(got [[0.1]]). Fix: write it like {"predict": {"y0": [[0.5], [0.25]]}}, or save the '
            "predictions in an .npz.",
        ),
        (
            '{"evaluate": {"loss": 0.1,}}',
            " is not valid JSON: Expecting property name enclosed in double quotes at line 1 "
            "column 27. Fix: correct the JSON at that position.",
        ),
    ],
)
def test_a_json_file_of_another_shape(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "e.json"
    path.write_text(text)
    separator = "" if message.startswith((":", " ")) else " "
    assert refused(path) == f"expected file {path}{separator}{message}"


# ------------------------------------------------------------------------------ in the golden
def small_golden(evaluate: dict[str, float] | None = None) -> Golden:
    meta = {
        "evaluate": evaluate or {"loss": 0.5, "out_out_mae": 0.25},
        "compile": {"metrics": ["out_out_mae"]},
        "optimizer": {"iterations": 3},
        "batch_size": 2,
        "source_sha256": "0" * 64,
    }
    prediction = np.array([[0.1], [0.2]], np.float32)
    return Golden("m", meta, [np.zeros((2, 3), np.float32)], [prediction], [prediction], [])


def test_the_golden_keeps_what_was_stated_beside_what_the_load_produced(tmp_path: Path) -> None:
    source = npz(
        tmp_path / "e.npz", y=np.array([[0.1], [0.2]], np.float32), **{"evaluate/loss": 0.5}
    )
    golden = small_golden()
    attach(golden, read_expected(source), file="expected/m.npz", path=source)
    write_golden(tmp_path / "golden", golden)
    back = read_golden(tmp_path / "golden", "m")
    record = recorded(back)
    assert record is not None and record.file == "expected/m.npz" and len(record.sha256) == 64
    assert record.statement.evaluate == {"loss": 0.5}
    assert np.array_equal(record.statement.predict[0], golden.predict[0])
    assert back.evaluate == {"loss": 0.5, "out_out_mae": 0.25}  # what the load produced
    assert back.meta["arrays"]["expected"] == 1


def test_every_committed_golden_reads_without_a_statement_and_writes_back_unchanged(
    tmp_path: Path,
) -> None:
    folders = sorted(p.parent for p in (ROOT / "golden").glob("*/golden.json"))
    cases = sorted(p.stem for p in (ROOT / "cases").glob("*.py") if not p.name.startswith("_"))
    assert [folder.name for folder in folders] == cases  # every case's golden is committed
    for folder in folders:
        golden = read_golden(ROOT / "golden", folder.name)
        assert recorded(golden) is None and golden.stated == []
        write_golden(tmp_path, golden)
        assert json.loads((tmp_path / folder.name / "golden.json").read_text()) == json.loads(
            (folder / "golden.json").read_text()
        )
        with (
            np.load(folder / "golden.npz") as before,
            np.load(tmp_path / folder.name / "golden.npz") as after,
        ):
            assert sorted(before.files) == sorted(after.files)
