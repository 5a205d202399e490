"""``keras-harness matrix`` as one library call: merge every results file, write the renderings
(COMPAT.md, matrix.json/csv/html, heatmap.png), then either write the baseline or gate on it and
write ``changes.md`` and GitHub's job summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.core.atomic import write_json
from harness.core.config import load_config
from harness.core.errors import ResultsError
from harness.core.limitations import load_catalogue
from harness.core.results import Cell
from harness.report import matrix, page, render
from harness.report.heatmap import write_heatmap


@dataclass(frozen=True)
class Published:
    """What a publication did: the lines to print, and whether the gate passed."""

    lines: list[str]
    ok: bool


RUN_FIRST = "run the verification environments first (e.g. tox -e tf213,tf215,tf216)"


def results_files(sources: list[Path]) -> list[Path]:
    """Results files given directly or as folders of them; a source that does not exist, or
    folders that hold none, are refused."""
    paths = []
    for source in sources:
        if not source.exists():
            raise ResultsError(
                f"Results not found: {source}. Fix: {RUN_FIRST}, or pass --results with the "
                f"results files or the folders that hold them."
            )
        paths += sorted(source.glob("*.json")) if source.is_dir() else [source]
    if not paths:
        raise ResultsError(
            f"No results files (*.json) in {', '.join(map(str, sources))}. Fix: {RUN_FIRST}."
        )
    return paths


def publish(
    *,
    sources: list[Path],
    out: Path,
    compat_md: Path,
    baseline: Path,
    limitations: Path,
    config: Path,
    update_baseline: bool = False,
    summary: Path | None = None,
) -> Published:
    # Every input is read, and a malformed one refused, before anything is written; only a
    # baseline that does not exist yet is reported after the renderings (review them, then
    # create it).
    paths = results_files(sources)
    cells = matrix.merge(paths)
    titles = {entry.id: entry.title for entry in load_catalogue(limitations).entries}
    route_order = list(load_config(config).routes) if config.exists() else []
    previous = None
    if not update_baseline and baseline.exists():
        previous = matrix.read_baseline(baseline)
    _check_outputs(out, compat_md)
    markdown = render.render_markdown(cells, titles=titles, route_order=route_order)
    written = write_renderings(out, compat_md, cells, markdown, titles, route_order)
    lines = [f"merged {len(cells)} cells from {len(paths)} results files -> {', '.join(written)}"]
    if update_baseline:
        write_json(baseline, matrix.baseline_from(cells), indent=1)
        return Published([*lines, f"baseline updated: {baseline} ({len(cells)} cells)"], True)
    report = matrix.gate(
        cells, previous if previous is not None else matrix.read_baseline(baseline)
    )
    text = report.render()
    render.write_text(out / "changes.md", "# What changed against the baseline\n\n" + text + "\n")
    if summary is not None:
        with open(summary, "a", encoding="utf-8") as handle:
            gate_text = f"\n## Gate\n\n```\n{text[:20_000]}\n```\n"
            limit = render.SUMMARY_LIMIT - len(gate_text.encode("utf-8"))
            handle.write(render.fit_summary(markdown, cells, limit) + gate_text)
    return Published([*lines, text], report.ok)


def _check_outputs(out: Path, compat_md: Path) -> None:
    """Refuse an output folder that is a file, or a COMPAT.md that is a folder."""
    if out.exists() and not out.is_dir():
        raise ResultsError(
            f"Output folder {out} is a file. Fix: pass --out with a folder (it is created)."
        )
    if compat_md.is_dir():
        raise ResultsError(
            f"COMPAT.md path {compat_md} is a folder. Fix: pass --compat-md with a file's path."
        )


def write_renderings(
    out: Path,
    compat_md: Path,
    cells: list[Cell],
    markdown: str,
    titles: dict[str, str],
    route_order: list[str],
) -> list[str]:
    """COMPAT.md, matrix.json (schema'd), matrix.csv, matrix.html and heatmap.png."""
    render.write_text(compat_md, markdown)
    render.write_json_matrix(out / "matrix.json", cells, limitations=titles)
    render.write_text(out / "matrix.csv", render.render_csv(cells))
    render.write_text(out / "matrix.html", page.render_html(cells, route_order=route_order))
    write_heatmap(out / "heatmap.png", cells)
    names = ["matrix.json", "matrix.csv", "matrix.html", "heatmap.png"]
    return [str(compat_md)] + [str(out / name) for name in names]
