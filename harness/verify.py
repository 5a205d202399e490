"""The checks: load, predict, evaluate, metrics and optimizer-state for (model, route) in the
running environment, each turned into a :class:`~harness.results.Cell`; in the source
environment also ``replay``, the hardware drift between the golden and this runner.

Outputs are compared with the runner reference of this runner's hardware fingerprint (see
:mod:`harness.reference`), exactly unless a tolerance is declared; without a reference, with the
golden under the cross-hardware tolerance, and the cell says so.

A check either passes or makes an :class:`Observation` (an exception, or a named deviation such
as ``optimizer-state-lost``). The limitations catalogue then classifies it: explained by exactly
one entry -> ``limitation:<id>``; otherwise ``mismatch`` or ``error:<Type>``. A limitation that
applies to a cell whose check passes no longer happens, which fails the check (strict).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import reference, runtime
from harness.compare import Comparison, Tolerance, compare_outputs, compare_values
from harness.config import Config, Route
from harness.convert import read_step_record
from harness.errors import GoldenError, HarnessError, describe
from harness.golden import Golden, read_golden, record_golden, sha256_of
from harness.hardware import Fingerprint
from harness.limitations import Catalogue, Limitation, Observation
from harness.registry import Registry
from harness.results import CHECKS, Cell
from harness.safety import check_safe
from harness.specs import Spec

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
class Loaded:
    model: Any = None
    observation: Observation | None = None
    evaluate: dict[str, float] | None = None
    evaluate_error: Observation | None = None
    predictions: list[Any] | None = None


@dataclass
class Verdict:
    cell: Cell
    ok: bool
    message: str = ""
    applicable: list[Limitation] = field(default_factory=list)


def observe_exception(exc: BaseException) -> Observation:
    return Observation("error", type(exc).__name__, describe(exc))


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
            from harness import hardware

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
        from harness import formats

        entry = self.registry.get(model)
        path = self.registry.resolve(model, spec)
        check_safe(path, model_id=model, trusted=entry.trusted, allowed=set(entry.custom_objects))
        return formats.load(
            spec, path, custom_objects=self.registry.custom_objects(model), trusted=entry.trusted
        )

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
        numbers: dict[str, Any] = {}
        detail = ""
        if item.check == "replay":
            try:
                observation, detail, numbers = self._check_replay(item.model)
            except Exception as exc:  # the source model cannot be replayed on this runner
                observation = observe_exception(exc)
            return self.classify(item, observation, detail, numbers)
        route = self.config.routes[item.route]
        loaded = self.load(item.model, route)
        observation = loaded.observation
        if observation is None:
            try:
                observation, detail, numbers = self._check(item, loaded)
            except Exception as exc:  # a check that crashes (or a bad golden) is that cell's error
                observation = observe_exception(exc)
        elif item.check != "load":
            observation = Observation(
                observation.outcome,
                observation.exception,
                f"not run, load failed: {observation.message}",
            )
        return self.classify(item, observation, detail, numbers)

    def _check(self, item: Item, loaded: Loaded) -> tuple[Observation | None, str, dict[str, Any]]:
        from harness import formats

        if item.check == "load":
            return None, "loaded", {}
        golden = self.golden(item.model)
        backend = formats.backend()
        if item.check == "optimizer-state":  # stored values: no hardware in them
            return self._check_optimizer(golden, loaded)
        expected = self.expected(item.model)
        if item.check == "predict":
            return expected.labelled(
                self._compare_outputs(item, expected, self._predictions(golden, loaded))
            )
        if item.check in ("evaluate", "metrics"):
            if loaded.evaluate is None and loaded.evaluate_error is None:
                try:
                    loaded.evaluate = backend.evaluate(
                        loaded.model, golden.x, golden.y, golden.batch_size
                    )
                except Exception as exc:
                    loaded.evaluate_error = observe_exception(exc)
            if loaded.evaluate_error is not None:
                if item.check == "metrics":
                    return self._diagnose_metrics(golden, loaded), "", {}
                return loaded.evaluate_error, "", {}
            assert loaded.evaluate is not None
            if item.check == "evaluate":
                result = compare_values(
                    expected.outputs.evaluate,
                    loaded.evaluate,
                    tolerance=expected.tolerance(self.tolerance(item.model, "evaluate")),
                )
                return expected.labelled(
                    self._verdict_numbers(result, "evaluate-mismatch", "evaluate")
                )
            return expected.labelled(self._check_metrics(item, expected, loaded.evaluate))
        raise HarnessError(f"Unknown check {item.check!r}. Fix: use one of {CHECKS}.")

    def _predictions(self, golden: Golden, loaded: Loaded) -> list[Any]:
        """The model's outputs on the golden inputs, computed once per loaded model."""
        from harness import formats

        if loaded.predictions is None:
            loaded.predictions = formats.backend().predict(
                loaded.model, golden.x, golden.batch_size
            )
        return loaded.predictions

    def _compare_outputs(
        self, item: Item, expected: reference.Expected, outputs: list[Any]
    ) -> tuple[Observation | None, str, dict[str, Any]]:
        tolerance = expected.tolerance(self.tolerance(item.model, "predict"))
        total = compare_outputs(expected.outputs.predict, outputs, tolerance)
        return self._verdict_numbers(total, "predict-mismatch", "predict")

    @staticmethod
    def _verdict_numbers(
        result: Comparison, outcome: str, check: str
    ) -> tuple[Observation | None, str, dict[str, Any]]:
        numbers = result.numbers()
        if result.ok:
            return None, result.summary(), numbers
        return Observation(outcome, "", f"{check}: {result.summary()}"), result.summary(), numbers

    def _check_replay(self, model: str) -> tuple[Observation | None, str, dict[str, Any]]:
        """Hardware drift: the golden vs the source model replayed on this runner."""
        expected = self.expected(model)
        return reference.replay_verdict(
            expected.golden,
            expected.outputs,
            self.fingerprint,
            expected.cross_hardware,
            regenerate=f"tox -e {self.env.name} -- --golden-regen --model {model}",
            config=self.config.path.name,
        )

    def _check_metrics(
        self, item: Item, expected: reference.Expected, values: dict[str, float]
    ) -> tuple[Observation | None, str, dict[str, Any]]:
        names = expected.golden.metrics
        missing = [name for name in names if name not in values]
        if missing:
            got = ", ".join(sorted(values))
            text = (
                f"missing metric{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)} (model reports: {got})"
            )
            return Observation("metrics-missing", "", text), text, {}
        result = compare_values(
            {n: expected.outputs.evaluate[n] for n in names},
            {n: values[n] for n in names},
            tolerance=expected.tolerance(self.tolerance(item.model, "evaluate")),
        )
        outcome, detail, numbers = self._verdict_numbers(result, "metrics-mismatch", "metrics")
        return outcome, f"{', '.join(names)}: {detail}" if outcome is None else detail, numbers

    def _diagnose_metrics(self, golden: Golden, loaded: Loaded) -> Observation:
        """evaluate() failed: name each golden metric that is missing or cannot be computed."""
        from harness import formats

        backend = formats.backend()
        assert loaded.evaluate_error is not None
        try:
            objects = backend.metric_objects(loaded.model)
            predictions = self._predictions(golden, loaded)
        except Exception:
            return loaded.evaluate_error
        problems: list[str] = []
        exception = ""
        for name in golden.metrics:
            if name not in objects:
                problems.append(f"{name!r} missing")
                continue
            try:
                backend.probe_metric(objects[name], golden.y[0], predictions[0])
            except Exception as exc:
                exception = exception or type(exc).__name__
                problems.append(f"{name!r} broken ({type(exc).__name__}: {exc})")
        if not problems:
            return loaded.evaluate_error
        return Observation(
            "metrics-missing",
            exception or loaded.evaluate_error.exception,
            f"metrics missing or broken: {', '.join(problems)}; evaluate() failed: "
            f"{loaded.evaluate_error.message}",
        )

    def _check_optimizer(
        self, golden: Golden, loaded: Loaded
    ) -> tuple[Observation | None, str, dict[str, Any]]:
        import numpy as np

        from harness import formats

        if golden.iterations is None:
            return Observation("no-optimizer", "", "the golden has no optimizer"), "", {}
        iterations, slots = formats.backend().optimizer_variables(loaded.model)
        remaining = [value for _, value in slots]
        matched = 0
        for want in golden.slots:
            for index, got in enumerate(remaining):
                if (
                    got.shape == want.shape
                    and got.dtype == want.dtype
                    and np.array_equal(got, want)
                ):
                    matched += 1
                    del remaining[index]
                    break
        numbers = {
            "slots_expected": len(golden.slots),
            "slots_loaded": len(slots),
            "slots_matched": matched,
            "iterations_expected": golden.iterations,
            "iterations": iterations,
        }
        detail = (
            f"{matched}/{len(golden.slots)} slot variables identical ({len(slots)} "
            f"loaded), iterations {iterations} (golden {golden.iterations})"
        )
        if matched == len(golden.slots) and iterations == golden.iterations:
            return None, detail, numbers
        if matched == 0 and golden.slots:
            return (
                Observation("optimizer-state-lost", "", f"fresh slots: {detail}"),
                detail,
                numbers,
            )
        return Observation("optimizer-state-changed", "", detail), detail, numbers

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
        if observation is None:
            expected = [entry for entry in applicable if entry.strict]
            if expected:
                ids = ", ".join(entry.id for entry in expected)
                return Verdict(
                    cell,
                    False,
                    (
                        f"{item.id}: documented limitation {ids} no longer happens here (the check "
                        f"passed: {detail}). Fix: update its applies_to in {self.catalogue.path}."
                    ),
                    applicable,
                )
            return Verdict(cell, True, "", applicable)
        cell.detail = (
            observation.message
            if not observation.exception
            else (f"{observation.exception}: {observation.message}")
        )
        explaining = [entry for entry in applicable if entry.explains(observation)]
        if len(explaining) == 1:
            cell.status = f"limitation:{explaining[0].id}"
            return Verdict(cell, True, "", applicable)
        cell.status = f"error:{observation.exception}" if observation.exception else "mismatch"
        if len(explaining) > 1:
            why = "explained by more than one limitation: " + ", ".join(e.id for e in explaining)
        elif applicable:
            why = (
                "not explained by the limitations that apply here ("
                + "; ".join(f"{e.id}: {e.describe_evidence()}" for e in applicable)
                + ")"
            )
        else:
            why = "no documented limitation applies"
        return Verdict(
            cell, False, f"{item.id}: {cell.status}: {observation.message} [{why}]", applicable
        )
