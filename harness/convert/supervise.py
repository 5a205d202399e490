"""Run an environment's conversion steps in a child process, so that one model that crashes the
interpreter, hangs or is killed for memory fails its own step, not the others'.

The child (``keras-harness convert --child``) imports TensorFlow once and runs every step,
writing an in-flight marker before each one. When the child dies, or a step runs past the
timeout (the supervisor then kills it), the supervisor records that model's step as failed
(``WorkerCrashed`` or ``Timeout``) and starts a new child, which skips the steps already done or
already failed in this session. The supervisor itself never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.convert.records import StepRecord, step_record_path
from harness.core.atomic import write_json

MARKER = ".inflight-convert.json"
SESSION_VARIABLE = "HARNESS_CONVERT_SESSION"
POLL_SECONDS = 0.2


def marker_path(build_dir: Path) -> Path:
    return build_dir / "steps" / MARKER


def mark(build_dir: Path, model: str, step: str, target: str) -> None:
    write_json(
        marker_path(build_dir),
        {
            "model": model,
            "step": step,
            "target": target,
            "started": time.time(),
            "pid": os.getpid(),
        },
    )


def unmark(build_dir: Path) -> None:
    marker_path(build_dir).unlink(missing_ok=True)


def session() -> str:
    return os.environ.get(SESSION_VARIABLE, "")


def supervise(
    child_argv: list[str], build_dir: Path, env: str, *, timeout: float, max_restarts: int = 1000
) -> int:
    """Run the child until it finishes; returns the child's last exit status."""

    environment = {**os.environ, SESSION_VARIABLE: f"{time.time():.6f}-{os.getpid()}"}
    for _ in range(max_restarts):
        unmark(build_dir)
        child = subprocess.Popen([sys.executable, "-m", "harness", *child_argv], env=environment)
        reason = ""
        while child.poll() is None:
            time.sleep(POLL_SECONDS)
            running = _read_marker(build_dir)
            if running and time.time() - running["started"] > timeout:
                child.kill()
                child.wait()
                reason = "Timeout"
        if child.returncode == 0 and not reason:
            return 0
        running = _read_marker(build_dir)
        if running is None:
            return child.returncode or 1  # died outside any step: a real failure of the run
        reason = reason or "WorkerCrashed"
        message = (
            f"the step ran past the timeout ({timeout:g} s) and its process was stopped"
            if reason == "Timeout"
            else f"the conversion process died (exit status {child.returncode}: a crash, or "
            f"a kill by the out-of-memory killer)"
        )
        record = StepRecord(
            running["model"],
            running["step"],
            env,
            "error",
            reason,
            message,
            session=environment[SESSION_VARIABLE],
        )
        write_json(step_record_path(build_dir, running["model"], running["target"]), asdict(record))
        print(f"{env}: {running['model']}: {running['step']}: {reason}: {message}", flush=True)
        unmark(build_dir)
    return 1


def _read_marker(build_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(build_dir).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
