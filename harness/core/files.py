"""Reading the harness's own files, or explaining in one line why not: TOML (harness.toml, the
limitations catalogue) and versioned JSON (goldens, results, the baseline). Every message names
the file, what is wrong and the fix.

A path that is not a regular file (a folder, a FIFO, a device) is refused without reading it: a
FIFO is opened without blocking, so that a named pipe given as a file fails at once instead of
waiting for a writer."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, BinaryIO

from harness.core.errors import HarnessError

NOT_A_FILE_FIX = "give the path of a regular file."


def kind_of(mode: int) -> str:
    """What a ``st_mode`` that is not a regular file's is, for a person."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def open_regular(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[HarnessError],
    missing: str | None = None,
    not_a_file: str = NOT_A_FILE_FIX,
) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file, else a one-line ``error``.
    ``missing`` is the fix when it does not exist (default ``fix``), ``not_a_file`` when it is a
    folder, a FIFO or a device; ``fix`` the fix when it cannot be read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}. Fix: {missing or fix}") from None
    except PermissionError:
        raise error(
            f"{what} {path} cannot be read: permission denied. Fix: make it readable "
            f"(chmod u+r) or run as a user who may read it."
        ) from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be opened: {exc.strerror or exc}. Fix: {fix}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is {kind_of(mode)}, not a file. Fix: {not_a_file}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[HarnessError],
    missing: str | None = None,
    not_a_file: str = NOT_A_FILE_FIX,
) -> bytes:
    """The contents of a regular file, or a one-line ``error`` (see :func:`open_regular`)."""
    opened = open_regular(
        path, what=what, fix=fix, error=error, missing=missing, not_a_file=not_a_file
    )
    with opened as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise error(
                f"{what} {path} cannot be read: {exc.strerror or exc}. Fix: {fix}"
            ) from None


def read_text(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[HarnessError],
    missing: str | None = None,
    not_a_file: str = NOT_A_FILE_FIX,
) -> str:
    """A regular file's contents as UTF-8 text, or a one-line ``error`` (see
    :func:`open_regular`)."""
    data = read_bytes(path, what=what, fix=fix, error=error, missing=missing, not_a_file=not_a_file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text: byte {data[exc.start]:#04x} at offset "
            f"{exc.start} ({exc.reason}). Fix: {fix}"
        ) from None


def parser_gave_up(exc: ValueError | RecursionError) -> str:
    """Why a parser gave up on a document that is well-formed as far as it got."""
    if isinstance(exc, RecursionError):
        return "it nests too deeply"
    return str(exc).split(";")[0]  # "Exceeds the limit (4300 digits) for integer string ..."


def read_toml(
    path: Path, *, what: str, missing: str, error: type[HarnessError], fix: str | None = None
) -> dict[str, Any]:
    """``what`` names the file for a person (``Harness configuration``); ``missing`` is the fix
    when it does not exist; ``fix`` when it cannot be read or parsed (default: correct it)."""
    fix = fix or "correct it (UTF-8 TOML) or restore it from git."
    text = read_text(path, what=what, fix=fix, error=error, missing=missing)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(
            f"{what} {path} is not valid TOML: {exc}. Fix: correct the TOML at that position."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise error(
            f"{what} {path} cannot be read as TOML: {parser_gave_up(exc)}. Fix: {fix}"
        ) from None


def read_json(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[HarnessError],
    missing: str | None = None,
) -> Any:
    """``fix`` says what to do with a file that cannot be read or is not valid JSON; ``missing``
    (default ``fix``) with one that does not exist."""
    text = read_text(path, what=what, fix=fix, error=error, missing=missing)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Fix: {fix}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise error(
            f"{what} {path} cannot be read as JSON: {parser_gave_up(exc)}. Fix: {fix}"
        ) from None


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (``array``, ``object``, ``string``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def schema_of(data: Any) -> Any:
    """The ``schema`` a JSON document declares (None when it is not an object)."""
    return data.get("schema") if isinstance(data, dict) else None


def check_schema(
    data: Any, *, expected: int, what: str, path: Path, fix: str, error: type[HarnessError]
) -> dict[str, Any]:
    """The document, if it is an object of schema ``expected``."""
    if not isinstance(data, dict):
        raise error(
            f"{what} {path} is a JSON {json_type(data)}, expected an object of schema "
            f"{expected}. Fix: {fix}"
        )
    if data.get("schema") != expected:
        raise error(
            f"{what} {path} has schema {schema_of(data)!r}, expected {expected}. Fix: {fix}"
        )
    return data
