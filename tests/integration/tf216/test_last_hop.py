"""The chain's last hop with real Keras 3 (tox -e tests-tf216): metric recompilation is what
makes evaluate work, and without it the metrics cell names the broken metrics."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import as_converted, results_file

pytestmark = pytest.mark.tensorflow
pytest.importorskip("keras", minversion="3")
ROOT = Path(__file__).parents[3]
MODEL = "dense_regression"


def project(
    tmp_path: Path, pytester: pytest.Pytester, *, recompile: bool, registered_h5: bool = False
) -> Path:
    """The source .keras registered (and, with ``registered_h5``, the user's own 2.15.h5 too);
    the harness's 2.13.h5 and 2.15.h5 in the build folder as TF 2.13 and 2.15 wrote them."""
    store = tmp_path / "models"
    (store / "2.13.keras").mkdir(parents=True)
    shutil.copy(
        ROOT / "golden/dense_regression/model.2.13.keras",
        store / "2.13.keras/dense_regression.keras",
    )
    paths = {"2.13.keras": "models/2.13.keras/dense_regression.keras"}
    if registered_h5:
        (store / "2.15.h5").mkdir()
        shutil.copy(
            ROOT / "tests/fixtures/dense_regression.2.15.h5", store / "2.15.h5/dense_regression.h5"
        )
        paths["2.15.h5"] = "models/2.15.h5/dense_regression.h5"
    build = tmp_path / "build"
    fixtures = ROOT / "tests/fixtures"
    as_converted(build, MODEL, "2.13.keras->2.13.h5@tf213", fixtures / "dense_regression.2.13.h5")
    as_converted(build, MODEL, "2.13.h5->2.15.h5@tf215", fixtures / "dense_regression.2.15.h5")
    registry = store / "model_registry.json"
    registry.write_text(
        json.dumps({"golden_dir": str(ROOT / "golden"), "models": {MODEL: {"paths": paths}}})
    )
    config = (ROOT / "harness.toml").read_text()
    if not recompile:
        config = config.replace("recompile_metrics = true", "recompile_metrics = false")
    (pytester.path / "harness.toml").write_text(config)
    shutil.copy(ROOT / "limitations.toml", pytester.path / "limitations.toml")
    shutil.copy(ROOT / "compat/test_compat.py", pytester.path / "test_compat.py")
    from harness.cli import main

    assert (
        main(
            [
                "--config",
                str(pytester.path / "harness.toml"),
                "--build-dir",
                str(tmp_path / "build"),
                "convert",
                "--env",
                "tf216",
                "--registry",
                str(registry),
            ]
        )
        == 0
    )
    return registry


def run(
    pytester: pytest.Pytester, registry: Path, tmp_path: Path, *options: str
) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *options,
        "--harness-env",
        "tf216",
        "--registry",
        str(registry),
        "--build-dir",
        str(tmp_path / "build"),
        "-k",
        "2.16.keras",
        "-p",
        "no:cacheprovider",
    )


def test_the_chain_with_recompilation_passes(tmp_path: Path, pytester: pytest.Pytester) -> None:
    registry = project(tmp_path, pytester, recompile=True)
    result = run(pytester, registry, tmp_path)
    # no tf213 ran here, so no train step of the source model on this runner: an error, never a
    # pass
    result.assert_outcomes(passed=5, failed=1)
    cells = json.loads(results_file(tmp_path / "build", "tf216").read_text())["cells"]
    by_check = {cell["check"]: cell for cell in cells}
    # no tf213 ran on this runner: the golden (recorded on another machine) is the reference,
    # under the cross-hardware tolerance, and the cells say so
    label = (
        f"vs the golden (no runner reference for {cells[0]['fingerprint']}: cross-hardware "
        "tolerance max abs 1e-05 or 128 ULP)"
    )
    for check in ("predict", "evaluate", "metrics"):
        assert by_check[check]["status"] == "pass"
        assert by_check[check]["detail"].endswith(label), by_check[check]["detail"]
        assert by_check[check]["provenance"]["compared_with"] == "golden (cross-hardware tolerance)"
    assert by_check["metrics"]["detail"].startswith("mae, mse: ")
    # the last hop carried Adam's slots and iteration count across
    assert by_check["optimizer-state"]["status"] == "pass"
    assert by_check["optimizer-state"]["detail"] == (
        "12/12 slot variables identical (12 loaded), iterations 12 (golden 12)"
    )
    assert by_check["train-step"]["status"] == "error:NoTrainStepReference"


