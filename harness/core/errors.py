"""The harness's exception hierarchy.

Every message states the problem, what was received, and the fix, on one line.
"""

from __future__ import annotations


def describe(exc: BaseException, limit: int = 500) -> str:
    """What a step record or a cell keeps of an exception, at most ``limit`` characters: its
    first line and, when it has more, its last, where Keras puts the cause of a wrapped error
    (``Error when deserializing class 'Dense' using config={...}.`` ... ``Exception encountered:
    Argument `name` ... cannot contain character `/```); its repr when it has no text."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return repr(exc)
    if len(lines) == 1:
        return lines[0][:limit]
    cause = lines[-1][: limit // 2]
    return f"{lines[0][: limit - len(cause) - 3]} … {cause}"


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


class TransplantError(HarnessError):
    """A Keras 2 optimizer state cannot be carried onto the Keras 3 optimizer (no equivalent
    optimizer, slot or hyperparameter, or a slot that maps to no model variable)."""
