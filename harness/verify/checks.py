"""One class per check. A check looks at one model (loaded through one route, or in the source
environment) and returns an :data:`Outcome`: nothing observed (it passed), or an
:class:`~harness.core.limitations.Observation`, with its detail and numbers. What the outcome
means for the cell (pass, limitation, mismatch, error) is
:func:`harness.verify.classify.classify`'s job.

Adding a check is adding a class here with a ``name`` and a ``run``, and its name to
``harness.core.results.CHECKS`` (or ``SOURCE_CHECKS`` for a check of the source environment
itself).
TensorFlow is reached through :mod:`harness.keras.formats`, lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from harness.core import stated
from harness.core.compare import (
    Comparison,
    Tolerance,
    compare_arrays,
    compare_outputs,
    compare_values,
)
from harness.core.config import Config
from harness.core.errors import describe
from harness.core.golden import Golden
from harness.core.hardware import Fingerprint
from harness.core.limitations import Observation
from harness.core.registry import Registry
from harness.source import reference
from harness.source.cases import SOURCE_ENV_COMMAND

#: a check's result: an observation (None when it passed), its detail and its numbers
Outcome = tuple[Observation | None, str, dict[str, Any]]


def observe_exception(exc: BaseException) -> Observation:
    return Observation("error", type(exc).__name__, describe(exc))


@dataclass
class Loaded:
    """One (model, route) as loaded in this process, with what its checks computed from it."""

    model: Any = None
    observation: Observation | None = None
    evaluate: dict[str, float] | None = None
    evaluate_error: Observation | None = None
    predictions: list[Any] | None = None
    not_produced: Any = None  # loading.NotProduced: the route's file was never written


class Services(Protocol):
    """What checks ask the session for (the :class:`~harness.verify.session.Verifier`)."""

    registry: Registry
    config: Config

    @property
    def fingerprint(self) -> Fingerprint: ...

    def golden(self, model: str) -> Golden: ...

    def expected(self, model: str) -> reference.Expected: ...

    def tolerance(self, model: str, check: str) -> Tolerance: ...

    def regenerate_hint(self, model: str) -> str: ...

    def layer_outputs(self, model: str) -> Any: ...

    def config_name(self) -> str: ...


@dataclass
class Subject:
    """The model a check looks at; predictions and evaluation are computed once per loaded
    model and shared by the checks that need them."""

    model: str
    services: Services
    loaded: Loaded

    def golden(self) -> Golden:
        return self.services.golden(self.model)

    def expected(self) -> reference.Expected:
        return self.services.expected(self.model)

    def tolerance(self, check: str) -> Tolerance:
        return self.expected().tolerance(self.services.tolerance(self.model, check))

    def predictions(self) -> list[Any]:
        from harness.keras import formats

        if self.loaded.predictions is None:
            golden = self.golden()
            self.loaded.predictions = formats.backend().predict(
                self.loaded.model, golden.x, golden.batch_size
            )
        return self.loaded.predictions

    def evaluation(self) -> dict[str, float] | Observation:
        from harness.keras import formats

        loaded = self.loaded
        if loaded.evaluate is None and loaded.evaluate_error is None:
            golden = self.golden()
            try:
                loaded.evaluate = formats.backend().evaluate(
                    loaded.model, golden.x, golden.y, golden.batch_size
                )
            except Exception as exc:
                loaded.evaluate_error = observe_exception(exc)
        if loaded.evaluate_error is not None:
            return loaded.evaluate_error
        assert loaded.evaluate is not None
        return loaded.evaluate


def judged(result: Comparison, outcome: str, check: str) -> Outcome:
    """A comparison as an outcome: its summary, its numbers, and an observation if beyond
    tolerance."""
    numbers = result.numbers()
    if result.ok:
        return None, result.summary(), numbers
    return Observation(outcome, "", f"{check}: {result.summary()}"), result.summary(), numbers


class Check(Protocol):
    name: str
    #: run on the loaded model of a route (False: on the source environment's own items)
    needs_model: bool

    def run(self, subject: Subject) -> Outcome: ...


class Load:
    name = "load"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        return None, "loaded", {}


class Predict:
    """The outputs on the golden inputs, against this runner's reference (exact by default)."""

    name = "predict"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        expected = subject.expected()
        tolerance = subject.tolerance("predict")
        total = compare_outputs(expected.outputs.predict, subject.predictions(), tolerance)
        observation, detail, numbers = judged(total, "predict-mismatch", "predict")
        if observation is not None:
            where, layer = self.first_layer(subject, tolerance)
            detail = f"{detail}; {where}"
            observation = Observation(observation.outcome, "", f"{observation.message}; {where}")
            if layer:
                numbers["first_diverging_layer"] = layer
        return expected.labelled((observation, detail, numbers))

    @staticmethod
    def first_layer(subject: Subject, tolerance: Tolerance) -> tuple[str, str]:
        """Where the outputs first move: the first layer beyond ``tolerance`` against the source
        model's recorded layer outputs (:mod:`harness.source.layers`), or how to record them."""
        from harness.keras import formats
        from harness.source import layers

        recorded = subject.services.layer_outputs(subject.model)
        if recorded is None:
            return layers.hint(subject.model, SOURCE_ENV_COMMAND), ""
        golden = subject.expected().outputs
        try:
            actual = formats.backend().layer_outputs(
                subject.loaded.model, golden.x, golden.batch_size
            )
        except Exception as exc:
            return f"layer outputs unavailable ({type(exc).__name__}: {describe(exc, 120)})", ""
        found = layers.first_divergence(recorded, actual, tolerance)
        if found is None:
            return "no recorded layer's output moved beyond the tolerance", ""
        return f"first diverging layer: {found.describe()}", found.layer


