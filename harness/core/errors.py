"""The harness's exception hierarchy.

Every message states the problem, what was received, and the fix, on one line.
"""

from __future__ import annotations


def describe(exc: BaseException, limit: int = 500) -> str:
    """An exception's first line (at most ``limit`` characters), or its repr when it has none:
    what a step record or a cell keeps of it."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else repr(exc)


class HarnessError(Exception):
    """Base class: a problem the user can fix; the CLI prints it as one line."""


class ConfigError(HarnessError):
    """The harness configuration (environments, steps, routes) is invalid."""


class RegistryError(HarnessError):
    """The model registry is malformed or names something that does not exist."""


class SpecError(HarnessError):
    """A spec string such as ``2.13.keras`` is not valid."""


class GoldenError(HarnessError):
    """A golden record is missing, unreadable or of another schema version."""


class GoldenTaintedError(GoldenError):
    """A golden was written with another schema version and must be regenerated."""


class LimitationsError(HarnessError):
    """The limitations catalogue is malformed."""


class ResultsError(HarnessError):
    """A results file is malformed, or two results files conflict."""


class UnsafeModelError(HarnessError):
    """A model file asks to execute code and its registry entry does not trust it."""


class EnvironmentMismatchError(HarnessError):
    """The running Python environment is not the one the configuration names."""


class ResourceLimitError(UnsafeModelError):
    """A model file exceeds a resource limit (decompression ratio, config depth, external links)."""


class ModelFileError(HarnessError):
    """A model file is missing, empty, truncated or not of the format its name says."""


class ExpectedError(HarnessError):
    """A model's ``expected`` file (the values the user stated) cannot be used."""
