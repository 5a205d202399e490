"""Classification: what a check observed, and the limitations that apply to its cell, make the
cell's status. A pure function: no TensorFlow, no files, no state.

- nothing observed (the check passed): ``pass``, unless a strict limitation applies, which then
  no longer happens and fails until the catalogue is updated;
- an observation explained by exactly one applicable entry: ``limitation:<id>``, accepted;
- otherwise ``error:<Type>`` (an exception) or ``mismatch``, failing, with the reason.

**The failure line.** A failing cell's message is one line that a person reads: the cell id, its
status, what was observed and, in brackets, the nearest catalogue entry
(``[nearest: rnn-time-major-refused (message differs)]``), or ``[no limitation applies]`` when no
entry applies to the cell, or ``[N limitations apply here, none matches]`` when entries apply but
none is near (``[explained by more than one limitation: a, b]`` when several match; read back
from a results file under a catalogue that explains it, ``[<id> explains it now: rerun its
environment]``). It aims at :data:`LINE_TARGET` characters and never exceeds :data:`LINE_LIMIT`:
what was observed gives way first (:func:`shorten`: long paths keep their last two parts, then
the middle of the text becomes ``…``; the start names the problem, the end often its cause or
fix). The full account, every entry that applies with its evidence and the part of it that did
not match, and the entries whose evidence matches but that do not apply here, is the
classification's ``explanation``: the pytest plugin shows it with ``-v``, and the matrix puts it
in matrix.html's cell details and in changes.md.

**The nearest entry.** An entry is compared with a cell in four parts: its ``applies_to``, and
its evidence's ``outcome``, ``exception`` and ``message``. It is *near* when exactly one part does
not match, with two conditions: when a part of the evidence differs, another part of it must
match (an entry about another kind of observation is never near), and a differing message
fragment must share a run of at least :data:`MIN_SHARED` characters with the observed message
(else every entry of a common exception type would be near). The nearest is the near entry whose
evidence matches in full but whose ``applies_to`` excludes the cell (fewest excluded scopes
first); else the one whose exception differs while its message fragment matches (a message
fragment is the specific part of the evidence, an exception type the generic one); else whose
message differs (longest shared run first); else whose outcome differs. Ties go to catalogue
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from harness.core.limitations import Catalogue, Limitation, Observation
from harness.core.lines import LINE_LIMIT, LINE_TARGET, one_line, shorten

#: a differing message fragment is near when it shares a run of this many characters
MIN_SHARED = 8
_MIN_OBSERVED = 80  # what was observed keeps at least this much of the line
_TRAIL_MAX = 120  # the bracket (or a fix) takes at most this much
_SCOPES = ("environments", "routes", "models", "checks")
_SCOPE_NAMES = {
    "environments": "environment",
    "routes": "route",
    "models": "model",
    "checks": "check",
}
_ANYWHERE = {scope: ("*",) for scope in _SCOPES}


@dataclass(frozen=True)
class Classification:
    status: str
    detail: str
    ok: bool
    message: str = ""  # why the check fails, one line (empty when ok)
    explanation: str = ""  # the full account behind the message, several lines (for -v)


@dataclass(frozen=True)
class Scope:
    """The cell a limitation may apply to; ``route`` is the configured route (no +registered),
    ``keras`` the environment's Keras generation (for ``@keras2`` / ``@keras3``), ``backend``
    its Keras backend (for ``@tensorflow`` / ``@jax`` / ``@torch``)."""

    env: str
    route: str
    model: str
    check: str
    keras: int | None = None
    backend: str | None = None  # the environment's Keras backend (``@jax``, ``@torch``)

    def applicable(self, catalogue: Catalogue) -> list[Limitation]:
        """The entries of ``catalogue`` that apply to this cell."""
        return catalogue.applicable(
            env=self.env,
            route=self.route,
            model=self.model,
            check=self.check,
            keras=self.keras,
            backend=self.backend,
        )

    def value(self, scope: str) -> str:
        return {
            "environments": self.env,
            "routes": self.route,
            "models": self.model,
            "checks": self.check,
        }[scope]

    def excluded_by(self, entry: Limitation) -> tuple[str, ...]:
        """The scopes of ``entry``'s applies_to that exclude this cell (empty: it applies)."""
        return tuple(
            scope
            for scope in _SCOPES
            if not replace(entry, applies_to={**_ANYWHERE, scope: entry.applies_to[scope]}).applies(
                env=self.env,
                route=self.route,
                model=self.model,
                check=self.check,
                keras=self.keras,
                backend=self.backend,
            )
        )

    def __str__(self) -> str:
        return f"environment {self.env}, route {self.route}, model {self.model}, check {self.check}"


