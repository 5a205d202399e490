"""The chain's last hop with real Keras 3 (tox -e tests-tf216): metric recompilation is what
makes evaluate work, and without it the metrics cell names the broken metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import results_file

pytestmark = pytest.mark.tensorflow
pytest.importorskip("keras", minversion="3")
ROOT = Path(__file__).parents[3]


def project(tmp_path: Path, pytester: pytest.Pytester, *, recompile: bool) -> Path:
    store = tmp_path / "models"
    (store / "2.13.keras").mkdir(parents=True)
    (store / "2.15.h5").mkdir()
    shutil.copy(
        ROOT / "golden/dense_regression/model.2.13.keras",
        store / "2.13.keras/dense_regression.keras",
    )
    shutil.copy(
        ROOT / "tests/fixtures/dense_regression.2.15.h5", store / "2.15.h5/dense_regression.h5"
    )
    registry = store / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "golden_dir": str(ROOT / "golden"),
                "models": {
                    "dense_regression": {
                        "paths": {
                            "2.13.keras": "models/2.13.keras/dense_regression.keras",
                            "2.15.h5": "models/2.15.h5/dense_regression.h5",
                        }
                    }
                },
            }
        )
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


def run(pytester: pytest.Pytester, registry: Path, tmp_path: Path) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
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
    result.assert_outcomes(passed=5)
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
    assert by_check["optimizer-state"]["status"] == "limitation:optimizer-state-lost"


def test_without_recompilation_the_metrics_cell_names_them(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = project(tmp_path, pytester, recompile=False)
    result = run(pytester, registry, tmp_path)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "dense_regression-2.16.keras-metrics: error:TypeError: metrics missing or broken: "
            "'mae' broken (TypeError: 'str' object is not callable), 'mse' broken (TypeError: "
            "'str' object is not callable); evaluate() failed: *",
        ]
    )
