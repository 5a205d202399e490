"""A PNG heatmap of models x environments (matplotlib, Agg backend): each square shows the worst
status of that model's cells in that environment, with a count of cells by kind."""

from __future__ import annotations

from pathlib import Path

from harness.core.atomic import atomic_open
from harness.core.results import Cell
from harness.report.render import KIND_ORDER, worst

COLOURS = {
    "pass": "#2e7d32",
    "limitation": "#1565c0",
    "skipped": "#9e9e9e",
    "not-produced": "#8d6e63",
    "mismatch": "#ef6c00",
    "error": "#c62828",
}
LABELS = {
    "pass": "pass",
    "limitation": "limitation",
    "skipped": "skipped",
    "not-produced": "not produced",
    "mismatch": "mismatch",
    "error": "error",
}


def write_heatmap(path: Path, cells: list[Cell]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    models = sorted({c.model for c in cells})
    envs = sorted({f"{c.env}-{c.fingerprint or c.device}" for c in cells})
    order = list(KIND_ORDER)
    grid = [[-1] * len(envs) for _ in models]
    labels = [[""] * len(envs) for _ in models]
    for i, model in enumerate(models):
        for j, env in enumerate(envs):
            chosen = [
                c
                for c in cells
                if c.model == model and f"{c.env}-{c.fingerprint or c.device}" == env
            ]
            if not chosen:
                continue
            kind = worst(chosen)
            grid[i][j] = order.index(kind)
            passed = sum(c.kind == "pass" for c in chosen)
            labels[i][j] = f"{passed}/{len(chosen)} pass"
    import numpy as np

    values = np.ma.masked_less(np.array(grid, dtype=float), 0)
    cmap = ListedColormap([COLOURS[kind] for kind in order]).with_extremes(bad="#ffffff")
    width = max(5.0, 1.4 * len(envs) + 3.0)
    height = max(2.5, 0.55 * len(models) + 1.8)
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.imshow(values, cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5, aspect="auto")
    ax.set_xticks(range(len(envs)), envs, rotation=30, ha="right")
    ax.set_yticks(range(len(models)), models)
    for i in range(len(models)):
        for j in range(len(envs)):
            if labels[i][j]:
                ax.text(j, i, labels[i][j], ha="center", va="center", color="white", fontsize=8)
    ax.set_title("Worst status per model and environment")
    present = sorted({kind for row in grid for kind in row if kind >= 0})
    handles = [Patch(color=COLOURS[order[k]], label=LABELS[order[k]]) for k in present]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
