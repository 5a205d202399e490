"""Specs: one saved form of a model, ``<version>.<format>`` (e.g. ``2.13.keras``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.core.errors import SpecError

#: the spec golden outputs are recorded from, unless a registry says otherwise
DEFAULT_SOURCE = "2.13.keras"

#: format name -> file suffix ("" for directories)
FORMATS: dict[str, str] = {
    "keras": ".keras",
    "h5": ".h5",
    "savedmodel": "",
    "weights.h5": ".weights.h5",
}

_SPEC_RE = re.compile(r"^(?P<version>\d+\.\d+)\.(?P<format>weights\.h5|keras|h5|savedmodel)$")


@dataclass(frozen=True, order=True)
class Spec:
    """A parsed spec: the version of the environment that wrote it, and the format."""

    version: str
    format: str

    @classmethod
    def parse(cls, text: str) -> Spec:
        match = _SPEC_RE.match(text) if isinstance(text, str) else None
        if match is None:
            known = ", ".join(sorted(FORMATS))
            raise SpecError(
                f"Invalid spec: expected '<major>.<minor>.<format>' with format one of "
                f"{known}. Received: {text!r}. Fix: write it like '2.13.keras' or '2.15.h5'."
            )
        return cls(match["version"], match["format"])

    @property
    def suffix(self) -> str:
        return FORMATS[self.format]

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    def __str__(self) -> str:
        return f"{self.version}.{self.format}"


def derive_path(old_path: str, old_spec: Spec, new_spec: Spec) -> str:
    """Derive the path of a converted file the way the recipe's helper does.

    The old spec string is replaced by the new one (the recipe keeps one folder per spec) and
    the suffix is changed to the new format's.
    """
    new_path = old_path.replace(str(old_spec), str(new_spec))
    old_suffix, new_suffix = old_spec.suffix, new_spec.suffix
    if old_suffix and new_path.endswith(old_suffix):
        new_path = new_path[: -len(old_suffix)]
    return new_path + new_suffix
