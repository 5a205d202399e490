"""The models a verification session loads: each (model, route) once per process, after the
safety check; a route whose step failed is not loaded, and says which step and why."""

from __future__ import annotations

from pathlib import Path

from harness.convert.records import read_step_record
from harness.core.config import Config, Route
from harness.core.errors import GoldenError
from harness.core.golden import Golden, read_golden
from harness.core.limitations import Observation
from harness.core.registry import Registry
from harness.keras.opening import open_model
from harness.verify.checks import Loaded, observe_exception


class Models:
    """Loaded models and goldens, cached per process."""

    def __init__(self, config: Config, registry: Registry, build_dir: Path):
        self.config = config
        self.registry = registry
        self.build_dir = build_dir
        self._loaded: dict[tuple[str, str], Loaded] = {}
        self._goldens: dict[str, Golden | GoldenError] = {}

    def load(self, model: str, route: Route) -> Loaded:
        key = (model, route.name)
        if key in self._loaded:
            return self._loaded[key]
        loaded = Loaded()
        entry = self.registry.get(model)
        try:
            lineage = self.config.lineage(route.spec, entry.source) or []
            if lineage:
                record = read_step_record(self.build_dir, model, str(route.spec))
                if record is not None and record.status != "ok":
                    loaded.observation = Observation(
                        "error", record.exception, f"step {record.step} failed: {record.message}"
                    )
            if loaded.observation is None:
                loaded.model = open_model(self.registry, model, route.spec)
        except Exception as exc:
            loaded.observation = observe_exception(exc)
        self._loaded[key] = loaded
        return loaded

    def golden(self, model: str) -> Golden:
        """The committed golden, read once (a golden that cannot be read raises each time)."""
        if model not in self._goldens:
            try:
                self._goldens[model] = read_golden(self.registry.golden_dir, model)
            except GoldenError as exc:
                self._goldens[model] = exc
        value = self._goldens[model]
        if isinstance(value, GoldenError):
            raise value
        return value

    def forget_golden(self, model: str) -> None:
        self._goldens.pop(model, None)
