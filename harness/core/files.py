"""Reading the harness's own files, or explaining in one line why not: TOML (harness.toml, the
limitations catalogue) and versioned JSON (goldens, results, the baseline). Every message names
the file, what is wrong and the fix."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError


def read_toml(path: Path, *, what: str, missing: str, error: type[HarnessError]) -> dict[str, Any]:
    """``what`` names the file for a person (``Harness configuration``); ``missing`` is the fix
    when it does not exist."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}. Fix: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}.") from None


def read_json(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[HarnessError],
    missing: str | None = None,
) -> Any:
    """``fix`` says what to do with a file that is not valid JSON; ``missing`` (when given) with
    one that does not exist (otherwise the caller has checked)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if missing is None:
            raise
        raise error(f"{what} not found: {path}. Fix: {missing}") from None
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Fix: {fix}"
        ) from None


def schema_of(data: Any) -> Any:
    """The ``schema`` a JSON document declares (None when it is not an object)."""
    return data.get("schema") if isinstance(data, dict) else None


def check_schema(
    data: Any, *, expected: int, what: str, path: Path, fix: str, error: type[HarnessError]
) -> dict[str, Any]:
    """The document, if it is an object of schema ``expected``."""
    if not isinstance(data, dict) or data.get("schema") != expected:
        raise error(
            f"{what} {path} has schema {schema_of(data)!r}, expected {expected}. Fix: {fix}"
        )
    return data
