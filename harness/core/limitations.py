"""The limitations catalogue: documented, expected deviations, as data (``limitations.toml``).

Each entry names what it applies to (environments, routes, models, checks; shell-style patterns;
``@keras2`` / ``@keras3`` among the environments select every environment of that Keras
generation in ``harness.toml``, ``@tensorflow`` / ``@jax`` / ``@torch`` every one of that Keras
backend) and its evidence: an exception type and message fragment, or an
outcome such as ``optimizer-state-lost``. A non-pass observation in a cell is explained by
exactly one entry or is a failure. A strict entry (the default) is expected wherever it applies:
when a cell it applies to passes, the limitation no longer happens and the check fails until the
catalogue is updated. An entry with ``strict = false`` depends on what a model contains (a loss
alias, a metric): it explains what it matches within its scope without being required there; the
matrix baseline still catches it when it stops happening in a recorded cell.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import LimitationsError
from harness.core.files import read_toml

DEFAULT_CATALOGUE = "limitations.toml"
#: the ``applies_to.environments`` selectors: a Keras generation, or a Keras 3 backend
SELECTORS = ("@keras2", "@keras3", "@tensorflow", "@jax", "@torch")
_SCOPES = ("environments", "routes", "models", "checks")


@dataclass(frozen=True)
class Observation:
    """What a check saw when it did not pass: an exception, or a named outcome."""

    outcome: str
    exception: str = ""
    message: str = ""


@dataclass(frozen=True)
class Limitation:
    id: str
    title: str
    applies_to: dict[str, tuple[str, ...]]
    evidence: dict[str, tuple[str, ...]]
    workaround: str
    source: str
    strict: bool = True

    def applies(
        self,
        *,
        env: str,
        route: str,
        model: str,
        check: str,
        keras: int | None = None,
        backend: str | None = None,
    ) -> bool:
        """Whether the entry covers the cell; ``keras`` is the environment's Keras generation,
        which ``@keras2`` / ``@keras3`` patterns select, ``backend`` its Keras backend, which
        ``@tensorflow`` / ``@jax`` / ``@torch`` select."""
        values = {"environments": env, "routes": route, "models": model, "checks": check}
        selected = {f"@keras{keras}" if keras is not None else "", f"@{backend or 'tensorflow'}"}
        return all(
            any(
                pattern in selected
                if pattern.startswith("@")
                else fnmatch.fnmatchcase(values[scope], pattern)
                for pattern in self.applies_to[scope]
            )
            for scope in _SCOPES
        )

    def explains(self, observation: Observation) -> bool:
        outcomes = self.evidence.get("outcome")
        if outcomes is not None and observation.outcome not in outcomes:
            return False
        exceptions = self.evidence.get("exception")
        if exceptions is not None and observation.exception not in exceptions:
            return False
        fragments = self.evidence.get("message")
        return fragments is None or any(f in observation.message for f in fragments)

    def describe_evidence(self) -> str:
        parts = [
            f"{key}={' or '.join(repr(v) for v in values)}"
            for key, values in sorted(self.evidence.items())
        ]
        return ", ".join(parts)


class Catalogue:
    def __init__(self, path: Path, entries: list[Limitation]):
        self.path = path
        self.entries = entries

    def get(self, limitation_id: str) -> Limitation:
        for entry in self.entries:
            if entry.id == limitation_id:
                return entry
        raise LimitationsError(
            f"Unknown limitation {limitation_id!r} in {self.path}. Fix: add it to the catalogue."
        )

    def applicable(
        self,
        *,
        env: str,
        route: str,
        model: str,
        check: str,
        keras: int | None = None,
        backend: str | None = None,
    ) -> list[Limitation]:
        return [
            entry
            for entry in self.entries
            if entry.applies(
                env=env, route=route, model=model, check=check, keras=keras, backend=backend
            )
        ]


def load_catalogue(path: Path | str = DEFAULT_CATALOGUE) -> Catalogue:
    path = Path(path).absolute()
    data = read_toml(
        path,
        what="Limitations catalogue",
        missing="create it (it may hold no entries) or pass --limitations PATH.",
        error=LimitationsError,
    )
    entries: list[Limitation] = []
    seen: set[str] = set()
    raws = data.get("limitation", [])
    if not isinstance(raws, list):
        raise LimitationsError(
            f"limitation in {path} must be an array of tables ([[limitation]]). Received: "
            f"{raws!r}. Fix: write each entry under its own [[limitation]] header."
        )
    for index, raw in enumerate(raws):
        entries.append(_parse(path, index, raw))
        if entries[-1].id in seen:
            raise LimitationsError(
                f"Duplicate limitation id {entries[-1].id!r} in {path}. Fix: ids must be unique."
            )
        seen.add(entries[-1].id)
    return Catalogue(path, entries)


def _parse(path: Path, index: int, raw: Any) -> Limitation:
    where = f"[[limitation]] #{index + 1} in {path}"
    if not isinstance(raw, dict):
        raise LimitationsError(
            f"{where} must be a table. Received: {raw!r}. Fix: write each entry under its own "
            f"[[limitation]] header."
        )
    for key in ("id", "title", "workaround", "source"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise LimitationsError(
                f"{where} needs a non-empty {key!r}. Received: {raw.get(key)!r}. "
                f'Fix: add {key} = "...".'
            )
    applies_raw = raw.get("applies_to")
    if not isinstance(applies_raw, dict):
        raise LimitationsError(
            f"{where} ({raw['id']}) needs an applies_to table. Fix: add [limitation.applies_to] "
            f"with environments, routes, models and checks (patterns; '*' for all)."
        )
    applies: dict[str, tuple[str, ...]] = {}
    for scope in _SCOPES:
        patterns = applies_raw.get(scope, ["*"])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise LimitationsError(
                f"{where} ({raw['id']}): applies_to.{scope} must be a list of strings. "
                f'Received: {patterns!r}. Fix: e.g. {scope} = ["*"], or leave it out.'
            )
        selectors = [p for p in patterns if p.startswith("@")]
        if selectors and (scope != "environments" or set(selectors) - set(SELECTORS)):
            raise LimitationsError(
                f"{where} ({raw['id']}): unknown selector {selectors[0]!r} in "
                f"applies_to.{scope}. Fix: use {', '.join(repr(s) for s in SELECTORS)} in "
                f"environments only."
            )
        applies[scope] = tuple(patterns)
    evidence = raw.get("evidence")
    if (
        not isinstance(evidence, dict)
        or not evidence
        or not (set(evidence) <= {"outcome", "exception", "message"})
    ):
        raise LimitationsError(
            f"{where} ({raw['id']}) needs an evidence table with outcome, exception and/or "
            f"message. Received: {evidence!r}. Fix: add [limitation.evidence] with e.g. "
            f'exception = "TypeError" and message = "...".'
        )
    strict = raw.get("strict", True)
    if not isinstance(strict, bool):
        raise LimitationsError(
            f"{where} ({raw['id']}): strict must be true or false. Received: {strict!r}. "
            f"Fix: write strict = false, or leave it out (strict)."
        )
    return Limitation(
        raw["id"],
        raw["title"],
        applies,
        {
            k: tuple(str(x) for x in (v if isinstance(v, list) else [v]))
            for k, v in evidence.items()
        },
        raw["workaround"],
        raw["source"],
        strict,
    )
