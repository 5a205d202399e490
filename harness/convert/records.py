"""Step records: what one conversion step did for one model, kept in the build folder so that
later stages can explain a failure (``<build>/steps/<model>/<target spec>.json``) and a finished
hop is not redone while its input, output, configuration and versions are unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StepRecord:
    """What one step did for one model: kept beside the build so cells can explain failures."""

    model: str
    step: str
    env: str
    status: str  # "ok" or "error"
    exception: str = ""
    message: str = ""
    input_sha256: str = ""
    output_sha256: str = ""
    output: str = ""
    recompile_metrics: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    session: str = ""


def step_record_path(build_dir: Path, model: str, target: str) -> Path:
    return build_dir / "steps" / model / f"{target}.json"


def read_step_record(build_dir: Path, model: str, target: str) -> StepRecord | None:
    path = step_record_path(build_dir, model, target)
    if not path.exists():
        return None
    try:
        return StepRecord(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError):
        return None  # unreadable or from another version of the harness: redo the step
