"""The optimizer-state transplant with real Keras 3 (tox -e tests-tf216): the chain's last hop
carries Keras 2's slots, iteration count and hyperparameters onto Keras 3's optimizer, and a
corrupted slot fails the optimizer-state and train-step cells with the variable named."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import as_converted, results_file

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="3")
ROOT = Path(__file__).parents[3]
FIXTURES = ROOT / "tests/fixtures"
MODEL = "dense_regression"


def project(tmp_path: Path, pytester: pytest.Pytester) -> Path:
    """dense_regression registered, its 2.13.h5 and 2.15.h5 as TF 2.13 and 2.15 wrote them, and
    the chain's last hop (with the transplant) run here."""
    store = tmp_path / "models/2.13.keras"
    store.mkdir(parents=True)
    shutil.copy(ROOT / "golden" / MODEL / "model.2.13.keras", store / f"{MODEL}.keras")
    build = tmp_path / "build"
    as_converted(build, MODEL, "2.13.keras->2.13.h5@tf213", FIXTURES / f"{MODEL}.2.13.h5")
    as_converted(build, MODEL, "2.13.h5->2.15.h5@tf215", FIXTURES / f"{MODEL}.2.15.h5")
    registry = tmp_path / "models/model_registry.json"
    paths = {"2.13.keras": f"models/2.13.keras/{MODEL}.keras"}
    registry.write_text(
        json.dumps({"golden_dir": str(ROOT / "golden"), "models": {MODEL: {"paths": paths}}})
    )
    for name in ("harness.toml", "limitations.toml"):
        shutil.copy(ROOT / name, pytester.path / name)
    shutil.copy(ROOT / "compat/test_compat.py", pytester.path / "test_compat.py")
    from harness.cli import main

    config = ["--config", str(pytester.path / "harness.toml"), "--build-dir", str(build)]
    assert main([*config, "convert", "--env", "tf216", "--registry", str(registry)]) == 0
    return registry


def converted(tmp_path: Path) -> Path:
    return tmp_path / f"build/converted/{MODEL}/{MODEL}.2.16.keras"


def record_reference(tmp_path: Path, *, with_layers: bool = False) -> None:
    """This runner's reference as the source environment writes it, its train step taken by the
    migrated model while it is intact (TF 2.13 cannot run here; the test is about detecting a
    change, which the intact file defines)."""
    from harness.core.golden import read_golden
    from harness.core.hardware import fingerprint
    from harness.core.specs import Spec
    from harness.keras import formats
    from harness.source.recorder import record_train_step
    from harness.source.reference import write_reference

    golden = read_golden(ROOT / "golden", MODEL)
    model = formats.load(
        Spec.parse("2.16.keras"), converted(tmp_path), custom_objects={}, trusted=False
    )
    backend = formats.backend()
    replay = read_golden(ROOT / "golden", MODEL)
    replay.predict = backend.predict(model, golden.x, golden.batch_size)
    replay.meta["evaluate"] = backend.evaluate(model, golden.x, golden.y, golden.batch_size)
    replay.meta["train_step"], replay.trained = record_train_step(
        backend, model, golden.x, golden.y
    )
    runner = fingerprint().to_json()
    written = write_reference(tmp_path / "build", runner, ROOT / "golden", golden, replay)
    if with_layers:
        from harness.source import layers
        from harness.source.reference import reference_dir

        outputs = backend.layer_outputs(model, golden.x, golden.batch_size)
        folder = reference_dir(tmp_path / "build", str(runner["id"]))
        layers.write_layers(folder, MODEL, outputs, written.meta["replays"])


def corrupt_slot(path: Path, name: str) -> None:
    """Add 1e-3 to the first value of the optimizer variable ``name`` inside a .keras file."""
    model = keras.models.load_model(path)
    index = [v.path.rsplit("/", 1)[-1] for v in model.optimizer.variables].index(name)
    add_to_weight(path, f"optimizer/vars/{index}", 1e-3)


def add_to_weight(path: Path, dataset: str, delta: float) -> None:
    """Add ``delta`` to the first value of ``dataset`` in a .keras file's model.weights.h5."""
    import h5py

    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    weights = path.parent / "weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "r+") as handle:
        values = np.array(handle[dataset])
        values.flat[0] += delta
        handle[dataset][...] = values
    members["model.weights.h5"] = weights.read_bytes()
    weights.unlink()
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def run(pytester: pytest.Pytester, registry: Path, tmp_path: Path) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--harness-env",
        "tf216",
        "--registry",
        str(registry),
        "--build-dir",
        str(tmp_path / "build"),
        "-k",
        "2.16.keras and (optimizer-state or train-step)",
        "-p",
        "no:cacheprovider",
    )


