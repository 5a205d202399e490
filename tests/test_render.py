from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.core.results import Cell
from harness.report import page as html_page
from harness.report import render


def cell(
    model: str = "m", env: str = "tf216", check: str = "predict", status: str = "pass", **kw: object
) -> Cell:
    numbers = kw.pop("numbers", {"max_abs_diff": 0.0, "max_ulp": 0, "mismatches": 0, "total": 4})
    provenance = {
        "route": "chain",
        "versions": {"tensorflow": "2.16.2", "keras": "3.15.1"},
        "device_name": "cpu0",
        "runner": "r1",
        "lineage": [
            {"spec": "2.13.keras", "env": "source", "sha256": "a" * 64},
            {"spec": "2.16.keras", "env": "tf216", "sha256": "b" * 64},
        ],
    }
    return Cell(
        model=model,
        env=env,
        device="cpu",
        route="chain",
        spec="2.16.keras",
        check=check,
        status=status,
        numbers=numbers,
        provenance=provenance,
        **kw,
    )  # type: ignore[arg-type]


CELLS = [
    cell(),
    cell(check="optimizer-state", status="limitation:optimizer-state-lost", numbers={}),
    cell("n", check="load", status="error:TypeError", detail="</script><b>x</b>", numbers={}),
    cell("n", env="tf215", check="metrics", status="mismatch", detail="missing 'mae'", numbers={}),
]


def test_json_matrix_follows_the_published_schema(tmp_path: Path) -> None:
    import jsonschema

    path = tmp_path / "matrix.json"
    render.write_json_matrix(path, CELLS, limitations={"optimizer-state-lost": "fresh"})
    document = json.loads(path.read_text())
    jsonschema.validate(document, render.schema())
    assert document["counts"] == {
        "error": 1,
        "mismatch": 1,
        "skipped": 0,
        "not-produced": 0,
        "limitation": 1,
        "pass": 1,
    }
    document["cells"][0]["status"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, render.schema())


def test_the_matrix_holds_each_runners_fingerprint_once(tmp_path: Path) -> None:
    import jsonschema

    from harness.core.hardware import Fingerprint, cpu_details

    avx2 = Fingerprint("cpu", cpu_details({"ONEDNN_MAX_CPU_ISA": "AVX2"}, "flags : avx avx2"))
    native = Fingerprint("cpu", cpu_details({}, "flags : avx avx2"))
    cells = []
    for fingerprint in (avx2, native):
        for model in ("m", "n"):
            one = cell(model, fingerprint=fingerprint.id)
            one.provenance["hardware"] = fingerprint.to_json()
            cells.append(one)
    path = tmp_path / "matrix.json"
    render.write_json_matrix(path, cells, limitations={})
    document = json.loads(path.read_text())
    jsonschema.validate(document, render.schema())
    assert document["runners"] == {
        f.id: f.to_json() for f in sorted((avx2, native), key=lambda f: f.id)
    }
    assert document["cells"][0]["provenance"]["hardware"] == {
        "id": avx2.id,
        "device": "cpu",
        "summary": avx2.describe(),
    }
    assert "(max ISA AVX2)" in avx2.describe() and document["cells"][0]["fingerprint"] == avx2.id
    markdown = render.render_markdown(cells)
    assert f"| {avx2.id} | {avx2.describe()} |" in markdown  # the Runners table
    assert f"| tf216-{native.id} | chain (2.16.keras) |" in markdown  # rows per runner


def test_csv_has_one_row_per_cell_with_provenance() -> None:
    rows = list(csv.DictReader(io.StringIO(render.render_csv(CELLS))))
    assert len(rows) == 4
    assert rows[0]["status"] == "pass" and rows[0]["max_ulp"] == "0"
    assert rows[0]["lineage"] == "2.13.keras@source:aaaaaaaaaaaa > 2.16.keras@tf216:bbbbbbbbbbbb"
    assert rows[2]["detail"] == "</script><b>x</b>"


def test_html_is_self_contained_and_escapes_cell_text() -> None:
    page = html_page.render_html(CELLS)
    assert "http://" not in page and "https://" not in page
    assert "<script src" not in page and "<link" not in page
    assert "</script><b>x</b>" not in page  # cannot close the data block
    data = page.split('<script type="application/json" id="data">', 1)[1].split("</script>")[0]
    payload = json.loads(data)
    kinds = {(c["model"], c["env"], c["check"]): c["kind"] for c in payload["cells"]}
    assert kinds == {
        ("m", "tf216", "predict"): "pass",
        ("m", "tf216", "optimizer-state"): "limitation",
        ("n", "tf216", "load"): "error",
        ("n", "tf215", "metrics"): "mismatch",
    }
    assert any(c["detail"] == "</script><b>x</b>" for c in payload["cells"])
    assert '<option value="tf215-cpu">tf215-cpu</option>' in page


def test_heatmap_is_a_png(tmp_path: Path) -> None:
    from harness.report.heatmap import write_heatmap

    path = tmp_path / "heatmap.png"
    write_heatmap(path, CELLS)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_fits_the_limit() -> None:
    markdown = render.render_markdown(CELLS * 1)
    assert render.fit_summary(markdown, CELLS, limit=10**6) == markdown
    shorter = render.fit_summary(markdown, CELLS, limit=len(markdown.encode()) - 1)
    assert "## Details" not in shorter and "Details left out" in shorter
    tiny = render.fit_summary(markdown, CELLS, limit=400)
    assert len(tiny.encode()) <= 400 and tiny.startswith("# Compatibility matrix (counts only")


def test_a_predict_cell_reports_its_distance() -> None:
    cell_text = render.cell_text
    bitwise = Cell("m", "tf216", "cpu", "chain", "2.16.keras", "predict", "pass")
    bitwise.numbers = {"mismatches": 0, "max_ulp": 0, "max_abs_diff": 0.0}
    assert cell_text(bitwise) == "✅ bitwise"
    close = Cell("m", "tf216", "cpu", "chain", "2.16.keras", "predict", "pass")
    close.numbers = {"mismatches": 86, "max_ulp": 4, "max_abs_diff": 1.1920928955078125e-07}
    assert cell_text(close) == "✅ ≤4 ULP, max abs 1.2e-07"


def test_expected_cells_have_their_own_table_and_follow_the_schema(tmp_path: Path) -> None:
    import jsonschema

    source = {"route": "source", "spec": "2.13.keras"}
    replay = Cell("m", "tf213", "cpu", check="replay", status="pass", **source)
    stated = Cell(
        "m",
        "tf213",
        "cpu",
        check="expected",
        status="limitation:source-load-renames-output-metrics",
        **source,
    )
    markdown = render.render_markdown([replay, stated])
    drift = markdown.split("## Hardware drift", 1)[1].split("## Stated values", 1)
    assert drift[0].count("| m | cpu |") == 1 and "| m | cpu | ✅ bitwise |" in drift[0]
    assert drift[1].count("| m | cpu |") == 1
    assert "| m | cpu | 📘 `source-load-renames-output-metrics` |" in drift[1]
    path = tmp_path / "matrix.json"
    render.write_json_matrix(path, [replay, stated], limitations={})
    jsonschema.validate(json.loads(path.read_text()), render.schema())
