"""What a person reads at the end of ``tox``, and why each failing cell fails.

A cell *fails* when its check failed in its environment: ``error:<Type>``, ``mismatch`` and
``skipped:<reason>`` always; ``not-produced:<step>`` unless the step's failure is explained in the
step's environment (its detail then names ``[limitation:<id> in <env>]``); and a ``pass`` to which
a strict limitation applies (that limitation no longer happens). The summary counts, per
environment, the cells that pass, are documented limitations, were not produced (explained) and
fail, and groups the failing ones by status and short message into the top causes.

Why a failing cell fails is recomputed from the catalogue the matrix is given, with
:mod:`harness.verify.classify` (the same account that pytest's ``-v`` prints): every limitation
that applies to the cell with its evidence and the part of it that did not match, the entries
whose evidence matches elsewhere, and the nearest. A cell records the exception and message it
observed, not the outcome's name, so outcomes are not compared here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from harness.core.config import Config
from harness.core.errors import HarnessError
from harness.core.limitations import Catalogue, Observation
from harness.core.lines import one_line, shorten
from harness.core.locations import base_route
from harness.core.results import Cell
from harness.verify.classify import Scope, why_not_explained

#: how many failing causes the summary lists
TOP_CAUSES = 5
_NOT_RUN = "not run, load failed: "
COLUMNS = ("pass", "limitation", "not-produced", "failing")


@dataclass
class Judge:
    """Which cells fail and why, under a catalogue (and the configuration, for the Keras
    generation of each environment and the steps; None: without them)."""

    catalogue: Catalogue
    config: Config | None = None

    def scope(self, env: str, route: str, model: str, check: str) -> Scope:
        keras, backend = None, None
        if self.config is not None:
            try:
                environment = self.config.environment(env)
                keras, backend = environment.keras, environment.backend
            except HarnessError:  # an environment this configuration no longer has
                keras, backend = None, None
        return Scope(env, base_route(route), model, check, keras, backend)

    def _strict(self, cell: Cell) -> list[str]:
        scope = self.scope(cell.env, cell.route, cell.model, cell.check)
        applicable = scope.applicable(self.catalogue)
        return [entry.id for entry in applicable if entry.strict]

    def failing(self, cell: Cell) -> bool:
        if cell.kind in ("error", "mismatch", "skipped"):
            return True
        if cell.kind == "not-produced":
            return "[limitation:" not in cell.detail
        return cell.kind == "pass" and bool(self._strict(cell))

    def column(self, cell: Cell) -> str:
        return "failing" if self.failing(cell) else cell.kind

    def cause(self, cell: Cell) -> str:
        """A failing cell's status and short message (cells of one cause share it)."""
        if cell.kind == "pass":
            return f"pass: documented limitation {', '.join(self._strict(cell))} no longer happens"
        message = cell.detail
        if cell.kind == "error":
            message = message.removeprefix(f"{cell.status.split(':', 1)[1]}: ")
        return f"{cell.status}: {shorten(message.removeprefix(_NOT_RUN), 100)}"

    def explain(self, cell: Cell) -> str:
        """Why a failing cell fails, several lines ("" for a cell that does not fail)."""
        if not self.failing(cell):
            return ""
        if cell.kind == "pass":
            return "\n".join(
                [f"the check passed: {one_line(cell.detail)}"]
                + [
                    f"documented limitation {entry} ({self.catalogue.path}) no longer happens "
                    f"here: update its applies_to"
                    for entry in self._strict(cell)
                ]
            )
        observed = one_line(cell.detail)
        if cell.kind == "not-produced":
            return self._explain_step(cell) or observed
        exception = cell.status.split(":", 1)[1] if cell.kind == "error" else ""
        message = cell.detail.removeprefix(f"{exception}: ") if exception else cell.detail
        scope = self.scope(cell.env, cell.route, cell.model, cell.check)
        return self._why(Observation("", exception, message), scope, f"observed: {observed}")

    def _explain_step(self, cell: Cell) -> str:
        name = cell.status.split(":", 1)[1]
        lead = f"not produced: step {name} failed: "
        step = next((s for s in (self.config.steps if self.config else []) if s.name == name), None)
        if step is None or not cell.detail.startswith(lead):
            return ""
        exception, _, message = cell.detail.removeprefix(lead).partition(": ")
        route = self.config.route_of(step.target) if self.config else None
        scope = self.scope(step.env, route.name if route else cell.route, cell.model, "load")
        lines = f"the step failed in {step.env}: {exception}: {one_line(message)}"
        return self._why(Observation("", exception, message), scope, lines)

    def _why(self, observation: Observation, scope: Scope, first: str) -> str:
        applicable = scope.applicable(self.catalogue)
        why = why_not_explained(
            observation,
            applicable,
            self.catalogue.entries,
            scope,
            self.catalogue.path,
            outcome_known=False,
        )
        return "\n".join([first, *why.lines, f"in short: {why.bracket[1:-1]}"])