def test_without_recompilation_the_metrics_cell_names_them(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester, recompile=False)
    result = run(pytester, registry, tmp_path)
    result.assert_outcomes(passed=3, failed=3)
    # one line each; the catalogue explains the same error on the .h5 routes, not on chain
    nearest = "[[]nearest: h5-metric-fn-unresolved (applies_to excludes route chain)]"
    result.stdout.fnmatch_lines(
        [
            "dense_regression-2.16.keras-evaluate: error:TypeError: 'str' object is not "
            f"callable {nearest}",
            "dense_regression-2.16.keras-metrics: error:TypeError: metrics missing or broken: "
            "'mae' broken (TypeError:…str' object is not callable " + nearest,
            "keras-harness: -v (or HARNESS_VERBOSE=1) shows each failure's full explanation "
            "(every limitation that applies, with its evidence) and TensorFlow's log",
        ]
    )
    assert "warnings summary" not in result.stdout.str()  # Keras' notes are silenced
    # with -v, the whole observation follows, with the limitations that apply
    verbose = run(pytester, registry, tmp_path, "-v")
    verbose.stdout.fnmatch_lines(
        [
            "dense_regression-2.16.keras-metrics: error:TypeError: metrics missing or broken: *",
            "  observed: TypeError: metrics missing or broken: 'mae' broken (TypeError: 'str' "
            "object is not callable), 'mse' broken (TypeError: 'str' object is not callable); "
            "evaluate() failed: *",
            "  limitations of * that apply here (environment tf216, route chain, model "
            "dense_regression, check metrics): *",
        ]
    )


def test_keras_logs_show_with_verbose_only(tmp_path: Path, pytester: pytest.Pytester) -> None:
    """Keras 3's .h5 loader warns that it lost the optimizer state: silenced, and shown by -v."""
    registry = project(tmp_path, pytester, recompile=True)
    options = ["--harness-env", "tf216", "--registry", str(registry), "--build-dir"]
    options += [str(tmp_path / "build"), "-k", "2.15.h5 and load", "-p", "no:cacheprovider"]
    quiet = pytester.runpytest_subprocess(*options, "-rP")  # passed tests' output too
    assert not any("Error in loading the saved optimizer state" in x for x in quiet.outlines)
    verbose = pytester.runpytest_subprocess(*options, "-v", "-rP")  # passed tests' output too
    verbose.stdout.fnmatch_lines(["*Error in loading the saved optimizer state*"])


def hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_a_registered_h5_is_verified_beside_the_harnesss_own_and_never_written(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester, recompile=True, registered_h5=True)
    before = hashes(registry.parent)
    result = pytester.runpytest_subprocess(
        "--harness-env",
        "tf216",
        "--registry",
        str(registry),
        "--build-dir",
        str(tmp_path / "build"),
        "-k",
        "2.15.h5",
        "-p",
        "no:cacheprovider",
    )
    assert hashes(registry.parent) == before  # convert and verify wrote nothing of the user's
    cells = json.loads(results_file(tmp_path / "build", "tf216").read_text())["cells"]
    status = {(c["route"], c["check"]): c["status"] for c in cells}
    for route in ("chain-h5", "chain-h5+registered"):
        assert status[(route, "load")] == "pass", route
        assert status[(route, "predict")] == "pass", route
        assert status[(route, "optimizer-state")] == "limitation:optimizer-state-lost", route
        assert status[(route, "train-step")] == (
            "limitation:keras3-h5-optimizer-built-on-nothing"
        ), route
    result.assert_outcomes(passed=12)


def test_a_route_whose_step_has_not_run_is_not_produced_and_fails(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester, recompile=True)
    (tmp_path / "build/steps" / MODEL / "2.13.h5.json").unlink()  # tf213 never ran here
    result = pytester.runpytest_subprocess(
        "--harness-env",
        "tf216",
        "--registry",
        str(registry),
        "--build-dir",
        str(tmp_path / "build"),
        "-k",
        "2.13.h5",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(
        [
            f"{MODEL}-2.13.h5-load: not-produced:2.13.keras->2.13.h5@tf213: not produced: step "
            "2.13.keras->2.13.h5@tf213 has not run. Fix: run tox -e tf213 before tox -e tf216 "
            "(or run tox)."
        ]
    )
