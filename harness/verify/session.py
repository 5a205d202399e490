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

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.convert.records import read_step_record
from harness.core.compare import Tolerance
from harness.core.config import Config, Route
from harness.core.errors import GoldenError, HarnessError
from harness.core.golden import Golden, read_golden, sha256_of
from harness.core.hardware import Fingerprint
from harness.core.limitations import Catalogue, Limitation, Observation
from harness.core.registry import Registry
from harness.core.results import CHECKS, SOURCE_CHECKS, Cell
from harness.core.specs import Spec
from harness.keras import runtime
from harness.keras.opening import open_model
from harness.source import reference
from harness.source.recorder import record_golden
from harness.verify.checks import CHECK_TYPES, Loaded, Subject, observe_exception
from harness.verify.classify import classify

SOURCE_ROUTE = "source"  # the route name of the source environment's own items


@dataclass(frozen=True)
class Item:
    """One test: a check on one model through one route (``golden`` records the golden)."""

    model: str
    route: str
    spec: str
    check: str

    @property
    def id(self) -> str:
        return f"{self.model}-{self.spec}-{self.check}"


@dataclass
class Verdict:
    cell: Cell
    ok: bool
    message: str = ""
    applicable: list[Limitation] = field(default_factory=list)


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
        self._loaded: dict[tuple[str, str], Loaded] = {}
        self._goldens: dict[str, Golden | GoldenError] = {}
        self._device: tuple[str, str] | None = None
        self._fingerprint: Fingerprint | None = None
        self._lineage: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._expected: dict[str, reference.Expected] = {}

    # ------------------------------------------------------------------ items
    def is_source_env(self, model: str) -> bool:
        return self.registry.get(model).source.version == self.env.version

    def items(self, models: list[str] | None = None) -> list[Item]:
        items: list[Item] = []
        for model_id, entry in sorted(self.registry.models.items()):
            if models and model_id not in models:
                continue
            if self.is_source_env(model_id):
                items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "golden"))
                items.append(Item(model_id, SOURCE_ROUTE, str(entry.source), "replay"))
            for route in self.config.routes_for(self.env.name):
                if self.config.lineage(route.spec, entry.source, model_id) is None:
                    continue
                items.extend(Item(model_id, route.name, str(route.spec), c) for c in CHECKS)
        return items

    # ------------------------------------------------------------------ context
    @property
    def device(self) -> tuple[str, str]:
        if self._device is None:
            self._device = runtime.device()
        return self._device

    @property
    def fingerprint(self) -> Fingerprint:
        """This runner's hardware fingerprint (read once per process)."""
        if self._fingerprint is None:
            from harness.core import hardware

            gpu = runtime.gpu_details() if self.device[0] == "gpu" else None
            self._fingerprint = hardware.fingerprint(gpu)
        return self._fingerprint

    def golden(self, model: str) -> Golden:
        if model not in self._goldens:
            try:
                self._goldens[model] = read_golden(self.golden_dir, model)
            except GoldenError as exc:
                self._goldens[model] = exc
        value = self._goldens[model]
        if isinstance(value, GoldenError):
            raise value
        return value

    def forget_golden(self, model: str) -> None:
        self._goldens.pop(model, None)
        self._expected.pop(model, None)

    def cross_hardware(self, model: str) -> Tolerance:
        """How far the golden may be from this runner's replay: the model's declared ``replay``
        tolerance, else harness.toml's ``[numerics.cross_hardware]``."""
        declared = self.registry.get(model).tolerances.get("replay")
        return Tolerance.from_json(declared) if declared else self.config.cross_hardware

    def expected(self, model: str) -> reference.Expected:
        """What this environment's outputs are compared with: the runner reference of this
        fingerprint (the source environment records it, once per process), else the golden."""
        if model not in self._expected:
            golden = self.golden(model)
            fingerprint = self.fingerprint
            if self.is_source_env(model):
                found: Golden | None = self._replay(model, golden)
            else:
                found = reference.read_reference(
                    self.build_dir, fingerprint.id, self.golden_dir, golden
                )
            self._expected[model] = reference.Expected(
                golden=golden,
                outputs=found or golden,
                basis="reference" if found else "golden",
                fingerprint=fingerprint.id,
                cross_hardware=self.cross_hardware(model),
            )
        return self._expected[model]

    def _replay(self, model: str, golden: Golden) -> Golden:
        """Run the committed source model on the golden's inputs here; store the reference."""
        entry = self.registry.get(model)
        replayed = record_golden(
            self.open(model, entry.source),
            model=model,
            source_spec=str(entry.source),
            source_path=self.registry.resolve(model, entry.source),
            x=golden.x,
            y=golden.y,
            batch_size=golden.batch_size,
            command="replay",
        )
        return reference.write_reference(
            self.build_dir, self.fingerprint.to_json(), self.golden_dir, golden, replayed
        )

    def open(self, model: str, spec: Spec) -> Any:
        """Check a model file's safety, then load it (TensorFlow)."""
        return open_model(self.registry, model, spec)

    def tolerance(self, model: str, check: str) -> Tolerance:
        tolerances = self.registry.get(model).tolerances
        data = tolerances.get(f"{check}@{self.device[0]}", tolerances.get(check))
        return Tolerance.from_json(data)

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
                loaded.model = self.open(model, route.spec)
        except Exception as exc:
            loaded.observation = observe_exception(exc)
        self._loaded[key] = loaded
        return loaded

    def lineage_provenance(self, model: str, route: Route | None) -> list[dict[str, str]]:
        """Every hop's spec, writer and sha256, hashed once per (model, route) and process
        (``route`` None: the source file alone)."""
        key = (model, route.name if route else SOURCE_ROUTE)
        if key not in self._lineage:
            self._lineage[key] = self._hash_lineage(model, route)
        return self._lineage[key]

    def _hash_lineage(self, model: str, route: Route | None) -> list[dict[str, str]]:
        entry = self.registry.get(model)
        steps = self.config.lineage(route.spec, entry.source) if route else []
        specs = [entry.source] + [s.target for s in steps or []]
        hops = []
        for spec in specs:
            producer = self.config.producer(spec)
            hop = {"spec": str(spec), "env": producer.env if producer else "source", "sha256": ""}
            try:
                path = self.registry.resolve(model, spec)
                if path.exists():
                    hop["sha256"] = sha256_of(path)
            except HarnessError:
                pass
            hops.append(hop)
        return hops

    # ------------------------------------------------------------------ checks
    def run(self, item: Item) -> Verdict:
        """Run one item's check and classify its outcome into a cell."""
        kind = CHECK_TYPES.get(item.check)
        if kind is None:
            raise HarnessError(
                f"Unknown check {item.check!r}. Fix: use one of {CHECKS + SOURCE_CHECKS}."
            )
        check = kind()
        numbers: dict[str, Any] = {}
        detail = ""
        loaded = Loaded()
        if check.needs_model:
            loaded = self.load(item.model, self.config.routes[item.route])
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
        expected = self._expected.get(item.model)
        if item.check not in ("predict", "evaluate", "metrics") or expected is None:
            return {}
        return {"compared_with": expected.compared_with()}

    # ------------------------------------------------------------------ verdicts
    def classify(
        self, item: Item, observation: Observation | None, detail: str, numbers: dict[str, Any]
    ) -> Verdict:
        """The cell of one item's outcome, with its provenance (see :func:`classify`)."""
        route = self.config.routes.get(item.route)
        applicable = self.catalogue.applicable(
            env=self.env.name,
            route=item.route,
            model=item.model,
            check=item.check,
            keras=self.env.keras,
        )
        device_kind, device_name = self.device
        fingerprint = self.fingerprint
        cell = Cell(
            model=item.model,
            env=self.env.name,
            device=device_kind,
            route=item.route,
            spec=item.spec,
            check=item.check,
            status="pass",
            detail=detail,
            numbers=numbers,
            provenance={
                "route": item.route,
                "lineage": self.lineage_provenance(item.model, route),
                "versions": runtime.versions(),
                "device_name": device_name,
                "runner": os.environ.get("HARNESS_RUNNER", platform.node()),
                "hardware": fingerprint.to_json(),
                **self._basis(item),
            },
            fingerprint=fingerprint.id,
        )
        result = classify(item.id, observation, detail, applicable, self.catalogue.path)
        cell.status, cell.detail = result.status, result.detail
        return Verdict(cell, result.ok, result.message, applicable)
