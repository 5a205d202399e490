"""``keras-harness routes``: per model of any registry, the shortest route that passes in each
environment, and for a model with none there, what stopped it and what to try next.

Reads measured cells (the merged results of a run, or a baseline) and the catalogue; the same
ranking as README's routes table (:func:`harness.report.docs.working_routes`), for the user's
own models.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.core.config import Config
from harness.core.limitations import Catalogue
from harness.core.lines import shorten
from harness.core.repairs import Rule
from harness.core.results import CellKey
from harness.report.docs import working_routes

#: one answer line stays readable
WIDTH = 160


def answers(
    cells: dict[CellKey, dict[str, Any]], config: Config, catalogue: Catalogue, rules: list[Rule]
) -> list[str]:
    """The lines ``keras-harness routes`` prints."""
    working = working_routes(cells, config)
    predicting = working_routes(cells, config, ("load", "predict"))
    repaired = {rule.repairs for rule in rules}
    envs = [name for name in config.environments if any(key.env == name for key in cells)]
    lines = []
    for model in sorted({key.model for key in cells}):
        lines.append(f"{model}:")
        for env in envs:
            mine = {
                key: value for key, value in cells.items() if (key.model, key.env) == (model, env)
            }
            if not mine:
                continue
            if working.get((model, env)):
                lines.append(f"  {env}: {working[(model, env)][0]}")
                continue
            best = predicting.get((model, env), [None])[0]
            causes = Counter(  # what stops the best route (the one that predicts), else any
                str(value.get("status", ""))
                for key, value in mine.items()
                if value.get("status") != "pass" and best in (None, key.route)
            )
            cause = causes.most_common(1)[0][0] if causes else "no cell passed"
            what = (
                f"{predicting[(model, env)][0]} predicts only"
                if predicting.get((model, env))
                else "none"
            )
            hint = next_step(cause, catalogue, repaired, config, env)
            lines.append("  " + shorten(f"{env}: {what} ({cause}); next: {hint}", WIDTH))
    return lines


def next_step(
    cause: str, catalogue: Catalogue, repaired: set[str], config: Config, env: str
) -> str:
    """What to try for a model whose routes stop at ``cause`` in ``env``."""
    kind, _, detail = cause.partition(":")
    if kind == "limitation":
        environment = config.environment(env)
        if detail in repaired and environment.keras == 3 and "repaired" not in environment.verify:
            where = [name for name, e in config.environments.items() if "repaired" in e.verify]
            return f"the repaired route (a rule repairs it; verified in {', '.join(where)})"
        try:
            return catalogue.get(detail).workaround
        except Exception:  # an id the catalogue no longer has
            return f"look {detail} up in LIMITATIONS.md"
    if kind == "not-produced":
        return f"see the step {detail} (its failure is the cause)"
    return "read the cell in build/matrix/matrix.html (keras-harness matrix)"
