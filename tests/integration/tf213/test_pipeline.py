"""The pipeline with real TensorFlow 2.13 (tox -e tests-tf213): a registry in the recipe's
format pointing at model files elsewhere on disk goes through steps, goldens and the suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.locations import converted_path
from tests.helpers import results_file, run_convert, run_suite

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]


def small_model(lambda_canary: Path | None = None) -> object:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(4,))
    x = tf.keras.layers.Dense(3, activation="relu")(inputs)
    if lambda_canary is not None:
        path = str(lambda_canary)
        x = tf.keras.layers.Lambda(lambda t: (open(path, "w").close(), t)[1], name="canary")(x)
    outputs = tf.keras.layers.Dense(1)(x)
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    import numpy as np

    rng = np.random.RandomState(0)
    model.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 1)), epochs=1, verbose=0)
    return model


@pytest.fixture
def recipe_project(tmp_path: Path) -> Path:
    """Model files in one folder, the registry (recipe format) in another."""
    store = tmp_path / "elsewhere" / "models" / "2.13.keras"
    store.mkdir(parents=True)
    small_model().save(str(store / "run_0a1b2c.keras"))
    registry = tmp_path / "project" / "models" / "model_registry.json"
    registry.parent.mkdir(parents=True)
    registry.write_text(
        json.dumps(
            {"models": {"run_0a1b2c": {"paths": {"2.13.keras": str(store / "run_0a1b2c.keras")}}}},
            indent=4,
        )
    )
    return registry


def convert(registry: Path, build: Path) -> None:
    result = run_convert(registry, build)
    assert result.returncode == 0, result.stderr[-2000:]


def test_recipe_registry_elsewhere_on_disk(
    recipe_project: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    build = tmp_path / "build"
    convert(recipe_project, build)
    registered = recipe_project.read_bytes()
    assert converted_path(build, "run_0a1b2c", "2.13.h5").exists()  # under the build folder
    assert recipe_project.read_bytes() == registered  # the user's registry is not written

    first = run_suite(pytester, recipe_project, "tf213", build)
    first.assert_outcomes(passed=14, failed=1)  # the missing golden is written and fails once
    first.stdout.fnmatch_lines(["*The golden of 'run_0a1b2c' was missing and has been written*"])
    golden = recipe_project.parent / "golden" / "run_0a1b2c" / "golden.json"
    assert json.loads(golden.read_text())["provenance"]["tensorflow"] == "2.13.1"

    second = run_suite(pytester, recipe_project, "tf213", build)
    second.assert_outcomes(passed=15)
    results = json.loads(results_file(build, "tf213").read_text())
    cells = {(c["route"], c["check"]): c for c in results["cells"]}
    assert cells[("direct-h5", "predict")]["detail"] == "bitwise"
    assert cells[("direct-keras", "optimizer-state")]["status"] == "pass"
    assert len(cells[("direct-h5", "load")]["provenance"]["lineage"]) == 2
    # the golden was recorded here: replaying it on the same hardware is exact
    replay = cells[("source", "replay")]
    assert replay["detail"].startswith("predict bitwise; evaluate bitwise; golden recorded on cpu-")
    assert replay["fingerprint"] == json.loads(golden.read_text())["provenance"]["hardware"]["id"]


def test_a_changed_golden_fails_its_replay_with_distances(
    recipe_project: Path, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import numpy as np

    build = tmp_path / "build"
    convert(recipe_project, build)
    run_suite(pytester, recipe_project, "tf213", build)  # writes the golden
    npz = recipe_project.parent / "golden" / "run_0a1b2c" / "golden.npz"
    with np.load(npz) as data:
        arrays = {key: np.array(data[key]) for key in data.files}
    arrays["p0"][0, 0] = np.nextafter(arrays["p0"][0, 0], np.float32(np.inf))
    with open(npz, "wb") as handle:
        np.savez(handle, **arrays)
    result = run_suite(pytester, recipe_project, "tf213", build, verbose=True)
    # the targets match this runner's replay; the golden no longer matches it, on its own hardware
    result.assert_outcomes(passed=14, failed=1)
    # one line, then (-v) the whole observation and the limitations that apply (none)
    result.stdout.fnmatch_lines(
        [
            "run_0a1b2c-2.13.keras-replay: mismatch: the golden does not reproduce on the "
            "hardware that recorded it: predict 1/16 values differ…tf213 -- --golden-regen "
            "--model run_0a1b2c). [[]no limitation applies]",
            "  observed: the golden does not reproduce on the hardware that recorded it: predict "
            "1/16 values differ (6.2%), max abs diff 1.19e-07, max 1 ULP; first: output0[[]0, 0] "
            "expected * (1 ULP); evaluate bitwise; golden recorded on cpu-* (*); replayed on "
            "cpu-* (*). Fix: restore golden/run_0a1b2c and its source model from git, or "
            "regenerate the golden (tox -e tf213 -- --golden-regen --model run_0a1b2c).",
            "  limitations of * that apply here (environment tf213, route source, model "
            "run_0a1b2c, check replay): 0",
        ]
    )


def test_an_untrusted_lambda_is_never_executed(tmp_path: Path, pytester: pytest.Pytester) -> None:
    canary = tmp_path / "canary"
    store = tmp_path / "models" / "2.13.h5"
    store.mkdir(parents=True)
    small_model(lambda_canary=canary).save(str(store / "evil.h5"))
    canary.unlink(missing_ok=True)  # building the model ran the lambda once
    registry = tmp_path / "models" / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "evil": {"paths": {"2.13.h5": "models/2.13.h5/evil.h5"}, "source": "2.13.h5"}
                }
            }
        )
    )
    result = run_suite(pytester, registry, "tf213", tmp_path / "build")
    assert not canary.exists()
    result.stdout.fnmatch_lines(
        [
            "*Refusing to load */evil.h5: it can execute code (Lambda layer at model/*/canary). "
            "Fix: if you trust model 'evil', set \"trusted\": true in its registry entry.*",
        ]
    )
    assert result.ret != 0
