from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.core.results import Cell, read_results, write_results
from harness.report import matrix, render


def cell(model: str = "m", check: str = "predict", status: str = "pass", **kw: object) -> Cell:
    numbers = kw.pop("numbers", {"max_abs_diff": 0.0, "max_ulp": 0, "mismatches": 0, "total": 4})
    return Cell(
        model=model,
        env="tf216",
        device="cpu",
        route="chain",
        spec="2.16.keras",
        check=check,
        status=status,
        numbers=numbers,
        **kw,
    )  # type: ignore[arg-type]


def shard(tmp_path: Path, name: str, cells: list[Cell]) -> Path:
    path = tmp_path / f"{name}.json"
    write_results(path, env="tf216", device="cpu", run={}, cells=cells)
    return path


def test_results_round_trip(tmp_path: Path) -> None:
    path = shard(tmp_path, "a", [cell(), cell(check="load")])
    assert [c.key.text for c in read_results(path)] == [
        "m|tf216|cpu|chain|load",
        "m|tf216|cpu|chain|predict",
    ]


def test_two_shards_merge_to_one_run(tmp_path: Path) -> None:
    one = shard(tmp_path, "one", [cell("a"), cell("b")])
    s1, s2 = shard(tmp_path, "s1", [cell("a")]), shard(tmp_path, "s2", [cell("b"), cell("a")])
    assert matrix.merge([s1, s2]) == matrix.merge([one])


def test_conflicting_duplicates_are_refused(tmp_path: Path) -> None:
    s1 = shard(tmp_path, "s1", [cell("a")])
    s2 = shard(tmp_path, "s2", [cell("a", status="mismatch")])
    with pytest.raises(ResultsError) as info:
        matrix.merge([s1, s2])
    assert str(info.value) == (
        f"Conflicting results for cell a|tf216|cpu|chain|predict on runner cpu: pass in {s1} "
        f"and mismatch in {s2}. Fix: delete the stale file and rerun its environment."
    )


def drifted(fingerprint: str, ulp: int, status: str = "pass") -> Cell:
    numbers = {"max_abs_diff": 1e-7 * ulp, "max_ulp": ulp, "mismatches": min(ulp, 4), "total": 4}
    return cell("a", status=status, numbers=numbers, fingerprint=fingerprint)


def test_two_runners_merge_side_by_side_and_each_is_gated(tmp_path: Path) -> None:
    """The same cell from two hardware fingerprints is two cells, not a conflict; the gate
    holds each against the one baseline, and a moved number is drift, not a failure."""
    s1 = shard(tmp_path, "avx512", [drifted("cpu-aaaaaaaa", 0)])
    s2 = shard(tmp_path, "avx2", [drifted("cpu-bbbbbbbb", 3)])
    cells = matrix.merge([s1, s2])
    assert [c.fingerprint for c in cells] == ["cpu-aaaaaaaa", "cpu-bbbbbbbb"]
    baseline = matrix.baseline_from([cells[0]])["cells"]
    report = matrix.gate(cells, baseline)
    assert report.ok
    assert report.drift == [
        "a|tf216|cpu|chain|predict|cpu-bbbbbbbb: {'max_abs_diff': 0.0, 'max_ulp': 0, "
        "'mismatches': 0, 'total': 4} -> {'max_abs_diff': 3e-07, 'max_ulp': 3, "
        "'mismatches': 3, 'total': 4}"
    ]
    worse = matrix.gate([cells[0], drifted("cpu-bbbbbbbb", 3, "mismatch")], baseline)
    assert worse.regressions == ["a|tf216|cpu|chain|predict|cpu-bbbbbbbb: pass -> mismatch"]


def test_a_baseline_cell_is_missing_only_when_no_runner_made_it() -> None:
    baseline = matrix.baseline_from([cell("a"), cell("b")])["cells"]
    report = matrix.gate(
        [drifted("cpu-aaaaaaaa", 0), cell("b", fingerprint="cpu-bbbbbbbb")], baseline
    )
    assert report.ok
    assert matrix.gate([cell("a")], baseline).regressions == [
        "b|tf216|cpu|chain|predict: pass -> missing"
    ]


def test_runners_that_disagree_on_a_status_make_no_baseline() -> None:
    with pytest.raises(ResultsError) as info:
        matrix.baseline_from([drifted("cpu-aaaaaaaa", 0), drifted("cpu-bbbbbbbb", 9, "mismatch")])
    assert str(info.value) == (
        "Runners disagree on cell a|tf216|cpu|chain|predict: pass on cpu-aaaaaaaa, mismatch on "
        "cpu-bbbbbbbb. Fix: a status must not depend on the hardware; look at both cells before "
        "updating the baseline."
    )


def test_hardware_drift_lists_each_runners_replay() -> None:
    replay = {"route": "source", "spec": "2.13.keras", "check": "replay"}
    same = Cell(
        "m",
        "tf213",
        "cpu",
        status="pass",
        fingerprint="cpu-aaaaaaaa",
        **replay,
        numbers={"max_abs_diff": 0.0, "max_ulp": 0, "mismatches": 0, "total": 8},
    )
    other = Cell(
        "m",
        "tf213",
        "cpu",
        status="pass",
        fingerprint="cpu-bbbbbbbb",
        **replay,
        numbers={"max_abs_diff": 1.2e-7, "max_ulp": 8, "mismatches": 3, "total": 8},
    )
    assert matrix.hardware_drift([other, same]) == [
        "m on cpu-aaaaaaaa: pass, bitwise",
        "m on cpu-bbbbbbbb: pass, 3/8 values differ, max 8 ULP, max abs diff 1.2e-07",
    ]