@dataclass(frozen=True)
class Near:
    """A catalogue entry that almost explains an observation: the one part that did not match
    (``applies_to``, ``outcome``, ``exception`` or ``message``)."""

    entry: Limitation
    part: str
    excluded: tuple[str, ...] = ()  # for applies_to: the scopes that exclude the cell
    shared: int = 0  # for message: the longest run shared with the observed message

    def describe(self, scope: Scope | None) -> str:
        if self.part == "applies_to":
            where = ", ".join(
                f"{_SCOPE_NAMES[name]} {scope.value(name)}" if scope else name
                for name in self.excluded
            )
            return f"applies_to excludes {where}"
        if self.part in ("exception", "outcome"):
            expected = " or ".join(self.entry.evidence[self.part])
            return f"{self.part} differs" + (f": expects {expected}" if len(expected) <= 40 else "")
        return "message differs"


def compose(lead: str, observed: str, trail: str = "", *, gap: str = " ") -> str:
    """One failure line: ``lead`` (the cell id and status), what was ``observed`` shortened to fit
    :data:`LINE_TARGET` (never below 80 characters), then ``gap`` and ``trail`` (at most 120
    characters); the whole line never over :data:`LINE_LIMIT`."""
    lead = one_line(lead) + " "
    trail = gap + shorten(trail, _TRAIL_MAX) if trail else ""
    room = max(LINE_TARGET - len(lead) - len(trail), _MIN_OBSERVED)
    return shorten(lead + shorten(observed, room) + trail, LINE_LIMIT)


def evidence_misses(
    entry: Limitation, observation: Observation, *, outcome_known: bool = True
) -> tuple[list[str], list[str]]:
    """The parts of ``entry``'s evidence that ``observation`` does not match, and those it
    matches (``outcome``, ``exception``, ``message``); the outcome is left out when it is not
    known (a cell read back from a results file does not record it)."""
    missed: list[str] = []
    matched: list[str] = []
    for part in ("outcome", "exception", "message"):
        values = entry.evidence.get(part)
        if values is None or (part == "outcome" and not outcome_known):
            continue
        if part == "message":
            found = any(fragment in observation.message for fragment in values)
        else:
            found = getattr(observation, part) in values
        (matched if found else missed).append(part)
    return missed, matched


def _shared_run(fragments: Sequence[str], message: str) -> int:
    best = 0
    for fragment in fragments:
        matcher = SequenceMatcher(None, fragment, message, autojunk=False)
        best = max(best, matcher.find_longest_match(0, len(fragment), 0, len(message)).size)
    return best


def nearest(
    observation: Observation,
    entries: Sequence[Limitation],
    scope: Scope | None,
    applicable: Sequence[Limitation],
    *,
    outcome_known: bool = True,
) -> Near | None:
    """The catalogue entry nearest to explaining ``observation`` (see the module's docstring);
    without a ``scope``, only the ``applicable`` entries are compared."""
    applying = {entry.id for entry in applicable}
    ranked: list[tuple[tuple[int, int, int], Near]] = []
    for index, entry in enumerate(entries):
        if scope is not None:
            excluded = scope.excluded_by(entry)
        elif entry.id in applying:
            excluded = ()
        else:
            continue
        missed, matched = evidence_misses(entry, observation, outcome_known=outcome_known)
        complete = outcome_known or "outcome" not in entry.evidence
        if excluded and not missed and complete:
            ranked.append(((0, len(excluded), index), Near(entry, "applies_to", excluded)))
        elif excluded or len(missed) != 1 or not matched:
            continue
        elif missed == ["message"]:
            shared = _shared_run(entry.evidence["message"], observation.message)
            if shared >= MIN_SHARED:
                ranked.append(((2, -shared, index), Near(entry, "message", shared=shared)))
        else:
            rank = 1 if missed == ["exception"] else 3
            ranked.append(((rank, 0, index), Near(entry, missed[0])))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


@dataclass(frozen=True)
class Why:
    """Why an observation is not explained: the bracket of the failure line, and the account."""

    bracket: str
    lines: list[str]


