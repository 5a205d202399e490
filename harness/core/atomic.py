"""Locked, atomic writes of shared state (registry, goldens, results).

A write goes to a temporary file in the destination folder, is fsync'ed and then moved over the
destination with ``os.replace``: readers see the old or the new file, never half of one. A
read-modify-write holds a ``filelock`` lock beside the file so concurrent writers lose nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from harness.core.faults import inject


def lock_for(path: Path) -> FileLock:
    """The lock that guards ``path`` (a ``.lock`` file beside it)."""
    return FileLock(str(path) + ".lock", timeout=600)


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w", *, durable: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically.
    ``durable=False`` skips the two fsyncs: the file survives the writer's death (the kernel
    holds it), not the machine's, which is all a file read within the same session needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp_name, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if path.suffix == ".json":
            inject("json:before-replace")
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_dir(path.parent)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: Path, data: Any, *, indent: int = 4, durable: bool = True) -> None:
    """Write ``data`` as JSON atomically (no lock: use :func:`update_json` to read-modify-write;
    ``durable``: see :func:`atomic_open`)."""
    with atomic_open(path, durable=durable) as handle:
        json.dump(data, handle, indent=indent, sort_keys=False)
        handle.write("\n")


def update_json(path: Path, update: Callable[[Any], Any], *, load: Callable[[Path], Any]) -> Any:
    """Read ``path`` with ``load``, apply ``update`` and write it back, under the file's lock."""
    with lock_for(path):
        data = load(path)
        new_data = update(data)
        write_json(path, new_data)
        return new_data