def test_unknown_status_is_refused(tmp_path: Path) -> None:
    path = shard(tmp_path, "s", [cell(status="green")])
    with pytest.raises(ResultsError, match="Unknown cell status 'green'"):
        read_results(path)


@pytest.mark.parametrize(
    ("before", "now", "bucket"),
    [
        ("pass", "mismatch", "regressions"),
        ("pass", "skipped:no-gpu", "regressions"),
        ("pass", None, "regressions"),
        ("mismatch", "pass", "improvements"),
        ("limitation:optimizer-state-lost", "pass", "improvements"),
        ("limitation:optimizer-state-lost", "error:TypeError", "regressions"),
        (None, "pass", "new"),
        ("limitation:optimizer-state-lost", None, "regressions"),
    ],
)
def test_gate_transitions(before: str | None, now: str | None, bucket: str) -> None:
    baseline = matrix.baseline_from([cell(status=before)])["cells"] if before else {}
    report = matrix.gate([cell(status=now)] if now else [], baseline)
    assert not report.ok
    assert len(getattr(report, bucket)) == 1
    assert "tox -e matrix -- --update-baseline" in report.render()


def test_unchanged_matrix_passes_and_reports_drift() -> None:
    baseline = matrix.baseline_from([cell()])["cells"]
    drifted = cell(numbers={"max_abs_diff": 1e-8, "max_ulp": 3, "mismatches": 1, "total": 4})
    report = matrix.gate([drifted], baseline)
    assert report.ok and len(report.drift) == 1
    assert report.render().endswith("The gate passed: every cell matches the baseline.")


def test_markdown_tells_bitwise_from_ulp_and_limitations() -> None:
    cells = [
        cell("dense"),
        cell("dense", check="evaluate"),
        cell("dense", check="load", numbers={}),
        cell("conv", check="metrics", detail="accuracy: bitwise", numbers={}),
        cell("conv", numbers={"max_abs_diff": 4e-8, "max_ulp": 5, "mismatches": 2, "total": 9}),
        cell(
            "dense", check="optimizer-state", status="limitation:optimizer-state-lost", numbers={}
        ),
        cell(
            "dense", check="metrics", status="mismatch", detail="missing metric 'mae'", numbers={}
        ),
    ]
    text = render.render_markdown(cells, titles={"optimizer-state-lost": "fresh optimizer"})
    assert (
        "| tf216-cpu | chain (2.16.keras) | ✅ | ✅ bitwise | ✅ bitwise | ❌ mismatch | 📘 "
        in text
    )
    assert "| ✅ accuracy |" in text
    assert "✅ ≤5 ULP" in text
    assert "- `dense` tf216-cpu chain metrics: **mismatch** — missing metric 'mae'" in text
    assert "- `optimizer-state-lost`: fresh optimizer" in text


def test_missing_baseline_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ResultsError) as info:
        matrix.read_baseline(tmp_path / "b.json")
    assert str(info.value) == (
        f"Baseline not found: {tmp_path / 'b.json'}. Fix: review the matrix, then create it "
        "with tox -e matrix -- --update-baseline."
    )


def test_cli_matrix_gates_and_updates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    results = shard(tmp_path, "tf216-cpu", [cell(), cell(check="metrics", status="mismatch")])
    (tmp_path / "lim.toml").write_text("")
    args = [
        "--build-dir",
        str(tmp_path),
        "matrix",
        "--results",
        str(results),
        "--baseline",
        str(tmp_path / "base.json"),
        "--compat-md",
        str(tmp_path / "COMPAT.md"),
        "--limitations",
        str(tmp_path / "lim.toml"),
    ]
    assert main([*args, "--update-baseline"]) == 0
    assert main(args) == 0
    data = json.loads((tmp_path / "base.json").read_text())
    data["cells"]["m|tf216|cpu|chain|metrics"]["status"] = "pass"
    (tmp_path / "base.json").write_text(json.dumps(data))
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "m|tf216|cpu|chain|metrics: pass -> mismatch" in out
    assert "update the baseline with: tox -e matrix -- --update-baseline" in out


def test_cli_merges_folders_of_shards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    (tmp_path / "cpu").mkdir()
    (tmp_path / "gpu").mkdir()
    shard(tmp_path / "cpu", "tf216-cpu", [cell("a")])
    gpu = cell("a")
    gpu.device = "gpu"
    shard(tmp_path / "gpu", "tf216-gpu", [gpu, cell("b")])
    (tmp_path / "lim.toml").write_text("")
    args = [
        "--build-dir",
        str(tmp_path),
        "matrix",
        "--results",
        str(tmp_path / "cpu"),
        str(tmp_path / "gpu"),
        "--baseline",
        str(tmp_path / "base.json"),
        "--compat-md",
        str(tmp_path / "COMPAT.md"),
        "--limitations",
        str(tmp_path / "lim.toml"),
        "--update-baseline",
    ]
    assert main(args) == 0
    assert "merged 3 cells from 2 results files" in capsys.readouterr().out
    for name in ("matrix.json", "matrix.csv", "matrix.html", "heatmap.png"):
        assert (tmp_path / "matrix" / name).stat().st_size > 0
