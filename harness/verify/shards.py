"""Results written as each cell is made, one shard per process, merged at the end of the session.

Each process that runs checks (the pytest process, or each pytest-xdist worker) appends every
cell, as one JSON line, to its own shard ``<env>-<runner>.part-<worker>-<pid>.jsonl`` as soon as
it is made (one writer per shard: no lock, no rewrite; a line cut by a crash is dropped), and
leaves an in-flight marker naming the check it is running. A worker that crashes, hangs past the
per-check timeout or is killed for memory loses nothing it had finished, and the process that
started the session turns the check it was running into an error cell of its own
(``error:WorkerCrashed`` or ``error:Timeout``); pytest-xdist then starts a new worker for the
remaining checks. At the end, the shards of this session are merged into ``<env>-<runner>.json``.
``<runner>`` is the hardware fingerprint id (``cpu-0bbfdbc7``): runners of several kinds can
share one build folder, and the matrix shows each.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from harness.core.atomic import lock_for, write_json
from harness.core.results import Cell, merge_into, write_results
from harness.verify.provenance import runner_name

MARKER_PREFIX = ".inflight-"
#: a runner label in a shard's name: the fingerprint id, or the device of a pre-fingerprint shard
#: (so that ``tf216``'s shards are not confused with ``tf216-legacy``'s)
RUNNER_RE = re.compile(r"^(cpu|gpu)(-[0-9a-f]{8})?$")


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def shard_path(results_dir: Path, env: str, runner: str) -> Path:
    return results_dir / f"{env}-{runner}.part-{worker_name()}-{os.getpid()}.jsonl"


#: per shard of this process, the model of its last cell (see :func:`add_cell`)
_LAST_MODEL: dict[Path, str] = {}


def add_cell(results_dir: Path, cell: Cell) -> None:
    """Append one cell to this process's shard. Each line reaches the kernel at once (a worker
    that crashes or is killed loses nothing it wrote); the shard is synced to disk once per
    model, when the first cell of the next model is appended, and by :func:`sync_shards` at the
    end, not after every cell."""
    path = shard_path(results_dir, cell.env, cell.runner_label)
    path.parent.mkdir(parents=True, exist_ok=True)
    last = _LAST_MODEL.get(path)
    with open(path, "a", encoding="utf-8") as handle:
        if last is not None and last != cell.model:
            os.fsync(handle.fileno())  # the previous model's cells, durable
        handle.write(json.dumps(cell.to_json()) + "\n")
        handle.flush()
    _LAST_MODEL[path] = cell.model


def sync_shards() -> None:
    """Sync this process's shards to disk (at the end of its session)."""
    for path in list(_LAST_MODEL):
        try:
            with open(path, "a", encoding="utf-8") as handle:
                os.fsync(handle.fileno())
        except OSError:
            pass
    _LAST_MODEL.clear()


def read_shard(path: Path) -> list[Cell]:
    cells = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            cells.append(Cell.from_json(json.loads(line), source=path))
        except json.JSONDecodeError:
            continue  # the last line of a process killed while writing it
    return cells


def _marker(results_dir: Path, env: str) -> Path:
    """This process's in-flight marker in ``env`` (environments run side by side under ``tox
    p``: each finds and clears its own; ``--`` keeps ``tf216`` apart from ``tf216-legacy``)."""
    return results_dir / f"{MARKER_PREFIX}{env}--{worker_name()}-{os.getpid()}.json"


def mark_inflight(
    results_dir: Path,
    item: dict[str, str],
    *,
    env: str,
    device: str,
    device_name: str,
    versions: dict[str, str],
    timeout: float | None,
    hardware: dict[str, Any] | None = None,
) -> None:
    write_json(  # not synced: only this session reads it, after the writer died
        _marker(results_dir, env),
        {
            "item": item,
            "env": env,
            "device": device,
            "device_name": device_name,
            "hardware": hardware or {},
            "versions": versions,
            "timeout": timeout,
            "started": time.time(),
            "pid": os.getpid(),
        },
        durable=False,
    )


def clear_inflight(results_dir: Path, env: str) -> None:
    _marker(results_dir, env).unlink(missing_ok=True)


def _poison_file(results_dir: Path, env: str) -> Path:
    return results_dir / f".failed-models-{env}.json"


def poisoned(results_dir: Path, env: str) -> dict[str, str]:
    """Models whose worker died in this session, with the status of the check that killed it:
    their remaining checks fail at once instead of crashing or hanging a new worker too."""
    path = _poison_file(results_dir, env)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _poison(results_dir: Path, env: str, model: str, status: str) -> None:
    path = _poison_file(results_dir, env)
    with lock_for(path):
        data = poisoned(results_dir, env)
        data[model] = status
        write_json(path, data)


def not_run_detail(status: str) -> str:
    """Why a check was skipped: an earlier check of its model killed its worker (``status``)."""
    reason = "timed out" if status == "error:Timeout" else "crashed its worker"
    return f"not run: an earlier check of this model {reason} in this session"


