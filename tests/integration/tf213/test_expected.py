"""Expected values from the user with real TensorFlow 2.13 (tox -e tests-tf213): values kept at
training time, by the names training reported, against what the source environment's load
produces, in the suite's own ``expected`` cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import ROOT, results_file, run_convert, run_suite

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow")
ROWS = 16
RENAMED = "limitation:source-load-renames-output-metrics"


def save(path: Path, **arrays: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def train_multi_output(project: Path) -> dict[str, float]:
    """A two-output functional model with metric objects per output, trained, its training-time
    evaluate() and predictions kept in ``expected/multi.npz``; returns the evaluate values."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(4,), name="x")
    hidden = tf.keras.layers.Dense(8, activation="relu")(inputs)
    out = tf.keras.layers.Dense(1, name="out")(hidden)
    aux = tf.keras.layers.Dense(3, activation="softmax", name="aux")(hidden)
    model = tf.keras.Model(inputs, [out, aux])
    model.compile(
        optimizer="adam",
        loss={"out": "mse", "aux": "sparse_categorical_crossentropy"},
        metrics={
            "out": [tf.keras.metrics.MeanAbsoluteError(name="mae")],
            "aux": [tf.keras.metrics.SparseCategoricalAccuracy(name="acc")],
        },
    )
    rng = np.random.RandomState(0)
    x = rng.normal(size=(ROWS, 4)).astype("float32")
    y0 = rng.normal(size=(ROWS, 1)).astype("float32")
    y1 = rng.randint(0, 3, size=(ROWS,)).astype("int64")
    model.fit(x, [y0, y1], epochs=2, batch_size=8, verbose=0)
    # what training reports, in one batch of the inputs like the golden
    evaluate = model.evaluate(x, [y0, y1], batch_size=ROWS, verbose=0, return_dict=True)
    predictions = model.predict(x, batch_size=ROWS, verbose=0)
    model.save(str(project / "models/2.13.keras/multi.keras"))
    save(project / "inputs/multi.npz", x=x, y0=y0, y1=y1)
    stated = {f"evaluate/{name}": value for name, value in evaluate.items()}
    save(project / "expected/multi.npz", y0=predictions[0], y1=predictions[1], **stated)
    return {str(name): float(value) for name, value in evaluate.items()}


def train_single_output(project: Path) -> None:
    """A one-output model; its training-time values in ``expected/single.json``."""
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input(shape=(4,))
    hidden = tf.keras.layers.Dense(3, activation="relu")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.RandomState(1)
    x = rng.normal(size=(ROWS, 4)).astype("float32")
    y = rng.normal(size=(ROWS, 1)).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)
    evaluate = model.evaluate(x, y, batch_size=ROWS, verbose=0, return_dict=True)
    predictions = model.predict(x, batch_size=ROWS, verbose=0)
    model.save(str(project / "models/2.13.keras/single.keras"))
    save(project / "inputs/single.npz", x=x, y=y)
    (project / "expected").mkdir(exist_ok=True)
    (project / "expected/single.json").write_text(
        json.dumps(
            {
                "evaluate": {str(k): float(v) for k, v in evaluate.items()},
                "predict": {"y": predictions.tolist()},
            }
        )
    )


@pytest.fixture
def measured(tmp_path: Path) -> dict[str, Any]:
    """The project, trained and registered once: ``multi`` and ``single`` with expected files,
    ``multi_plain`` the same file as ``multi`` without one."""
    project = tmp_path / "project"
    (project / "models/2.13.keras").mkdir(parents=True)
    stated = train_multi_output(project)
    train_single_output(project)
    keras = "models/2.13.keras"
    registry = project / "models/model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "multi": {
                        "paths": {"2.13.keras": f"{keras}/multi.keras"},
                        "inputs": "inputs/multi.npz",
                        "expected": "expected/multi.npz",
                    },
                    "multi_plain": {
                        "paths": {"2.13.keras": f"{keras}/multi.keras"},
                        "inputs": "inputs/multi.npz",
                    },
                    "single": {
                        "paths": {"2.13.keras": f"{keras}/single.keras"},
                        "inputs": "inputs/single.npz",
                        "expected": "expected/single.json",
                    },
                }
            },
            indent=2,
        )
    )
    return {"project": project, "registry": registry, "stated": stated}


