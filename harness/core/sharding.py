"""Sharding a verification environment across machines: ``--shard K/N`` runs the checks of the
models assigned to shard ``K`` of ``N``, so that CI can run ``N`` jobs per environment on ``N``
runners and merge their results files into exactly what one run gives.

A model's shard depends on its id alone (the first 8 bytes of its id's sha256, modulo ``N``):
adding or removing a model never moves another one, so each shard's history stays comparable.
The price is balance: shards hold about, not exactly, ``1/N`` of the models. Every item of a
model (its source checks and every route) runs in the model's shard, so a shard loads each
model it verifies once, as an unsharded run does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from harness.core.errors import HarnessError

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"``, with ``1 <= K <= N``."""
        found = fraction(text)
        if found is not None:
            return cls(*found)
        raise HarnessError(
            f"Bad shard {text!r}: expected K/N with 1 <= K <= N. Fix: pass e.g. --shard 2/3 "
            f"(the second of three shards; run 1/3, 2/3 and 3/3 to cover every model)."
        )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def label(self) -> str:
        """The shard in a file name: ``shard-2of3``."""
        return f"shard-{self.index}of{self.count}"

    def holds(self, model: str) -> bool:
        return shard_of(model, self.count) == self.index


def fraction(text: str) -> tuple[int, int] | None:
    """``"K/N"`` (spaces allowed) as ``(K, N)`` when ``1 <= K <= N``, else None (shards here,
    batches in :mod:`harness.verify.processes`)."""
    found = _SHARD_RE.match(text)
    if found is None:
        return None
    index, count = int(found.group(1)), int(found.group(2))
    return (index, count) if 1 <= index <= count else None


def shard_of(model: str, count: int) -> int:
    """The shard (1-based, of ``count``) that verifies ``model``."""
    digest = hashlib.sha256(model.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