def crash_cell(results_dir: Path, item_id: str, env: str) -> Cell | None:
    """The error cell for a check of ``env`` whose process died; None when no marker names it."""
    for marker in results_dir.glob(f"{MARKER_PREFIX}{env}--*.json"):
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        item = data.get("item", {})
        if item.get("id") != item_id:
            continue
        marker.unlink(missing_ok=True)
        Path(str(marker) + ".lock").unlink(missing_ok=True)
        elapsed = time.time() - float(data["started"])
        timeout = data.get("timeout")
        if timeout and elapsed >= 0.9 * float(timeout):
            status = "error:Timeout"
            detail = (
                f"the check ran past the per-check timeout ({timeout:g} s) and its worker "
                f"was stopped; the other models' checks went on in a new worker"
            )
        else:
            status = "error:WorkerCrashed"
            detail = (
                f"the worker process died after {elapsed:.1f} s while running this check "
                f"(a crash, or a kill by the out-of-memory killer); the other models' "
                f"checks went on in a new worker"
            )
        _poison(results_dir, data["env"], item["model"], status)
        hardware = data.get("hardware") or {}
        return Cell(
            model=item["model"],
            env=data["env"],
            device=data["device"],
            route=item["route"],
            spec=item["spec"],
            check=item["check"],
            status=status,
            detail=detail,
            provenance={
                "route": item["route"],
                "versions": data.get("versions", {}),
                "device_name": data.get("device_name", ""),
                "runner": runner_name(),
                **({"hardware": hardware} if hardware else {}),
            },
            fingerprint=str(hardware.get("id", "")),
        )
    return None


def consolidate(
    results_dir: Path,
    env: str,
    *,
    since: float,
    complete: bool,
    extra: list[Cell],
    run: dict[str, Any],
    shard: str = "",
) -> list[Path]:
    """Merge this session's shards (and ``extra`` cells) into ``<env>-<runner>.json``, or with
    ``shard`` (a label, ``shard-2of3``) into ``<env>-<runner>.<shard>.json``.

    A complete session replaces the file, and the files of the same environment and runner
    that it supersedes (an unsharded run's shard files; a sharded run's unsharded file and the
    files of another shard count); a partial one (``-k``, ``--model``) updates only the cells it
    ran. Shards left by an older, killed session are removed unread.
    """
    by_runner: dict[str, list[Cell]] = {}
    for cell in extra:
        by_runner.setdefault(cell.runner_label, []).append(cell)
    parts = [
        part
        for part in sorted(results_dir.glob(f"{env}-*.part-*.jsonl"))
        if RUNNER_RE.match(part.name[len(env) + 1 :].split(".part-", 1)[0])
    ]
    for part in parts:
        if part.stat().st_mtime >= since - 1:
            runner = part.name[len(env) + 1 :].split(".part-", 1)[0]
            by_runner.setdefault(runner, []).extend(read_shard(part))
    written = []
    for runner, listed in sorted(by_runner.items()):
        cells = list({cell.run_key: cell for cell in listed}.values())
        device = cells[0].device
        hardware = [c.provenance["hardware"] for c in cells if "hardware" in c.provenance]
        meta = {**run, **({"hardware": hardware[0]} if hardware else {})}
        final = results_dir / (f"{env}-{runner}.{shard}.json" if shard else f"{env}-{runner}.json")
        if complete:
            with lock_for(final):
                write_results(final, env=env, device=device, run=meta, cells=cells)
            if final.name != f"{env}-{device}.json":  # superseded: written before fingerprints
                (results_dir / f"{env}-{device}.json").unlink(missing_ok=True)
            for stale in superseded(results_dir, env, runner, shard):
                stale.unlink(missing_ok=True)
        else:
            merge_into(final, env=env, device=device, run=meta, cells=cells)
        written.append(final)
    for part in parts:
        part.unlink(missing_ok=True)
    leftovers = [*results_dir.glob(f"{MARKER_PREFIX}{env}--*"), _poison_file(results_dir, env)]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return written


def superseded(results_dir: Path, env: str, runner: str, shard: str) -> list[Path]:
    """The results files of ``env`` and ``runner`` that a complete session of ``shard`` (empty:
    unsharded) replaces: an unsharded run replaces every shard's file; a sharded run replaces
    the unsharded file and the files of another number of shards (``shard-1of2`` when it is
    ``shard-2of3``), not its sibling shards."""
    found = []
    count = shard.rsplit("of", 1)[-1] if shard else ""
    for path in results_dir.glob(f"{env}-{runner}.*json"):
        name = path.name[len(f"{env}-{runner}") :]
        if name == ".json":
            if shard:
                found.append(path)
            continue
        label = name[1:].removesuffix(".json")
        if not label.startswith("shard-") or label == shard:
            continue
        if not shard or label.rsplit("of", 1)[-1] != count:
            found.append(path)
    return sorted(found)
