"""The verification session of one environment: which checks run (items), loading each
(model, route) once per process, the runner reference each model is compared with, and each
check's cell with its provenance.

The checks themselves are :mod:`harness.verify.checks` (one class each); what an outcome means
for the cell is :func:`harness.verify.classify.classify`. Outputs are compared with the runner
reference of this runner's hardware fingerprint (see :mod:`harness.source.reference`), exactly
unless a tolerance is declared; without a reference, with the golden under the cross-hardware
tolerance, and the cell says so. In the source environment, ``replay`` is the hardware drift
between the golden and this runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.compare import Tolerance
from harness.core.config import Config, Route
from harness.core.errors import HarnessError
from harness.core.golden import Golden
from harness.core.hardware import Fingerprint
from harness.core.limitations import Catalogue, Limitation, Observation
from harness.core.locations import (
    REGISTERED,
    base_route,
    is_registered,
    registered_route,
    registered_specs,
)
from harness.core.registry import Registry
from harness.core.results import CHECKS, SOURCE_CHECKS, Cell
from harness.core.sharding import Shard
from harness.core.specs import Spec
from harness.keras import runtime
from harness.keras.opening import open_model
from harness.source import reference
from harness.verify.checks import CHECK_TYPES, Loaded, Subject, observe_exception
from harness.verify.classify import Scope, classify, compose, step_failure, why_not_explained
from harness.verify.loading import Models, NotProduced, route_named
from harness.verify.provenance import SOURCE_ROUTE, Lineage, Runner, runner_name


@dataclass(frozen=True)
class Item:
    """One test: a check on one model through one route (``golden`` records the golden)."""

    model: str
    route: str
    spec: str
    check: str

    @property
    def id(self) -> str:
        mark = REGISTERED if is_registered(self.route) else ""
        return f"{self.model}-{self.spec}{mark}-{self.check}"


@dataclass
class Verdict:
    cell: Cell
    ok: bool
    message: str = ""
    applicable: list[Limitation] = field(default_factory=list)


def items_of(
    config: Config,
    registry: Registry,
    env: str,
    models: list[str] | None = None,
    shard: Shard | None = None,
) -> list[Item]:
    """The items of environment ``env``: in a model's source environment its golden and replay
    (and ``expected`` when it names an expected file, ``names`` in Keras 2), then every check of
    every route the environment verifies that reaches the model, and of the user's own file of a
    route's spec where one is registered (``<route>+registered``). With ``shard``, only the
    models of that shard (:mod:`harness.core.sharding`). A model's items are consecutive, and
    within them each route's: the session holds one loaded model at a time."""
    version = config.environment(env).version
    items: list[Item] = []
    for model_id, entry in sorted(registry.models.items()):
        if models and model_id not in models:
            continue
        if shard is not None and not shard.holds(model_id):
            continue
        if entry.source.version == version:
            items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "golden"))
            items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "replay"))
            if entry.expected is not None:
                items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "expected"))
            if config.environment(env).keras == 2:  # Keras 2's naming rules
                items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "names"))
        registered = registered_specs(registry, model_id)
        for route in config.routes_for(env):
            if config.lineage(route.spec, entry.source, model_id) is not None:
                items.extend(Item(model_id, route.name, str(route.spec), c) for c in CHECKS)
            if str(route.spec) in registered and registry.resolve(model_id, route.spec).exists():
                name = registered_route(route.name)  # the user's own file of this spec, as is
                items.extend(Item(model_id, name, str(route.spec), c) for c in CHECKS)
    return items