class Evaluate:
    """``evaluate()`` on the golden data: the same metric names with the same values."""

    name = "evaluate"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        expected = subject.expected()
        values = subject.evaluation()
        if isinstance(values, Observation):
            return values, "", {}
        result = compare_values(
            expected.outputs.evaluate, values, tolerance=subject.tolerance("evaluate")
        )
        return expected.labelled(judged(result, "evaluate-mismatch", "evaluate"))


class Metrics:
    """The golden's compiled metrics present and equal; when ``evaluate()`` fails, each missing
    or broken metric named."""

    name = "metrics"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        expected = subject.expected()
        values = subject.evaluation()
        if isinstance(values, Observation):
            return self.diagnose(subject, values), "", {}
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
            tolerance=subject.tolerance("evaluate"),
        )
        observation, detail, numbers = judged(result, "metrics-mismatch", "metrics")
        if observation is None:
            detail = f"{', '.join(names)}: {detail}"
        return expected.labelled((observation, detail, numbers))

    @staticmethod
    def diagnose(subject: Subject, failure: Observation) -> Observation:
        """evaluate() failed: name each golden metric that is missing or cannot be computed."""
        from harness.keras import formats

        backend = formats.backend()
        golden = subject.golden()
        try:
            objects = backend.metric_objects(subject.loaded.model)
            predictions = subject.predictions()
        except Exception:
            return failure
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
            return failure
        return Observation(
            "metrics-missing",
            exception or failure.exception,
            f"metrics missing or broken: {', '.join(problems)}; evaluate() failed: "
            f"{failure.message}",
        )


