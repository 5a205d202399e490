"""A cell's provenance: the lineage of the file its route loads (every hop's spec, the
environment that wrote it and its sha256, hashed once per (model, route) and process) and the
runner that made it (its name, device and hardware fingerprint)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from harness.convert.records import read_step_record, recorded_sha256
from harness.core.config import Config, Route
from harness.core.errors import HarnessError
from harness.core.golden import sha256_of
from harness.core.hardware import Fingerprint, fingerprint
from harness.core.locations import is_registered, model_path
from harness.core.registry import Registry
from harness.keras import runtime

SOURCE_ROUTE = "source"  # the route name of the source environment's own items


def runner_name() -> str:
    """The runner's name in provenance: ``$HARNESS_RUNNER``, else the host name."""
    return os.environ.get("HARNESS_RUNNER") or platform.node()


class Runner:
    """This process's device (``("cpu", processor)`` or ``("gpu", name)``) and hardware
    fingerprint, read once."""

    def __init__(self) -> None:
        self._device: tuple[str, str] | None = None
        self._fingerprint: Fingerprint | None = None

    @property
    def device(self) -> tuple[str, str]:
        if self._device is None:
            self._device = runtime.device()
        return self._device

    @property
    def fingerprint(self) -> Fingerprint:
        if self._fingerprint is None:
            gpu = runtime.gpu_details() if self.device[0] == "gpu" else None
            self._fingerprint = fingerprint(gpu)
        return self._fingerprint


class Lineage:
    """Every hop of every (model, route) a session verifies, hashed once per process; a hop
    whose step recorded the hash of the very file (same size and modification time) is not
    hashed again."""

    def __init__(self, config: Config, registry: Registry, build_dir: Path):
        self.config = config
        self.registry = registry
        self.build_dir = build_dir
        self._hops: dict[tuple[str, str], list[dict[str, str]]] = {}

    def hops(self, model: str, route: Route | None) -> list[dict[str, str]]:
        """``route`` None: the source file alone (the source environment's own items)."""
        key = (model, route.name if route else SOURCE_ROUTE)
        if key not in self._hops:
            self._hops[key] = self._hash(model, route)
        return self._hops[key]

    def _hash(self, model: str, route: Route | None) -> list[dict[str, str]]:
        entry = self.registry.get(model)
        if route is not None and is_registered(route.name):
            hop = {"spec": str(route.spec), "env": "registered", "sha256": ""}
            try:
                hop["sha256"] = sha256_of(self.registry.resolve(model, route.spec))
            except (HarnessError, OSError):
                pass
            return [hop]
        steps = self.config.lineage(route.spec, entry.source) if route else []
        hops = []
        for spec in [entry.source] + [s.target for s in steps or []]:
            producer = self.config.producer(spec)
            hop = {"spec": str(spec), "env": producer.env if producer else "source", "sha256": ""}
            try:
                path = model_path(self.registry, self.build_dir, model, spec)
                if path.exists():
                    record = (
                        read_step_record(self.build_dir, model, str(spec)) if producer else None
                    )
                    hop["sha256"] = recorded_sha256(record, path) or sha256_of(path)
            except HarnessError:
                pass
            hops.append(hop)
        return hops
