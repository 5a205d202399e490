"""What every check is given and returns: the :class:`Subject` (one model as loaded through one
route, with its golden, reference and tolerances), the :class:`Services` it asks of the session,
and the :data:`Outcome` it returns (see :mod:`harness.verify.checks`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from harness.core.compare import Comparison, Tolerance
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
    predict_error: Exception | None = None
    not_produced: Any = None  # loading.NotProduced: the route's file was never written
    #: the model took a train step and was not put back: a later check loads the file again
    trained: bool = False


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

    def trained_names(self, model: str) -> dict[str, str]: ...


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

    def trained_names(self) -> dict[str, str]:
        """``{name training reported: name the golden's evaluate carries}`` for the names the
        source load re-prefixed (:func:`harness.core.metric_names.training_pairs`): the
        reference of ``evaluate`` and ``metrics`` is training's names."""
        return self.services.trained_names(self.model)

    def predictions(self) -> list[Any]:
        """The loaded model's predictions on the golden's inputs, computed once: a predict that
        failed raises the same exception again without predicting again."""
        from harness.keras import formats

        loaded = self.loaded
        if loaded.predictions is None and loaded.predict_error is None:
            golden = self.golden()
            try:
                loaded.predictions = formats.backend().predict(
                    loaded.model, golden.x, golden.batch_size
                )
            except Exception as exc:
                loaded.predict_error = exc
        if loaded.predict_error is not None:
            raise loaded.predict_error
        assert loaded.predictions is not None
        return loaded.predictions

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
