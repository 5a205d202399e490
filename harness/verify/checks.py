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
from harness.core.compare import Comparison, Tolerance, compare_outputs, compare_values
from harness.core.config import Config
from harness.core.errors import describe
from harness.core.golden import Golden
from harness.core.hardware import Fingerprint
from harness.core.limitations import Observation
from harness.core.registry import Registry
from harness.source import reference

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
        total = compare_outputs(
            expected.outputs.predict, subject.predictions(), subject.tolerance("predict")
        )
        return expected.labelled(judged(total, "predict-mismatch", "predict"))


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
    """The optimizer's slot variables identical to the golden's: stored values, which no
    hardware changes, so always against the golden."""

    name = "optimizer-state"
    needs_model = True

    def run(self, subject: Subject) -> Outcome:
        import numpy as np

        from harness.keras import formats

        golden = subject.golden()
        if golden.iterations is None:
            return Observation("no-optimizer", "", "the golden has no optimizer"), "", {}
        iterations, slots = formats.backend().optimizer_variables(subject.loaded.model)
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
    Replay,
    Expected,
)
CHECK_TYPES: dict[str, type[Check]] = {check.name: check for check in _ALL}
