"""Classification: what a check observed, and the limitations that apply to its cell, make the
cell's status. A pure function: no TensorFlow, no files, no state.

- nothing observed (the check passed): ``pass``, unless a strict limitation applies, which then
  no longer happens and fails until the catalogue is updated;
- an observation explained by exactly one applicable entry: ``limitation:<id>``, accepted;
- otherwise ``error:<Type>`` (an exception) or ``mismatch``, failing, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.core.limitations import Limitation, Observation


@dataclass(frozen=True)
class Classification:
    status: str
    detail: str
    ok: bool
    message: str = ""  # why the check fails (empty when ok)


def classify(
    item_id: str,
    observation: Observation | None,
    detail: str,
    applicable: list[Limitation],
    catalogue: Path,
) -> Classification:
    """The status of one check's cell; ``detail`` is the check's own description of a pass."""
    if observation is None:
        expected = [entry for entry in applicable if entry.strict]
        if expected:
            ids = ", ".join(entry.id for entry in expected)
            return Classification(
                "pass",
                detail,
                False,
                f"{item_id}: documented limitation {ids} no longer happens here (the check "
                f"passed: {detail}). Fix: update its applies_to in {catalogue}.",
            )
        return Classification("pass", detail, True)
    text = (
        observation.message
        if not observation.exception
        else f"{observation.exception}: {observation.message}"
    )
    explaining = [entry for entry in applicable if entry.explains(observation)]
    if len(explaining) == 1:
        return Classification(f"limitation:{explaining[0].id}", text, True)
    status = f"error:{observation.exception}" if observation.exception else "mismatch"
    if len(explaining) > 1:
        why = "explained by more than one limitation: " + ", ".join(e.id for e in explaining)
    elif applicable:
        why = (
            "not explained by the limitations that apply here ("
            + "; ".join(f"{e.id}: {e.describe_evidence()}" for e in applicable)
            + ")"
        )
    else:
        why = "no documented limitation applies"
    return Classification(
        status, text, False, f"{item_id}: {status}: {observation.message} [{why}]"
    )
