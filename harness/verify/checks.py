"""One class per check. A check looks at one model (loaded through one route, or in the source
environment) and returns an :data:`Outcome`: nothing observed (it passed), or an
:class:`~harness.core.limitations.Observation`, with its detail and numbers. What the outcome
means for the cell (pass, limitation, mismatch, error) is
:func:`harness.verify.classify.classify`'s job.

Adding a check is adding a class here (or in :mod:`harness.verify.training`, the checks of
training state) with a ``name`` and a ``run``, and its name to ``harness.core.results.CHECKS``
(or ``SOURCE_CHECKS`` for a check of the source environment itself). What a check is given is in
:mod:`harness.verify.subject`. TensorFlow is reached through :mod:`harness.keras.formats`, lazily.
"""

from __future__ import annotations

from harness.core import metric_names, stated
from harness.core.compare import (
    Tolerance,
    compare_outputs,
    compare_values,
)
from harness.core.errors import describe
from harness.core.limitations import Observation
from harness.source import reference
from harness.source.cases import SOURCE_ENV_COMMAND
from harness.verify.subject import (
    Check,
    Loaded,
    Outcome,
    Services,
    Subject,
    judged,
    observe_exception,
)
from harness.verify.training import OptimizerState, TrainStep

__all__ = [
    "CHECK_TYPES",
    "Loaded",
    "OptimizerState",
    "Outcome",
    "Services",
    "Subject",
    "TrainStep",
    "observe_exception",
]


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
        pairs = subject.trained_names()
        reference = metric_names.as_trained(expected.outputs.evaluate, pairs)
        tolerance = subject.tolerance("evaluate")
        drift = renamed_as_loaded(reference, values, pairs)
        result = compare_values(reference, drift or values, tolerance=tolerance)
        verdict = judged(result, "evaluate-mismatch", "evaluate")
        if drift and verdict[0] is None:  # the values are right, under the source load's names
            text = f"{metric_names.drift_text(pairs)}; values {verdict[1]}"
            verdict = (Observation("metric-names-drift", "", text), text, verdict[2])
        return expected.labelled(verdict)


def renamed_as_loaded(
    reference: dict[str, float], values: dict[str, float], pairs: dict[str, str]
) -> dict[str, float] | None:
    """``values`` under training's names when the model reports the source load's re-prefixed
    names instead (every one of them, none of training's); None otherwise."""
    if not pairs or any(name in values for name in pairs):
        return None
    if not all(produced in values for produced in pairs.values()):
        return None
    back = {produced: trained for trained, produced in pairs.items()}
    return {back.get(name, name): value for name, value in values.items()}


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
        pairs = subject.trained_names()
        names = list(metric_names.as_trained(dict.fromkeys(expected.golden.metrics, 0.0), pairs))
        reference = metric_names.as_trained(expected.outputs.evaluate, pairs)
        drift = renamed_as_loaded(reference, values, pairs)
        values = drift or values
        missing = [name for name in names if name not in values]
        if missing:
            got = ", ".join(sorted(values))
            text = (
                f"missing metric{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)} (model reports: {got})"
            )
            return Observation("metrics-missing", "", text), text, {}
        result = compare_values(
            {n: reference[n] for n in names},
            {n: values[n] for n in names},
            tolerance=subject.tolerance("evaluate"),
        )
        observation, detail, numbers = judged(result, "metrics-mismatch", "metrics")
        if observation is None:
            detail = f"{', '.join(names)}: {detail}"
            if drift:  # present and equal, under the source load's names
                detail = f"{metric_names.drift_text(pairs)}; {detail}"
                observation = Observation("metric-names-drift", "", detail)
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
        pairs = subject.trained_names()
        for name in metric_names.as_trained(dict.fromkeys(golden.metrics, 0.0), pairs):
            if name not in objects and pairs.get(name) in objects:
                name = pairs[name]  # present under the name the source load gave it
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


class Names:
    """The metric names training reported, from the compile config of the source file
    (:mod:`harness.core.metric_names`), against the names the source load's ``evaluate``
    reported in the golden: a drift the source load itself made is observed here, not taken as
    the truth. No model is loaded."""

    name = "names"
    needs_model = False

    def run(self, subject: Subject) -> Outcome:
        services = subject.services
        golden = subject.golden()
        entry = services.registry.get(subject.model)
        path = services.registry.resolve(subject.model, entry.source)
        produced = [str(name) for name in golden.evaluate]
        return metric_names.verdict(path, len(golden.predict), produced, path.name)


_ALL: tuple[type[Check], ...] = (
    Load,
    Predict,
    Evaluate,
    Metrics,
    OptimizerState,
    TrainStep,
    Replay,
    Expected,
    Names,
)
CHECK_TYPES: dict[str, type[Check]] = {check.name: check for check in _ALL}