class OptimizerState:
    """The optimizer's slot variables identical to the golden's, each to the slot of the same
    model variable (Keras 3: the variable the transplant writes, see
    :mod:`harness.core.optimizer_state`), and the iteration count: stored values, which no
    hardware changes, so always against the golden."""

    name = "optimizer-state"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        from harness.keras import formats

        golden = subject.golden()
        if golden.iterations is None:
            return Observation("no-optimizer", "", "the golden has no optimizer"), "", {}
        backend = formats.backend()
        model = subject.loaded.model
        iterations, slots = backend.optimizer_variables(model)
        names = [str(s["name"]) for s in golden.meta["optimizer"].get("slots", [])]
        found = self.found(backend, model, golden, names, dict(slots))
        matched = 0
        differ: list[str] = []
        for want, (label, got) in zip(golden.slots, found, strict=True):
            if got is None:
                differ.append(f"{label} missing")
                continue
            one = compare_arrays(want, got, name=label)
            if one.bitwise:
                matched += 1
            else:
                differ.append(one.summary())
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
        changes = self.hyperparameters(model, golden)
        if changes:
            detail += f"; hyperparameters changed: {'; '.join(changes)}"
        if matched == len(golden.slots) and iterations == golden.iterations and not changes:
            return None, detail, numbers
        if matched == 0 and golden.slots:
            kind = type(getattr(model, "optimizer", None)).__name__
            return (
                Observation("optimizer-state-lost", "", f"fresh slots ({kind}): {detail}"),
                detail,
                numbers,
            )
        message = f"{detail}; differ: {'; '.join(differ[:3])}" if differ else detail
        return Observation("optimizer-state-changed", "", message), message, numbers

    @staticmethod
    def found(
        backend: Any, model: Any, golden: Golden, names: list[str], slots: dict[str, Any]
    ) -> list[tuple[str, Any]]:
        """For each golden slot, how the loaded optimizer calls it and its value there (None:
        it has none). Keras 2 keeps the name; Keras 3 the slot of the same model variable
        (:func:`harness.keras.transplant.targets`)."""
        from harness.core.optimizer_state import Keras2State, parse_names

        config = golden.meta.get("compile", {}).get("optimizer") or {}
        legacy = bool((config.get("config") or {}).get("is_legacy_optimizer", False))
        if backend.GENERATION < 3:
            return OptimizerState.same_generation(names, golden, slots, legacy)
        import numpy as np

        from harness.core.errors import TransplantError
        from harness.keras.transplant import leaf, targets

        _, parsed = parse_names(names, list(golden.slots), legacy=legacy, source="the golden")
        state = Keras2State(
            str(golden.meta["optimizer"].get("class_name", "")), legacy, {}, None, parsed, ""
        )
        optimizer = getattr(model, "optimizer", None)
        try:
            pairs = targets(model, optimizer, state) if optimizer is not None else []
        except TransplantError:
            pairs = []
        if not pairs:
            return [(name, None) for name in names]
        return [
            (
                f"{name} (as {leaf(target) if target is not None else assignment.target})",
                None if target is None else np.array(target),
            )
            for name, (assignment, target) in zip(names, pairs, strict=True)
        ]

    @staticmethod
    def same_generation(
        names: list[str], golden: Golden, slots: dict[str, Any], legacy: bool
    ) -> list[tuple[str, Any]]:
        """Keras 2 loading Keras 2: each golden slot's variable of the same slot kind and model
        variable (a layer's variables may be named with or without its wrapper's prefix: TF 2.13
        names a custom layer's inner Dense ``kernel:0`` from a .keras, with a prefix from a .h5)."""
        from harness.core.errors import TransplantError
        from harness.core.optimizer_state import pair, parse_names

        loaded = list(slots)
        try:
            _, want = parse_names(names, list(golden.slots), legacy=legacy, source="the golden")
            _, have = parse_names(loaded, [slots[n] for n in loaded], legacy=legacy, source="")
        except TransplantError:
            return [(name, slots.get(name)) for name in names]
        indices = pair(
            [(f"{s.variable}/{s.kind}", tuple(s.value.shape)) for s in want],
            [(f"{s.variable}/{s.kind}", tuple(s.value.shape)) for s in have],
        )
        return [
            (name, None if index is None else slots[loaded[index]])
            for name, index in zip(names, indices, strict=True)
        ]

    @staticmethod
    def hyperparameters(model: Any, golden: Golden) -> list[str]:
        """The hyperparameters of the loaded optimizer that differ from the source's."""
        from harness.core.optimizer_state import hyperparameter_changes

        source = (golden.meta.get("compile", {}).get("optimizer") or {}).get("config")
        optimizer = getattr(model, "optimizer", None)
        if not isinstance(source, dict) or optimizer is None:
            return []
        return hyperparameter_changes(source, optimizer.get_config())


