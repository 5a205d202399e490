"""Carry a Keras 2 optimizer state onto the Keras 3 optimizer of the same model (Keras 3 only).

Keras 3 loads a Keras 2 ``.h5`` with its optimizer's class and hyperparameters but fresh slot
variables: its legacy loader hands Keras 2's weight list to ``set_weights``, which has one
variable fewer (Keras 3 adds ``learning_rate``), and gives up with a warning. This module reads
the state from the file itself (:func:`harness.core.optimizer_state.read_h5`, no TensorFlow) and
writes each slot to the Keras 3 optimizer variable of the same model variable and slot
(:func:`harness.core.optimizer_state.plan`), then the iteration count. It refuses, naming what,
when the optimizer or a slot has no Keras 3 equivalent, when a hyperparameter did not come
across, or when a Keras 3 slot would stay unset: a partial state is never saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import TransplantError
from harness.core.optimizer_state import (
    Assignment,
    Keras2State,
    class_name,
    hyperparameter_changes,
    key,
    plan,
    read_h5,
)

#: Keras 3 optimizer variables that are not slots of a model variable
_NOT_SLOTS = {"iteration", "iterations", "learning_rate"}


def leaf(variable: Any) -> str:
    return str(getattr(variable, "path", variable.name)).rsplit("/", 1)[-1]


def transplant(model: Any, source: Path) -> dict[str, Any]:
    """Write the optimizer state of Keras 2 file ``source`` into ``model``'s Keras 3 optimizer.
    Returns what was carried; raises :class:`TransplantError`."""
    state = read_h5(source)
    if state is None:
        raise TransplantError(
            f"{source} stores no optimizer state (no optimizer_weights): nothing to carry. Fix: "
            f"save the model with its optimizer (include_optimizer=True) in Keras 2."
        )
    return apply(model, state)


def apply(model: Any, state: Keras2State) -> dict[str, Any]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise TransplantError(
            f"The Keras 3 model loaded from {state.source} has no optimizer (loaded without its "
            f"training config). Fix: keep the training config in the file."
        )
    state.table()  # refuses an optimizer with no Keras 3 equivalent, by name
    optimizer = rebuild(model, state)
    if not optimizer.built:
        optimizer.build(list(model.trainable_variables))
    written: set[int] = set()
    pairs = targets(model, optimizer, state)
    for assignment, target in pairs:
        if target is None:
            raise TransplantError(
                f"Keras 3's {state.class_name} has no {assignment.kind} variable for "
                f"{assignment.variable} (slot {assignment.slot.name} of {state.source}). Fix: "
                f"accept a fresh optimizer state for this model (limitation "
                f"optimizer-state-lost)."
            )
        target.assign(assignment.slot.value.astype(np.dtype(target.dtype)))
        written.add(id(target))
    unset = [
        leaf(v) for v in optimizer.variables if leaf(v) not in _NOT_SLOTS and id(v) not in written
    ]
    if unset:
        raise TransplantError(
            f"{len(unset)} variables of Keras 3's {state.class_name} have no value in "
            f"{state.source} (e.g. {', '.join(unset[:3])}). Fix: accept a fresh optimizer state "
            f"for this model (limitation optimizer-state-lost)."
        )
    if state.iterations is not None:
        optimizer.iterations.assign(state.iterations)
    return {
        "optimizer": state.class_name + (" (legacy)" if state.legacy else ""),
        "slots": len(pairs),
        "iterations": state.iterations,
    }


#: where each Keras 3 optimizer keeps a slot's variables, in model-variable order: Keras 3.3 and
#: 3.4's Adagrad names every accumulator plain ``accumulator``, so the name alone is not enough
_SLOT_LISTS = {
    "momentum": ("_momentums", "momentums"),
    "velocity": ("_velocities",),
    "velocity_hat": ("_velocity_hats",),
    "average_gradient": ("_average_gradients",),
    "accumulator": ("_accumulators",),
}


def slot_variable(optimizer: Any, variable: Any, kind: str) -> Any:
    """Keras 3 ``optimizer``'s ``kind`` slot of model ``variable``: the variable named
    ``<path with _>_<kind>``, else the slot list's entry at the variable's index (None)."""
    wanted = f"{key(str(variable.path))}_{kind}"
    for candidate in optimizer.variables:
        if leaf(candidate) == wanted:
            return candidate
    try:
        index = optimizer._get_variable_index(variable)
    except (KeyError, AttributeError):
        return None
    for attribute in _SLOT_LISTS.get(kind, ()):
        found = getattr(optimizer, attribute, None)
        if isinstance(found, list) and index < len(found) and found[index] is not None:
            return found[index]
    return None


def targets(model: Any, optimizer: Any, state: Keras2State) -> list[tuple[Assignment, Any]]:
    """Each Keras 2 slot of ``state`` and the Keras 3 optimizer variable that holds it (None:
    this optimizer has none). Raises :class:`TransplantError` when a slot maps to no model
    variable."""
    variables = list(model.trainable_variables)
    assignments = plan(state, [(str(v.path), tuple(v.shape)) for v in variables])
    by_path = {str(v.path): v for v in variables}
    return [(a, slot_variable(optimizer, by_path[a.variable], a.kind)) for a in assignments]


#: Keras 2 configuration keys that Keras 3 has no use for, when they hold these values
_IGNORED = {"is_legacy_optimizer": None, "jit_compile": None, "decay": 0.0}


def rebuild(model: Any, state: Keras2State) -> Any:
    """A Keras 3 optimizer with the file's hyperparameters, compiled into ``model``.

    Keras 3's ``.h5`` loader deserializes TF 2.11-2.15's ``Custom>Adam`` optimizer config to the
    string ``'Custom>Adam'`` and falls back to ``optimizers.get('Adam')``: every hyperparameter
    (learning rate, schedule, momentum, ``amsgrad``, clipping) silently takes its default
    (measured in 3.3.3 and 3.15.1; ``saving_utils._resolve_compile_arguments_compat``). The
    optimizer is therefore made again from the file's config and the model recompiled with it
    (its loss and metrics as compiled), so that the ``.keras`` it is saved to records it."""
    import keras

    cls = getattr(keras.optimizers, state.class_name)
    accepted = set(cls().get_config())
    config: dict[str, Any] = {}
    refused = []
    for name, value in state.config.items():
        if name in accepted:
            config[name] = value
        elif name in _IGNORED and (_IGNORED[name] is None or value == _IGNORED[name]):
            continue
        else:
            refused.append(f"{name}={value!r}")
    if not config.get("use_ema"):
        config.pop("ema_overwrite_frequency", None)  # Keras 2 RMSprop says 100, unused
    if refused:
        raise TransplantError(
            f"Keras 3's {state.class_name} has no equivalent of {', '.join(refused)} "
            f"({state.source}). Fix: accept a fresh optimizer for this model (limitation "
            f"optimizer-state-lost), or retrain without it."
        )
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        # Keras 2 saves a schedule's unset name as None; Keras 3.3's schedules then fail at the
        # first step (name_scope(None): "Argument `name` must be a string"), so it is left out
        schedule = {k: v for k, v in rate.get("config", {}).items() if k != "name" or v}
        config["learning_rate"] = keras.optimizers.schedules.deserialize(
            {"class_name": class_name(rate), "config": schedule}
        )
    optimizer = cls.from_config(config)
    changes = hyperparameter_changes(state.config, optimizer.get_config())
    if changes:
        raise TransplantError(
            f"Keras 3's {state.class_name} does not take the hyperparameters of "
            f"{state.source} as they are ({'; '.join(changes)}). Fix: accept a fresh optimizer "
            f"for this model (limitation optimizer-state-lost)."
        )
    compiled = getattr(getattr(model, "_compile_config", None), "config", None)
    if not isinstance(compiled, dict):
        raise TransplantError(
            f"The Keras 3 model loaded from {state.source} keeps no compile arguments "
            f"(_compile_config) in this Keras version. Fix: accept a fresh optimizer for this "
            f"model (limitation optimizer-state-lost)."
        )
    model.compile(**{**compiled, "optimizer": optimizer})
    return optimizer
