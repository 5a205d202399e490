"""Verdicts that hold on any runner, shown on one machine with two CPU kinds (tox -e tests-tf213).

``ONEDNN_MAX_CPU_ISA=AVX2`` makes oneDNN pick other kernels, as another CPU generation would. The
committed goldens were recorded on yet another machine. Under both kinds the suite passes: each
runner's targets are compared with the source model replayed on its own hardware, the hardware
drift (golden vs replay) is its own ``replay`` cell, and a real change in a converted file still
fails on both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.locations import converted_path
from harness.core.results import read_results
from harness.report import matrix
from tests.helpers import case_registry, run_convert, run_suite

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]
MODEL = "dense_regression"  # drifts across CPUs (e.g. 21 of 64 outputs by up to 8 ULP)
KINDS = {"native": None, "avx2": "AVX2"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """One embedded case with its committed golden (recorded on another machine)."""
    registry = case_registry(tmp_path, [MODEL])
    result = run_convert(registry, tmp_path / "build")
    assert result.returncode == 0, result.stderr[-2000:]
    return registry


def run_as(
    kind: str,
    pytester: pytest.Pytester,
    registry: Path,
    build: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.RunResult:
    if KINDS[kind]:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", str(KINDS[kind]))
    else:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    return run_suite(pytester, registry, "tf213", build)


def results(build: Path) -> dict[str, list[object]]:
    return {path.name: read_results(path) for path in sorted((build / "results").glob("*.json"))}


def test_the_gate_holds_on_two_cpu_kinds_and_a_changed_weight_fails_on_both(
    project: Path, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = tmp_path / "build"
    for kind in KINDS:
        outcome = run_as(kind, pytester, project, build, monkeypatch)
        outcome.assert_outcomes(passed=15)  # golden, replay, names, 2 routes x 6 checks
    files = results(build)
    assert len(files) == 2, files  # tf213-<fingerprint>.json, one per CPU kind
    cells = matrix.merge([build / "results" / name for name in files])
    fingerprints = sorted({c.fingerprint for c in cells})
    assert len(fingerprints) == 2 and all(f.startswith("cpu-") for f in fingerprints)

    # every target check is judged against its own hardware's replay: bitwise on both kinds
    for cell in cells:
        if cell.check in ("predict", "evaluate"):
            assert cell.detail == "bitwise", cell
            assert cell.provenance["compared_with"] == f"runner reference {cell.fingerprint}"
    # the drift against the committed golden is reported per runner, naming both fingerprints
    replays = [c for c in cells if c.check == "replay"]
    assert [c.fingerprint for c in replays] == fingerprints
    for cell in replays:
        assert cell.status == "pass"
        assert "golden recorded on unrecorded (a cpu: " in cell.detail
        assert f"replayed on {cell.fingerprint} (" in cell.detail
    native = next(c for c in replays if "max ISA" not in c.provenance["hardware"]["summary"])
    assert "max ISA AVX2" not in native.detail
    assert any("(max ISA AVX2)" in c.detail for c in replays)
    # one baseline (the first kind's) holds for both kinds
    first = [c for c in cells if c.fingerprint == fingerprints[0]]
    baseline = matrix.baseline_from(first)["cells"]
    report = matrix.gate(cells, baseline)
    assert report.ok, report.render()
    assert len(report.hardware) == 2

    # a real difference in a converted file fails on both kinds
    change_a_weight(converted_path(build, MODEL, "2.13.h5"))  # the harness's own conversion
    for kind in KINDS:
        outcome = run_as(kind, pytester, project, build, monkeypatch)
        outcome.assert_outcomes(passed=11, failed=4)  # predict, evaluate, metrics, train-step
        outcome.stdout.fnmatch_lines(
            [f"*{MODEL}-2.13.h5-predict: mismatch: predict: * values differ*"]
        )
    # ... and the gate, on each runner
    changed = matrix.gate(matrix.merge(list((build / "results").glob("*.json"))), baseline)
    assert sorted(r.split(" (", 1)[0] for r in changed.regressions) == sorted(
        f"{MODEL}|tf213|cpu|direct-h5|{check}|{fingerprint}: pass -> mismatch"
        for check in ("predict", "evaluate", "metrics", "train-step")
        for fingerprint in fingerprints
    ), changed.render()


def change_a_weight(path: Path) -> None:
    """Add 0.01 to the first kernel value of the first Dense layer in a legacy .h5 file."""
    import h5py

    with h5py.File(path, "r+") as handle:
        kernels: list[str] = []
        handle["model_weights"].visit(
            lambda name: kernels.append(name) if "kernel" in name else None
        )
        dataset = handle["model_weights"][sorted(kernels)[0]]
        values = dataset[()]
        values.flat[0] += 0.01
        dataset[...] = values