def test_the_chain_carries_the_optimizer_state_and_the_next_step(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester)
    step = json.loads((tmp_path / "build/steps" / MODEL / "2.16.keras.json").read_text())
    assert step["transplant"] == {"optimizer": "Adam", "slots": 12, "iterations": 12}
    model = keras.models.load_model(converted(tmp_path))
    assert int(model.optimizer.iterations.numpy()) == 12
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    record_reference(tmp_path)
    run(pytester, registry, tmp_path).assert_outcomes(passed=2)
    cells = json.loads(results_file(tmp_path / "build", "tf216").read_text())["cells"]
    status = {cell["check"]: cell for cell in cells}
    assert status["optimizer-state"]["detail"] == (
        "12/12 slot variables identical (12 loaded), iterations 12 (golden 12)"
    )
    assert status["train-step"]["status"] == "pass"


def test_a_corrupted_slot_fails_both_cells_with_the_variable_named(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester)
    record_reference(tmp_path)
    corrupt_slot(converted(tmp_path), "hidden_2_kernel_velocity")
    result = run(pytester, registry, tmp_path)
    result.assert_outcomes(failed=2)
    cells = json.loads(results_file(tmp_path / "build", "tf216").read_text())["cells"]
    by_check = {cell["check"]: cell for cell in cells}
    state = by_check["optimizer-state"]
    assert state["status"] == "mismatch"
    assert state["detail"].startswith(
        "11/12 slot variables identical (12 loaded), iterations 12 (golden 12); differ: 1/256 "
        "values differ (0.4%)"
    ), state["detail"]
    assert "v/hidden_2/kernel:0 (as hidden_2_kernel_velocity)[0, 0] expected" in state["detail"]
    step = by_check["train-step"]
    assert step["status"] == "mismatch"
    assert step["detail"].startswith(
        "train-step: first weight beyond tolerance: hidden_2/kernel, largest: hidden_2/kernel ("
    ), step
    assert "(optimizer Adam); " in step["detail"]


def test_a_perturbed_layer_is_named_as_the_first_to_diverge(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester)
    record_reference(tmp_path, with_layers=True)
    # Keras 3 stores a functional model's weights by class order: hidden_1, hidden_2, price are
    # layers/dense, layers/dense_1, layers/dense_2
    add_to_weight(converted(tmp_path), "layers/dense_1/vars/0", 0.5)
    result = pytester.runpytest_subprocess(
        "--harness-env",
        "tf216",
        "--registry",
        str(registry),
        "--build-dir",
        str(tmp_path / "build"),
        "-k",
        "2.16.keras and predict",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=1)
    cells = json.loads(results_file(tmp_path / "build", "tf216").read_text())["cells"]
    (cell,) = cells
    assert cell["numbers"]["first_diverging_layer"] == "hidden_2"
    assert "; first diverging layer: hidden_2 (max abs diff " in cell["detail"], cell["detail"]


@pytest.mark.parametrize(
    ("fixture", "kinds"),
    [
        ("legacy_adam", {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"}),
        ("legacy_rmsprop", {"rms": "velocity", "momentum": "momentum", "mg": "average_gradient"}),
    ],
)
def test_a_legacy_optimizers_h5_state_is_carried_slot_by_slot(
    fixture: str, kinds: dict[str, str]
) -> None:
    """TF 2.13's keras.optimizers.legacy names slots '<optimizer>/<variable>/<slot>:0' and saves
    no is_legacy_optimizer key; every slot lands on Keras 3's slot of the same variable."""
    from harness.core.optimizer_state import read_h5
    from harness.keras.transplant import transplant

    path = FIXTURES / f"{fixture}.2.13.h5"
    model = keras.models.load_model(path)
    assert transplant(model, path) == {
        "optimizer": f"{model.optimizer.__class__.__name__} (legacy)",
        "slots": 12,
        "iterations": 4,
    }
    state = read_h5(path)
    assert state is not None
    values = {v.path.rsplit("/", 1)[-1]: np.array(v) for v in model.optimizer.variables}
    for slot in state.slots:
        name = f"{slot.variable.replace('/', '_')}_{kinds[slot.kind]}"
        assert np.array_equal(values[name], slot.value), name
    assert int(model.optimizer.iterations.numpy()) == 4
    config = model.optimizer.get_config()
    assert config.get("amsgrad", True) and config.get("centered", True)
