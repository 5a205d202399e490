"""The models a verification session loads: each (model, route) once per process, after the
safety check. A route's file is the harness's own conversion (or, for ``<route>+registered``, the
user's file as registered; :mod:`harness.core.locations`). A conversion that was not produced is
not loaded: when the step that should have written it belongs to this environment, its failure
is this cell's observation; otherwise the cell says which step of which environment did not
produce it, and why (:class:`NotProduced`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.convert.records import StepRecord, read_step_record
from harness.core.config import Config, Route, Step
from harness.core.errors import GoldenError, HarnessError
from harness.core.golden import Golden, read_golden
from harness.core.limitations import Observation
from harness.core.locations import base_route, converted_path, is_registered, model_path
from harness.core.registry import Registry
from harness.keras.opening import open_model
from harness.verify.checks import Loaded, observe_exception


@dataclass(frozen=True)
class NotProduced:
    """The first step of a route's lineage whose output is not there: it failed (``record``
    says why), it has not run (no record), or its output went missing."""

    step: Step
    record: StepRecord | None

    @property
    def reason(self) -> str:
        if self.record is None:
            return f"step {self.step.name} has not run"
        if self.record.status == "ok":
            return f"the output of step {self.step.name} is missing ({self.record.output})"
        return f"step {self.step.name} failed: {self.record.exception}: {self.record.message}"


def route_named(config: Config, name: str) -> Route:
    """A configured route, or the user's-file variant of one (``<route>+registered``)."""
    configured = config.routes.get(base_route(name))
    if configured is None:
        raise HarnessError(
            f"Unknown route {name!r}. Fix: use one of {sorted(config.routes)} (or one of them "
            f"with +registered)."
        )
    if not is_registered(name):
        return configured
    return Route(name, configured.spec, f"the user's own {configured.spec} file, as registered")


class Models:
    """The loaded (model, route) and the goldens of the model being verified, held while its
    checks run: :meth:`hold` drops what the session no longer needs, so that memory stays flat in
    the number of models (the items of one (model, route) are consecutive, see
    :func:`harness.verify.session.items_of`; an item out of that order loads its model again)."""

    def __init__(self, config: Config, registry: Registry, build_dir: Path, env: str = ""):
        self.config = config
        self.registry = registry
        self.build_dir = build_dir
        self.env = env
        self._loaded: dict[tuple[str, str], Loaded] = {}
        self._goldens: dict[str, Golden | GoldenError] = {}
        self._trained: dict[str, dict[str, str]] = {}
        self._held: tuple[str, str] | None = None

    def hold(self, model: str, route: str) -> str | None:
        """Make (``model``, ``route``) the one held: the loaded model of any other route is
        dropped, and so is everything of another model (its golden and what was read for it).
        Returns the model that was let go, if any, so the caller can release what it keeps of it
        (and the backend's session)."""
        key = (model, route)
        if self._held == key:
            return None
        previous, self._held = self._held, key
        for loaded in [k for k in self._loaded if k != key]:
            del self._loaded[loaded]
        if previous is None or previous[0] == model:
            return None
        for name in [m for m in self._goldens if m != model]:
            del self._goldens[name]
        for name in [m for m in self._trained if m != model]:
            del self._trained[name]
        return previous[0]

    def trained_names(self, model: str, compute: Callable[[], dict[str, str]]) -> dict[str, str]:
        """``compute()`` once per held model (the names training reported, read from the source
        file's compile config)."""
        if model not in self._trained:
            self._trained[model] = compute()
        return self._trained[model]

    def missing(self, model: str, route: Route) -> NotProduced | None:
        """The first step of ``route``'s lineage for ``model`` whose output is not there."""
        if is_registered(route.name):
            return None
        entry = self.registry.get(model)
        for step in self.config.lineage(route.spec, entry.source, model) or []:
            record = read_step_record(self.build_dir, model, str(step.target))
            if record is None or record.status != "ok":
                return NotProduced(step, record)
            if not converted_path(self.build_dir, model, step.target).exists():
                return NotProduced(step, record)
        return None

    def load(self, model: str, route: Route) -> Loaded:
        key = (model, route.name)
        if key in self._loaded and not self._loaded[key].trained:
            return self._loaded[key]
        loaded = Loaded()
        try:
            missing = self.missing(model, route)
            if (
                missing is not None
                and missing.step.env == self.env
                and missing.record is not None
                and missing.record.status != "ok"
            ):
                # this environment's own step failed: that failure is what the cell shows
                record = missing.record
                loaded.observation = Observation(
                    "error", record.exception, f"step {record.step} failed: {record.message}"
                )
            elif missing is not None:
                loaded.not_produced = missing
            else:
                path = model_path(
                    self.registry,
                    self.build_dir,
                    model,
                    route.spec,
                    registered=is_registered(route.name),
                )
                loaded.model = open_model(self.registry, model, route.spec, path)
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