class TrainStep:
    """One ``train_on_batch`` on the golden batch from the loaded state (training-time
    randomness off), against the same step of the source model on this runner (the reference;
    the golden's when it recorded one): every weight after the step, the loss and the iteration
    count. Exact by default: a fresh optimizer state, a wrong learning rate, a lost ``amsgrad``
    or a reset ``iterations`` all move the weights."""

    name = "train-step"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        from harness.core.optimizer_state import pair
        from harness.keras import formats

        expected = subject.expected()
        golden = expected.outputs
        try:  # first: a model that cannot train says so, whatever it is compared with
            metrics, after, iterations, off = formats.backend().train_step(
                subject.loaded.model, golden.x, golden.y
            )
        except Exception as exc:
            return observe_exception(exc), "", {}
        reference = golden.meta.get("train_step")
        if not isinstance(reference, dict):
            text = (
                f"no train step recorded for {subject.model} on this runner ("
                f"{expected.compared_with()}). Fix: run the source environment on this runner "
                f"({SOURCE_ENV_COMMAND}), which records it."
            )
            return Observation("error", "NoTrainStepReference", text), "", {}
        if "refused" in reference:
            text = f"the source model could not take a train step: {reference['refused']}"
            return Observation("train-step-refused", "", text), text, {}
        want_names = [str(n) for n in reference["weights"]]
        wanted = list(zip(want_names, [tuple(w.shape) for w in golden.trained], strict=True))
        indices = pair(wanted, [(name, tuple(value.shape)) for name, value in after])
        tolerance = subject.tolerance("train-step")
        total = Comparison()
        unpaired = [name for name, index in zip(want_names, indices, strict=True) if index is None]
        if unpaired:
            total.problems.append(f"no weight after the step for {', '.join(unpaired[:3])}")
        first: list[str] = []
        largest = ("", 0.0)
        for name, want, index in zip(want_names, golden.trained, indices, strict=True):
            if index is None:
                continue
            one = compare_arrays(want, after[index][1], name=name, tolerance=tolerance)
            if not one.ok:
                first.append(name)
                largest = max(largest, (name, one.max_abs), key=lambda pair: pair[1])
            total.merge(one)
        loss = compare_values(
            {"loss": reference["metrics"]["loss"]},
            {"loss": metrics.get("loss", float("nan"))},
            tolerance=tolerance,
        )
        total.merge(loss)
        if iterations != reference.get("iterations"):
            total.problems.append(
                f"iterations after the step {iterations}, expected {reference.get('iterations')}"
            )
        observation, detail, numbers = judged(total, "train-step-mismatch", "train-step")
        if observation is not None:
            optimizer = type(getattr(subject.loaded.model, "optimizer", None)).__name__
            where = (
                f"first weight beyond tolerance: {first[0]}, largest: {largest[0]} "
                f"({largest[1]:.3g}) "
                if first
                else ""
            )
            detail = f"{where}(optimizer {optimizer}); {detail}"
            observation = Observation(observation.outcome, "", f"train-step: {detail}")
        if off:
            detail += f" (randomness off: {', '.join(off[:3])})"
        return expected.labelled((observation, detail, numbers))


class Replay:
    """Hardware drift: the golden vs the source model replayed on this runner (the source
    environment's own check, see :func:`harness.source.reference.replay_verdict`)."""

    name = "replay"
    needs_model = False

    def run(self, subject: Subject) -> Outcome:
        expected = subject.expected()
        services = subject.services
        return reference.replay_verdict(
            expected.golden,
            expected.outputs,
            services.fingerprint,
            expected.cross_hardware,
            regenerate=services.regenerate_hint(subject.model),
            config=services.config_name(),
        )


class Expected:
    """The values the user stated (the model's ``expected`` file, recorded in its golden) against
    what the source environment's load produced (the golden), see :mod:`harness.core.stated`:
    under the model's ``expected`` tolerance, else the cross-hardware one (training ran
    elsewhere). No model is loaded: both are in the golden."""

    name = "expected"
    needs_model = False

    def run(self, subject: Subject) -> Outcome:
        services = subject.services
        return stated.verdict(
            services.registry,
            subject.model,
            subject.golden(),
            services.config.cross_hardware,
            regenerate=services.regenerate_hint(subject.model),
        )


_ALL: tuple[type[Check], ...] = (
    Load,
    Predict,
    Evaluate,
    Metrics,
    OptimizerState,
    TrainStep,
    Replay,
    Expected,
)
CHECK_TYPES: dict[str, type[Check]] = {check.name: check for check in _ALL}
