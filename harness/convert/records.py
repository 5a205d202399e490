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
    #: the output file's size and modification time when it was hashed: while both are
    #: unchanged, later stages take ``output_sha256`` instead of hashing the file again
    output_size: int = 0
    output_mtime_ns: int = 0
    recompile_metrics: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    session: str = ""
    #: a repair step: rule id -> the layer paths it rewrote, and the layers whose weights were
    #: checked (name -> arrays)
    repair_rules: dict[str, list[str]] = field(default_factory=dict)
    repair_layers: dict[str, int] = field(default_factory=dict)
    #: the rules a repair step applied (sha256 of repairs.toml): another catalogue redoes it
    repair_digest: str = ""
    #: a step with transplant_optimizer: what was carried (optimizer, slots, iterations), or
    #: ``{"refused": why}``
    transplant: dict[str, object] = field(default_factory=dict)


def recorded_sha256(record: StepRecord | None, path: Path) -> str | None:
    """The output hash a step recorded for ``path``, while the file is the one it hashed (same
    path, size and modification time); None when it must be hashed again."""
    if record is None or record.status != "ok" or record.output != str(path):
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file() or (stat.st_size, stat.st_mtime_ns) != (
        record.output_size,
        record.output_mtime_ns,
    ):
        return None
    return record.output_sha256 or None


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
