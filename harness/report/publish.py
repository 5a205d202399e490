"""``keras-harness matrix`` as one library call: merge every results file, write the renderings
(COMPAT.md, matrix.json/csv/html, heatmap.png), then either write the baseline or gate on it and
write ``changes.md`` and GitHub's job summary. What it prints ends with the summary that a person
reads at the end of ``tox`` (:mod:`harness.report.summary`): per environment, the cells that pass,
are limitations, were not produced and fail, and the top failing causes."""

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
from harness.report.summary import Judge, failing_section, summary_lines


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
    catalogue = load_catalogue(limitations)
    titles = {entry.id: entry.title for entry in catalogue.entries}
    harness_config = load_config(config) if config.exists() else None
    route_order = list(harness_config.routes) if harness_config else []
    previous = None
    if not update_baseline and baseline.exists():
        previous = matrix.read_baseline(baseline)
    _check_outputs(out, compat_md)
    judge = Judge(catalogue, harness_config)
    markdown = render.render_markdown(cells, titles=titles, route_order=route_order)
    written = write_renderings(out, compat_md, cells, markdown, judge, route_order)
    lines = [f"merged {len(cells)} cells from {len(paths)} results files -> {', '.join(written)}"]
    screen = summary_lines(cells, judge)
    if update_baseline:
        write_json(baseline, matrix.baseline_from(cells), indent=1)
        done = f"baseline updated: {baseline} ({len(cells)} cells)"
        return Published([*lines, done, "", *screen], True)
    report = matrix.gate(
        cells, previous if previous is not None else matrix.read_baseline(baseline)
    )
    text = report.render()
    changes = [
        "# What changed against the baseline",
        "",
        "```",
        *screen,
        "```",
        "",
        text,
        "",
        failing_section(cells, judge),
    ]
    render.write_text(out / "changes.md", "\n".join(changes).rstrip("\n") + "\n")
    if summary is not None:
        with open(summary, "a", encoding="utf-8") as handle:
            gate_text = f"\n## Gate\n\n```\n{text[:20_000]}\n\n" + "\n".join(screen) + "\n```\n"
            limit = render.SUMMARY_LIMIT - len(gate_text.encode("utf-8"))
            handle.write(render.fit_summary(markdown, cells, limit) + gate_text)
    verdict = "passed" if report.ok else f"FAILED ({len(report.changes)} cells differ)"
    return Published([*lines, text, "", *screen, f"Gate against {baseline}: {verdict}."], report.ok)


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
    judge: Judge,
    route_order: list[str],
) -> list[str]:
    """COMPAT.md, matrix.json (schema'd), matrix.csv, matrix.html (with why each failing cell
    fails, and each limitation's evidence and workaround) and heatmap.png."""
    titles = {entry.id: entry.title for entry in judge.catalogue.entries}
    render.write_text(compat_md, markdown)
    render.write_json_matrix(out / "matrix.json", cells, limitations=titles)
    render.write_text(out / "matrix.csv", render.render_csv(cells))
    html = page.render_html(
        cells,
        route_order=route_order,
        why={cell.run_key: judge.explain(cell) for cell in cells if judge.failing(cell)},
        limitations={
            entry.id: {
                "title": entry.title,
                "evidence": entry.describe_evidence(),
                "workaround": entry.workaround,
            }
            for entry in judge.catalogue.entries
        },
    )
    render.write_text(out / "matrix.html", html)
    write_heatmap(out / "heatmap.png", cells)
    names = ["matrix.json", "matrix.csv", "matrix.html", "heatmap.png"]
    return [str(compat_md)] + [str(out / name) for name in names]