def summary_lines(cells: list[Cell], judge: Judge) -> list[str]:
    """Per environment: cells that pass, are limitations, were not produced, fail; then the top
    failing causes (all runners of an environment together)."""
    per_env: dict[str, Counter[str]] = {}
    runners: dict[str, set[str]] = {}
    causes: Counter[str] = Counter()
    where: dict[str, set[str]] = {}
    for cell in cells:
        column = judge.column(cell)
        per_env.setdefault(cell.env, Counter())[column] += 1
        runners.setdefault(cell.env, set()).add(cell.runner_label)
        if column == "failing":
            cause = judge.cause(cell)
            causes[cause] += 1
            where.setdefault(cause, set()).add(cell.env)
    width = max([len("environment"), *(len(env) for env in per_env)])
    header = f"  {'environment':<{width}}  runners" + "".join(f"  {c:>12}" for c in COLUMNS)
    lines = [
        f"Summary: {len(cells)} cells in {len(per_env)} environments (failing: the cell's check "
        "fails in its environment)",
        header,
    ]
    total: Counter[str] = Counter()
    for env in sorted(per_env):
        total.update(per_env[env])
        lines.append(_row(env, width, len(runners[env]), per_env[env]))
    lines.append(_row("all", width, len(set().union(*runners.values())), total))
    if not causes:
        lines.append("No failing cells.")
        return lines
    shown = sorted(causes.items(), key=lambda item: (-item[1], item[0]))[:TOP_CAUSES]
    kinds = f"{len(causes)} cause{'s' if len(causes) > 1 else ''}"
    if len(causes) > len(shown):
        kinds = f"the top {len(shown)} of {len(causes)} causes; every cell in changes.md"
    lines.append(f"Failing cells by cause ({total['failing']} cells, {kinds}):")
    for cause, count in shown:
        envs = sorted(where[cause])
        names = ", ".join(envs[:3]) + (f" and {len(envs) - 3} more" if len(envs) > 3 else "")
        lines.append(f"  {count:>5}  {cause}  ({names})")
    return lines


def _row(env: str, width: int, runners: int, counts: Counter[str]) -> str:
    return f"  {env:<{width}}  {runners:>7}" + "".join(f"  {counts[c]:>12}" for c in COLUMNS)


def failing_section(cells: list[Cell], judge: Judge) -> str:
    """changes.md's account of every failing cell (Markdown; "" when none fails)."""
    failing = [cell for cell in cells if judge.failing(cell)]
    if not failing:
        return ""
    parts = [f"## Failing cells ({len(failing)}): why no limitation explains them", ""]
    for cell in sorted(failing, key=lambda c: c.run_key):
        runner = f" ({cell.fingerprint})" if cell.fingerprint else ""
        parts += [f"### `{cell.key}`{runner}: {cell.status}", "", "```", judge.explain(cell)]
        parts += ["```", ""]
    return "\n".join(parts)