def why_not_explained(
    observation: Observation,
    applicable: Sequence[Limitation],
    entries: Sequence[Limitation],
    scope: Scope | None,
    catalogue: Path,
    *,
    outcome_known: bool = True,
) -> Why:
    """The bracket and the account of an observation that no single applicable entry explains
    (``entries``: the whole catalogue, for entries that would explain it elsewhere)."""
    explaining = [
        entry
        for entry in applicable
        if not evidence_misses(entry, observation, outcome_known=outcome_known)[0]
        and (outcome_known or "outcome" not in entry.evidence)
    ]
    if len(explaining) > 1:
        bracket = "explained by more than one limitation: " + ", ".join(e.id for e in explaining)
    elif explaining:  # read back from a cell that another catalogue classified
        bracket = f"{explaining[0].id} explains it now: rerun its environment"
    else:
        near = nearest(observation, entries, scope, applicable, outcome_known=outcome_known)
        count = len(applicable)
        if near is not None:
            bracket = f"nearest: {near.entry.id} ({near.describe(scope)})"
        elif count:
            bracket = (
                f"{count} limitation{'s apply' if count > 1 else ' applies'} here, none matches"
            )
        else:
            bracket = "no limitation applies"
    where = f" ({scope})" if scope else ""
    lines = [f"limitations of {catalogue} that apply here{where}: {len(applicable)}"]
    for entry in applicable:
        missed, _ = evidence_misses(entry, observation, outcome_known=outcome_known)
        verdict = "matches"
        if missed:
            verdict = f"{' and '.join(missed)} differ{'s' if len(missed) == 1 else ''}"
        elif not outcome_known and "outcome" in entry.evidence:
            verdict = "outcome not compared"
        lines.append(f"  - {entry.id}: {entry.describe_evidence()} ({verdict})")
    if scope is not None:
        elsewhere = [
            (entry, scope.excluded_by(entry))
            for entry in entries
            if entry.id not in {e.id for e in applicable}
            and not evidence_misses(entry, observation, outcome_known=outcome_known)[0]
            and (outcome_known or "outcome" not in entry.evidence)
        ]
        if elsewhere:
            lines.append("limitations whose evidence matches but that do not apply here:")
        for entry, excluded in elsewhere:
            limits = "; ".join(f"{name} = {list(entry.applies_to[name])}" for name in excluded)
            lines.append(f"  - {entry.id}: {entry.describe_evidence()} (applies_to: {limits})")
    return Why(f"[{bracket}]", lines)


def observed_text(observation: Observation) -> str:
    """What a cell's detail records of an observation."""
    if not observation.exception:
        return observation.message
    return f"{observation.exception}: {observation.message}"


def classify(
    item_id: str,
    observation: Observation | None,
    detail: str,
    applicable: list[Limitation],
    catalogue: Path,
    *,
    entries: Sequence[Limitation] | None = None,
    scope: Scope | None = None,
) -> Classification:
    """The status of one check's cell; ``detail`` is the check's own description of a pass.
    ``entries`` (the whole catalogue) and ``scope`` (the cell) name the nearest entry beyond the
    applicable ones."""
    if observation is None:
        expected = [entry for entry in applicable if entry.strict]
        if not expected:
            return Classification("pass", detail, True)
        ids = ", ".join(entry.id for entry in expected)
        several = len(expected) > 1
        message = compose(
            f"{item_id}: pass: documented limitation{'s' if several else ''} {ids} no longer "
            f"happen{'' if several else 's'} here (the check passed: ",
            detail,
            gap="",
            trail=f"). Fix: update {'their' if several else 'its'} applies_to in {catalogue.name}.",
        )
        lines = [f"the check passed: {one_line(detail)}"]
        lines += [
            f"  - {entry.id} (strict, {catalogue}): applies_to "
            + "; ".join(f"{name} = {list(entry.applies_to[name])}" for name in _SCOPES)
            for entry in expected
        ]
        return Classification("pass", detail, False, message, _indent(lines))
    text = observed_text(observation)
    explaining = [entry for entry in applicable if entry.explains(observation)]
    if len(explaining) == 1:
        return Classification(f"limitation:{explaining[0].id}", text, True)
    status = f"error:{observation.exception}" if observation.exception else "mismatch"
    why = why_not_explained(
        observation, applicable, applicable if entries is None else entries, scope, catalogue
    )
    message = compose(f"{item_id}: {status}:", observation.message, why.bracket)
    lines = [f"observed: {one_line(text)}", *why.lines]
    return Classification(status, text, False, message, _indent(lines))


def step_failure(
    item_id: str,
    status: str,
    observation: Observation,
    why: Why,
    env: str,
) -> tuple[str, str]:
    """The failure line and account of a cell whose route's file a step of ``env`` did not
    write, because it failed unexplained in that environment."""
    message = compose(
        f"{item_id}: {status}: the step failed:",
        observed_text(observation),
        f"[in {env}: {why.bracket[1:]}",
    )
    return message, _indent([f"the step failed in {env}: {observed_text(observation)}", *why.lines])


def _indent(lines: list[str]) -> str:
    return "\n".join("  " + line for line in lines)
