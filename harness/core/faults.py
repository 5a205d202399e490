"""Fault injection seams for the crash-safety tests (``tests/faults/``).

``HARNESS_FAULT=<point>`` makes the process kill itself with SIGKILL when it reaches ``point``,
as a machine that dies there would. Points: ``save:before-replace`` (a converted model written
to its temporary file, not yet moved into place), ``json:before-replace`` (a registry, golden or
results file written to its temporary file), ``step:after-save`` (a converted model in place,
its registry entry and step record not yet written).
"""

from __future__ import annotations

import os
import signal


def inject(point: str) -> None:
    """Die here, without cleanup, when ``HARNESS_FAULT`` names this point."""
    if os.environ.get("HARNESS_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
