"""The checks of training state: the optimizer's slots, iteration count and hyperparameters
(:class:`OptimizerState`), and one training step from the loaded state (:class:`TrainStep`).

A Keras 2 slot is found in a Keras 3 optimizer through the same mapping the transplant writes
with (:func:`harness.keras.transplant.targets`); TensorFlow is reached lazily.
"""

from __future__ import annotations

from typing import Any

from harness.core.compare import Comparison, compare_arrays, compare_values
from harness.core.golden import Golden
from harness.core.limitations import Observation
from harness.source.cases import SOURCE_ENV_COMMAND
from harness.verify.subject import Outcome, Subject, judged, observe_exception


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
        # the last check of a route: the step's weights are not put back (that costs as much as
        # the step); the loaded model is marked, and a check after this one loads it again
        subject.loaded.trained = True
        try:  # first: a model that cannot train says so, whatever it is compared with
            metrics, after, iterations, off = formats.backend().train_step(
                subject.loaded.model, golden.x, golden.y, restore=False
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
