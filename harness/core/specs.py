"""Specs: one saved form of a model, ``<version>[-<writer>].<format>``: ``2.13.keras``, or
``2.16-tfkeras.keras`` for a file tf_keras wrote in TF 2.16 (Keras 3 writes ``2.16.keras``)."""

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

_SPEC_RE = re.compile(
    r"^(?P<version>\d+\.\d+)(?:-(?P<writer>[a-z][a-z0-9]*))?\.(?P<format>weights\.h5|keras|h5|savedmodel)$"
)


@dataclass(frozen=True, order=True)
class Spec:
    """A parsed spec: the version of the environment that wrote it, the format, and the writer
    when the environment's default Keras did not write it (``tfkeras``)."""

    version: str
    format: str
    writer: str = ""

    @classmethod
    def parse(cls, text: str) -> Spec:
        match = _SPEC_RE.match(text) if isinstance(text, str) else None
        if match is None:
            known = ", ".join(sorted(FORMATS))
            raise SpecError(
                f"Invalid spec: expected '<major>.<minor>[-<writer>].<format>' with format one of "
                f"{known}. Received: {text!r}. Fix: write it like '2.13.keras' or '2.15.h5'."
            )
        return cls(match["version"], match["format"], match["writer"] or "")

    @property
    def suffix(self) -> str:
        return FORMATS[self.format]

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    def __str__(self) -> str:
        writer = f"-{self.writer}" if self.writer else ""
        return f"{self.version}{writer}.{self.format}"
