"""``keras-harness inspect`` without TensorFlow, and its predictions against the measured matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.core.config import load_config
from harness.core.inspection import inspect_path, render_text
from harness.core.limitations import load_catalogue
from harness.core.specs import Spec

ROOT = Path(__file__).parent.parent
FILES = {
    ("dense_regression", "2.13.keras"): ROOT / "golden/dense_regression/model.2.13.keras",
    ("conv_classifier", "2.13.keras"): ROOT / "golden/conv_classifier/model.2.13.keras",
    ("dense_regression", "2.13.h5"): ROOT / "tests/fixtures/dense_regression.2.13.h5",
    ("conv_classifier", "2.13.h5"): ROOT / "tests/fixtures/conv_classifier.2.13.h5",
    ("dense_regression", "2.15.h5"): ROOT / "tests/fixtures/dense_regression.2.15.h5",
}


def test_a_keras2_zip_is_described() -> None:
    report = inspect_path(FILES[("conv_classifier", "2.13.keras")])
    assert report.format == "keras" and report.writer == {"keras_version": "2.13.1"}
    assert report.layers == {
        "BatchNormalization": 1,
        "Conv2D": 1,
        "Dense": 1,
        "Dropout": 1,
        "Flatten": 1,
        "Functional": 1,
        "InputLayer": 1,
        "MaxPooling2D": 1,
        "ReLU": 1,
    }
    assert report.compile == {
        "optimizer": "Adam",
        "loss": ["sparse_categorical_crossentropy"],
        "metrics": ["accuracy"],
    }
    assert report.optimizer_state is True
    assert report.weights == {
        "arrays": 8,
        "bytes": 6604,
        "optimizer_arrays": 13,
        "metric_arrays": 4,
    }
    assert report.limitation_ids == {
        "keras2-keras-file-unreadable-in-keras3",
        "keras-2.13-weights-layout",
        "optimizer-state-lost",
    }


def test_an_h5_is_described() -> None:
    report = inspect_path(FILES[("dense_regression", "2.13.h5")])
    assert report.format == "h5"
    assert report.writer == {"keras_version": "2.13.1", "backend": "tensorflow"}
    assert report.compile["loss"] == ["mse"] and report.compile["metrics"] == ["mae", "mse"]
    assert report.limitation_ids == {
        "h5-loss-alias-refused",
        "h5-metric-fn-unresolved",
        "optimizer-state-lost",
        "keras3-h5-optimizer-built-on-nothing",
    }
    text = render_text(report)
    assert "  optimizer state stored: yes" in text
    assert (
        "    - [h5-loss-alias-refused] loss stored under its alias ['mse']: Keras 3 refuses it"
        in text
    )


def baseline_cells() -> dict[str, dict[str, str]]:
    data = json.loads((ROOT / "golden/baseline.json").read_text())
    return {key: value["status"] for key, value in data["cells"].items()}  # type: ignore[misc]


@pytest.mark.parametrize(("model", "spec"), sorted(FILES))
def test_predictions_match_what_the_matrix_measured(model: str, spec: str) -> None:
    """Every limitation the matrix measured on this file's route was predicted, and every
    predicted limitation shows up (or is masked by another limitation) wherever it applies."""
    config = load_config(ROOT / "harness.toml")
    catalogue = load_catalogue(ROOT / "limitations.toml")
    routes = [name for name, route in config.routes.items() if route.spec == Spec.parse(spec)]
    predicted = inspect_path(FILES[(model, spec)]).limitation_ids
    cells = {
        tuple(key.split("|")): status
        for key, status in baseline_cells().items()
        if key.split("|")[0] == model and key.split("|")[3] in routes
    }
    assert cells, "the baseline has no cell for this file's route"
    measured = {
        status.split(":", 1)[1] for status in cells.values() if status.startswith("limitation:")
    }
    assert measured <= predicted, f"measured but not predicted: {measured - predicted}"
    for limitation_id in predicted:
        entry = catalogue.get(limitation_id)
        for (_, env, _, route, check), status in cells.items():
            keras = config.environments[env].keras
            if entry.applies(env=env, route=route, model=model, check=check, keras=keras):
                assert status.startswith("limitation:"), (limitation_id, env, route, check)


def test_cli_json_follows_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import resources

    import jsonschema

    assert main(["inspect", "--json", *[str(p) for p in FILES.values()]]) == 0
    document = json.loads(capsys.readouterr().out)
    schema = json.loads(
        resources.files("harness").joinpath("schemas/inspect.schema.json").read_text()
    )
    jsonschema.validate(document, schema)
    assert len(document) == len(FILES)


def test_cli_names_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["inspect", str(tmp_path / "nope.keras")]) == 2
    assert capsys.readouterr().err == (
        f"keras-harness: error: No such model file: {tmp_path / 'nope.keras'}. "
        "Fix: check the path.\n"
    )


def test_unknown_format_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a model")
    assert main(["inspect", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"keras-harness: error: {path} is not a readable .keras archive (not a zip archive: "
        "truncated or corrupt). Fix: restore the file or re-save the model from its source; if "
        "it is the output of a step, delete it and rerun the step.\n"
    )
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert main(["inspect", str(other)]) == 2
    assert capsys.readouterr().err == (
        f"keras-harness: error: {other} is not a readable model file (neither a zip archive nor "
        "an HDF5 file). Fix: restore the file or re-save the model from its source; if it is "
        "the output of a step, delete it and rerun the step.\n"
    )


def test_a_keras3_zip_has_no_keras2_problems(tmp_path: Path) -> None:
    import zipfile

    import h5py
    import numpy as np

    weights = tmp_path / "w.h5"
    with h5py.File(weights, "w") as handle:
        handle["layers/dense/vars/0"] = np.zeros((4, 2), np.float32)
        handle["optimizer/vars/0"] = np.zeros((), np.int64)
        handle["optimizer/vars/1"] = np.zeros((), np.float32)
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense"}},
                {
                    "module": "my_pkg.layers",
                    "class_name": "Scale",
                    "registered_name": "my_pkg>Scale",
                    "config": {"name": "scale"},
                },
                {
                    "module": "keras.layers",
                    "class_name": "LSTM",
                    "config": {"name": "lstm", "time_major": False},
                },
            ],
        },
        "compile_config": {
            "optimizer": {"class_name": "Adam"},
            "loss": "mean_squared_error",
            "metrics": [{"class_name": "MeanAbsoluteError", "config": {"name": "mae"}}],
        },
    }
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.write(weights, "model.weights.h5")
    report = inspect_path(path)
    assert report.writer == {"keras_version": "3.15.1"}
    assert report.layers == {"Dense": 1, "LSTM": 1, "Scale": 1, "Sequential": 1}
    assert report.custom_classes == ["Scale (my_pkg.layers) at model/s/scale"]
    assert report.compile == {
        "optimizer": "Adam",
        "loss": ["mean_squared_error"],
        "metrics": ["mae"],
    }
    assert report.optimizer_state is False  # only iteration and learning rate
    assert report.weights == {"arrays": 1, "bytes": 32, "optimizer_arrays": 2}
    assert [p.message for p in report.problems] == [
        "LSTM.time_major: Keras 3 RNN layers take no 'time_major'",
        "executes code when loaded: reference to module 'my_pkg.layers' (Scale) at model/s/scale",
    ]
    assert report.limitation_ids == set()


def test_weights_only_h5_and_savedmodel(tmp_path: Path) -> None:
    import h5py
    import numpy as np

    weights = tmp_path / "m.weights.h5"
    with h5py.File(weights, "w") as handle:
        handle.attrs["keras_version"] = "2.13.1"
        handle["dense/kernel:0"] = np.zeros((3, 3), np.float32)
    report = inspect_path(weights)
    assert (report.format, report.weights["arrays"], report.weights["bytes"]) == (
        "weights.h5",
        1,
        36,
    )
    folder = tmp_path / "saved"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"pb")
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(b"x" * 10)
    saved = inspect_path(folder)
    assert saved.format == "savedmodel" and saved.weights["bytes"] == 10
    assert "TFSMLayer" in saved.problems[0].message


@pytest.mark.parametrize("version", ["2x", "3.0rc", "1" * 5000, ""])
def test_a_writer_version_that_is_not_a_version(tmp_path: Path, version: str) -> None:
    """Only a version that starts with a major number says which Keras wrote the file."""
    import zipfile

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": version}))
        config = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
        archive.writestr("config.json", json.dumps(config))
    report = inspect_path(path)
    assert report.writer == {"keras_version": version}
    assert report.problems == []


def test_inspect_lists_the_repair_rules_that_apply(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ROOT / "tests/fixtures/conv_classifier.2.13.h5"
    assert main(["inspect", "--repairs", str(ROOT / "repairs.toml"), str(fixture)]) == 0
    out = capsys.readouterr().out
    assert "  repair rules that apply (repaired route): metrics-by-output, sparse-accuracy\n" in (
        out + "\n"
    )
    assert main(["inspect", "--json", "--repairs", str(ROOT / "repairs.toml"), str(fixture)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["repairs"] == [
        "metrics-by-output",
        "sparse-accuracy",
    ]