def test_the_expected_cell_shows_the_rename_and_leaves_the_other_cells_alone(
    measured: dict[str, Any], pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """multi: the rename is its own cell, explained by the catalogue (and failing without its
    entry); multi_plain: the same file without expected, whose cells multi's equal; single:
    values that match pass."""
    registry, project = measured["registry"], measured["project"]
    # training reported the metrics under these names
    assert sorted(measured["stated"]) == ["aux_acc", "aux_loss", "loss", "out_loss", "out_mae"]
    build = tmp_path / "build"
    converted = run_convert(registry, build)
    assert converted.returncode == 0, converted.stderr[-2000:]
    first = run_suite(pytester, registry, "tf213", build)
    first.stdout.fnmatch_lines(["*The golden of 'multi' was missing and has been written*"])
    second = run_suite(pytester, registry, "tf213", build)
    second.assert_outcomes(passed=3 * 15 + 2)  # 15 items a model, expected cells of 2

    golden = json.loads((project / "models/golden/multi/golden.json").read_text())
    assert sorted(golden["expected"]["evaluate"]) == sorted(measured["stated"])  # as stated
    assert sorted(golden["evaluate"]) == [  # as the source load produced
        "aux_aux_acc",
        "aux_loss",
        "loss",
        "out_loss",
        "out_out_mae",
    ]
    assert golden["expected"]["file"] == "expected/multi.npz"

    cells = {
        (c["model"], c["route"], c["check"]): c
        for c in json.loads(results_file(build, "tf213").read_text())["cells"]
    }
    renamed = cells[("multi", "source", "expected")]
    assert renamed["status"] == RENAMED
    assert renamed["detail"] == (
        "metric names re-prefixed by the source load: 'aux_acc' stated, 'aux_aux_acc' produced; "
        "'out_mae' stated, 'out_out_mae' produced; predict bitwise; evaluate bitwise "
        "(re-prefixed names by their stated name) (stated in expected/multi.npz; cross-hardware "
        "tolerance max abs 1e-05 or 128 ULP)"
    )
    assert renamed["numbers"]["metric_name_differences"] == 2
    # every other cell of the model is the cell of the same file registered without expected
    others = {key[1:]: c["status"] for key, c in cells.items() if key[0] == "multi"}
    plain = {key[1:]: c["status"] for key, c in cells.items() if key[0] == "multi_plain"}
    assert others.pop(("source", "expected")) == RENAMED
    assert others == plain and len(plain) == 14
    # the names check sees the drift without any expected file: from the file's compile config
    for model in ("multi", "multi_plain"):
        drift = cells[(model, "source", "names")]
        assert drift["status"] == RENAMED
        assert drift["detail"] == (
            "metric names re-prefixed by the source load: 'aux_acc' compiled, 'aux_aux_acc' "
            "produced; 'out_mae' compiled, 'out_out_mae' produced; compiled: loss, out_loss, "
            "aux_loss, out_mae, aux_acc (compile config of multi.keras)"
        )
    assert cells[("single", "source", "names")]["detail"] == (
        "names as compiled: loss, mae (compile config of single.keras)"
    )
    single = cells[("single", "source", "expected")]
    assert single["status"] == "pass"
    assert single["detail"] == (
        "predict bitwise; evaluate bitwise (stated in expected/single.json; cross-hardware "
        "tolerance max abs 1e-05 or 128 ULP)"
    )

    # without its catalogue entry, the same cell fails
    for name in ("harness.toml", "compat/test_compat.py"):
        shutil.copy(ROOT / name, pytester.path / Path(name).name)
    catalogue = (ROOT / "limitations.toml").read_text()
    start = catalogue.index('[[limitation]]\nid = "source-load-renames-output-metrics"')
    end = catalogue.find("[[limitation]]", start + 1)
    (pytester.path / "limitations.toml").write_text(
        catalogue[:start] + (catalogue[end:] if end >= 0 else "")
    )
    result = pytester.runpytest_subprocess(
        "--harness-env",
        "tf213",
        "--registry",
        str(measured["registry"]),
        "--build-dir",
        str(build),
        "-k",
        "keras-expected or keras-names",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, failed=3)  # single's two; multi's two, multi_plain's names
    result.stdout.fnmatch_lines(
        [
            "*multi-2.13.keras-expected: mismatch: metric names re-prefixed by the source load: "
            "'aux_acc' stated, 'aux_aux_acc' produced; 'out_* [[]no limitation applies]",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*multi-2.13.keras-names: mismatch: metric names re-prefixed by the source load: "
            "'aux_acc' compiled, 'aux_aux_acc' produced; 'out_* [[]no limitation applies]",
        ]
    )