class Verifier:
    """Runs the checks of one environment; loads each (model, route) once per process."""

    def __init__(
        self, *, config: Config, registry: Registry, catalogue: Catalogue, env: str, build_dir: Path
    ):
        self.config = config
        self.registry = registry
        self.catalogue = catalogue
        self.env = config.environment(env)
        self.build_dir = build_dir
        self.golden_dir = registry.golden_dir
        self.models = Models(config, registry, build_dir, env)
        self.runner = Runner()
        self.lineage = Lineage(config, registry, build_dir)
        self.references = reference.References(
            registry=registry,
            config=config,
            build_dir=build_dir,
            fingerprint=lambda: self.fingerprint,
        )

    # ------------------------------------------------------------------ items
    def is_source_env(self, model: str) -> bool:
        return self.registry.get(model).source.version == self.env.version

    def items(self, models: list[str] | None = None, shard: Shard | None = None) -> list[Item]:
        return items_of(self.config, self.registry, self.env.name, models, shard)

    # ------------------------------------------------------------------ context
    @property
    def device(self) -> tuple[str, str]:
        return self.runner.device

    @property
    def fingerprint(self) -> Fingerprint:
        """This runner's hardware fingerprint (read once per process)."""
        return self.runner.fingerprint

    def golden(self, model: str) -> Golden:
        return self.models.golden(model)

    def forget_golden(self, model: str) -> None:
        self.models.forget_golden(model)
        self.references.forget(model)

    def layer_outputs(self, model: str) -> Any:
        """The source model's recorded layer outputs on this runner (None: not recorded)."""
        return self.references.layer_outputs(model)

    def expected(self, model: str) -> reference.Expected:
        """What this environment's outputs are compared with (see :class:`References`)."""
        golden = self.golden(model)
        return self.references.expected(model, golden, replay=self.is_source_env(model))

    def open(self, model: str, spec: Spec) -> Any:
        """Check a model file's safety, then load it (TensorFlow)."""
        return open_model(self.registry, model, spec)

    def tolerance(self, model: str, check: str) -> Tolerance:
        tolerances = self.registry.get(model).tolerances
        data = tolerances.get(f"{check}@{self.device[0]}", tolerances.get(check))
        declared = Tolerance.from_json(data)
        backend = self.config.backend_tolerances.get(self.env.backend)
        # Keras on jax/torch against the TensorFlow backend's reference: the backend's own
        # kernels add their drift (harness.toml [numerics.backends], measured)
        return declared if backend is None else reference.widen(declared, backend)

    def load(self, model: str, route: Route) -> Loaded:
        return self.models.load(model, route)

    def trained_names(self, model: str) -> dict[str, str]:
        """``{name training reported: name the golden's evaluate carries}``, read once per held
        model (see :meth:`harness.verify.subject.Subject.trained_names`)."""
        from harness.core import metric_names

        def compute() -> dict[str, str]:
            golden = self.golden(model)
            path = self.registry.resolve(model, self.registry.get(model).source)
            if not path.exists():
                return {}
            compiled = metric_names.compiled_names(path, len(golden.predict))
            return metric_names.training_pairs(compiled, list(golden.evaluate))

        return self.models.trained_names(model, compute)

    def hold(self, item: Item) -> None:
        """Keep only what ``item`` needs: when the session moves to another (model, route), the
        loaded model of the last one is dropped; when it moves to another model, that model's
        golden and runner reference go too, and the backend gives back what it kept of them once
        memory grew (:func:`harness.keras.formats.release`)."""
        released = self.models.hold(item.model, item.route)
        if released is None:
            return
        self.references.forget(released)
        from harness.keras import formats

        formats.release()

    # ------------------------------------------------------------------ checks
    def run(self, item: Item) -> Verdict:
        """Run one item's check and classify its outcome into a cell."""
        kind = CHECK_TYPES.get(item.check)
        if kind is None:
            raise HarnessError(
                f"Unknown check {item.check!r}. Fix: use one of {CHECKS + SOURCE_CHECKS}."
            )
        check = kind()
        self.hold(item)
        numbers: dict[str, Any] = {}
        detail = ""
        loaded = Loaded()
        if check.needs_model:
            loaded = self.load(item.model, route_named(self.config, item.route))
        if loaded.not_produced is not None:
            return self.not_produced(item, loaded.not_produced)
        observation = loaded.observation
        if observation is None:
            try:
                observation, detail, numbers = check.run(Subject(item.model, self, loaded))
            except Exception as exc:  # a check that crashes (or a bad golden) is that cell's error
                observation = observe_exception(exc)
        elif item.check != "load":
            observation = Observation(
                observation.outcome,
                observation.exception,
                f"not run, load failed: {observation.message}",
            )
        return self.classify(item, observation, detail, numbers)

    def regenerate_hint(self, model: str) -> str:
        return f"tox -e {self.env.name} -- --golden-regen --model {model}"

    def config_name(self) -> str:
        return self.config.path.name

    def _basis(self, item: Item) -> dict[str, str]:
        """What the cell's outputs were compared with (for the checks that compare outputs)."""
        expected = self.references.known(item.model)
        if item.check not in ("predict", "evaluate", "metrics") or expected is None:
            return {}
        return {"compared_with": expected.compared_with()}

    # ------------------------------------------------------------------ verdicts
    def classify(
        self, item: Item, observation: Observation | None, detail: str, numbers: dict[str, Any]
    ) -> Verdict:
        """The cell of one item's outcome, with its provenance (see :func:`classify`)."""
        scope = Scope(
            self.env.name,
            base_route(item.route),
            item.model,
            item.check,
            self.env.keras,
            self.env.backend,
        )
        applicable = scope.applicable(self.catalogue)
        result = classify(
            item.id,
            observation,
            detail,
            applicable,
            self.catalogue.path,
            entries=self.catalogue.entries,
            scope=scope,
        )
        cell = self.cell(item, result.status, result.detail, numbers)
        return Verdict(cell, result.ok, _joined(result.message, result.explanation), applicable)

    def _route(self, name: str) -> Route | None:
        """The route of a cell (None for the source environment's own items)."""
        return route_named(self.config, name) if name != SOURCE_ROUTE else None

    def not_produced(self, item: Item, missing: NotProduced) -> Verdict:
        """The cell of a route whose file another environment's step did not write: its own
        status (never a pass), accepted only when that step's failure is explained by the
        catalogue in the step's environment; a step that has not run fails the cell."""
        step, record = missing.step, missing.record
        status = f"not-produced:{step.name}"
        detail = f"not produced: {missing.reason}"
        if record is None or record.status == "ok":
            cell = self.cell(item, status, detail, {})
            if step.env == self.env.name:  # this environment's own step: convert first
                fix = f"run keras-harness convert --env {step.env} first (tox -e {step.env} does)"
            else:
                fix = f"run tox -e {step.env} before tox -e {self.env.name} (or run tox)"
            return Verdict(
                cell, False, compose(f"{item.id}: {status}:", detail, f". Fix: {fix}.", gap="")
            )
        route = self.config.route_of(step.target)
        scope = Scope(
            step.env,
            route.name if route else base_route(item.route),
            item.model,
            "load",
            self.config.environment(step.env).keras,
            self.config.environment(step.env).backend,
        )
        applicable = scope.applicable(self.catalogue)
        observation = Observation("error", record.exception, record.message)
        explaining = [entry for entry in applicable if entry.explains(observation)]
        if len(explaining) == 1:
            cause = f"{detail} [limitation:{explaining[0].id} in {step.env}]"
            return Verdict(self.cell(item, status, cause, {}), True)
        cell = self.cell(item, status, detail, {})
        why = why_not_explained(
            observation, applicable, self.catalogue.entries, scope, self.catalogue.path
        )
        message, explanation = step_failure(item.id, status, observation, why, step.env)
        return Verdict(cell, False, _joined(message, explanation))

    def cell(self, item: Item, status: str, detail: str, numbers: dict[str, Any]) -> Cell:
        """A cell of this environment and runner, with its provenance."""
        device_kind, device_name = self.device
        fingerprint = self.fingerprint
        return Cell(
            model=item.model,
            env=self.env.name,
            device=device_kind,
            route=item.route,
            spec=item.spec,
            check=item.check,
            status=status,
            detail=detail,
            numbers=numbers,
            provenance={
                "route": item.route,
                "lineage": self.lineage.hops(item.model, self._route(item.route)),
                "versions": runtime.versions(),
                "device_name": device_name,
                "runner": runner_name(),
                "hardware": fingerprint.to_json(),
                **self._basis(item),
            },
            fingerprint=fingerprint.id,
        )


def _joined(message: str, explanation: str) -> str:
    """A verdict's message: the failure line, then its explanation on further lines (the pytest
    plugin shows them with -v)."""
    return f"{message}\n{explanation}" if message and explanation else message
