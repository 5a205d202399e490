"""Keras 2 optimizer state, read from a saved ``.h5`` without TensorFlow, and its mapping onto
the variables of the Keras 3 optimizer that loads the same model.

Keras 2 (TF 2.11-2.15, the optimizers that became ``keras.optimizers``) stores one weight per
slot and model variable, named ``<slot>/<variable name>:0`` (``m/hidden_1/kernel:0``), after
``iteration:0``; the legacy optimizers (``keras.optimizers.legacy``) name them
``<optimizer>/<variable name>/<slot>:0`` after ``<optimizer>/iter:0``. Keras 3 names the
optimizer variable of model variable ``path`` and slot ``s`` ``path.replace('/', '_') + '_' + s``
(``hidden_1_kernel_momentum``) in every minor measured (3.3.3, 3.15.1: ``add_variable_from_
reference``). :data:`KERAS3_SLOTS` is the table between the two, per optimizer class; an
optimizer or slot outside it has no Keras 3 equivalent here and is refused by name.

A Keras 2 variable name is matched to a Keras 3 model variable by path: the same name with
``/`` read as ``_`` (the repair renames ``block1/dense`` to ``block1_dense``), else the Keras 3
path that ends the Keras 2 name (Keras 2 prefixes a wrapped layer's variables with the wrapper:
``bigru/forward_gru/gru_cell/kernel`` is Keras 3's ``forward_gru/gru_cell/kernel``), the longest
such path, then its shape is checked. TensorFlow is never imported here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import TransplantError

#: Keras 2 slot name -> Keras 3 slot name, per optimizer class (Keras 2.11+ optimizers)
KERAS3_SLOTS: dict[str, dict[str, str]] = {
    "Adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "AdamW": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "SGD": {"m": "momentum"},
    "RMSprop": {
        "velocity": "velocity",
        "momentum": "momentum",
        "average_gradient": "average_gradient",
    },
    "Adagrad": {"accumulator": "accumulator"},
}
#: the same for the legacy optimizers (``keras.optimizers.legacy``, ``is_legacy_optimizer``)
LEGACY_SLOTS: dict[str, dict[str, str]] = {
    "Adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "SGD": {"momentum": "momentum"},
    "RMSprop": {"rms": "velocity", "momentum": "momentum", "mg": "average_gradient"},
    "Adagrad": {"accumulator": "accumulator"},
}
#: optimizers whose state the harness leaves fresh on purpose, and why
REFUSED: dict[str, str] = {
    "Nadam": (
        "Keras 3 minors before 3.11 create Nadam's u_product variable before its slots, 3.11 "
        "and later after them, and a .keras file stores optimizer variables by position: a "
        "built Nadam state written on one side fails to load on the other (measured: Keras "
        "3.3.3's file in 3.15.1, ValueError 'A total of 1 objects could not be loaded'), while "
        "a fresh one loads everywhere"
    ),
}
#: hyperparameters whose Keras 2 value must be the Keras 3 optimizer's (same names in both)
HYPERPARAMETERS = (
    "learning_rate",
    "beta_1",
    "beta_2",
    "epsilon",
    "amsgrad",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "momentum",
    "nesterov",
    "rho",
    "centered",
    "initial_accumulator_value",
    "use_ema",
)
_ITERATIONS = {"iteration", "iter", "iterations"}
#: weights that Keras 3 names otherwise (DepthwiseConv2D's ``depthwise_kernel`` is ``kernel``),
#: tried only when no variable has the Keras 2 name
LEAF_ALIASES = {"depthwise_kernel": "kernel"}
_INDEX = re.compile(r":\d+$")


@dataclass(frozen=True)
class Slot:
    kind: str  # the Keras 2 slot name (m, v, velocity, rms, ...)
    variable: str  # the Keras 2 model variable's name, without ':0'
    value: np.ndarray = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.variable}"


@dataclass
class Keras2State:
    """A Keras 2 optimizer's class, configuration and stored variables."""

    class_name: str  # without Keras 2's 'Custom>' prefix
    legacy: bool
    config: dict[str, Any]
    iterations: int | None
    slots: list[Slot]
    source: str

    def table(self) -> dict[str, str]:
        """Keras 2 slot -> Keras 3 slot for this optimizer (refused when there is none)."""
        tables = LEGACY_SLOTS if self.legacy else KERAS3_SLOTS
        kind = "legacy optimizer" if self.legacy else "optimizer"
        if self.class_name in REFUSED:
            raise TransplantError(
                f"The state of the {kind} {self.class_name} of {self.source} is not carried: "
                f"{REFUSED[self.class_name]}. Fix: accept a fresh optimizer state for this model "
                f"(limitation optimizer-state-not-carried)."
            )
        if self.class_name not in tables:
            raise TransplantError(
                f"The {kind} {self.class_name} of {self.source} has no Keras 3 equivalent the "
                f"harness can carry its state to (known: {', '.join(sorted(tables))}). Fix: "
                f"accept a fresh optimizer state for this model (limitation "
                f"optimizer-state-lost)."
            )
        return tables[self.class_name]


def class_name(config: dict[str, Any]) -> str:
    name = str(config.get("class_name", ""))
    return name.split(">", 1)[-1]  # 'Custom>Adam' (TF 2.13-2.15 .h5) -> 'Adam'


def parse_names(
    names: list[str], values: list[np.ndarray], *, legacy: bool, source: str
) -> tuple[int | None, list[Slot]]:
    """The iteration count and the slots of a Keras 2 optimizer's weight list."""
    iterations: int | None = None
    slots: list[Slot] = []
    for name, value in zip(names, values, strict=True):
        bare = _INDEX.sub("", name)
        parts = bare.split("/")
        if parts[-1] in _ITERATIONS:
            iterations = int(np.asarray(value))
            continue
        if legacy and len(parts) >= 3:
            slots.append(Slot(parts[-1], "/".join(parts[1:-1]), np.asarray(value)))
        elif not legacy and len(parts) >= 2:
            slots.append(Slot(parts[0], "/".join(parts[1:]), np.asarray(value)))
        else:
            raise TransplantError(
                f"Optimizer weight {name!r} of {source} is neither the iteration count nor a "
                f"slot of a model variable. Fix: accept a fresh optimizer state for this model "
                f"(limitation optimizer-state-lost)."
            )
    return iterations, slots


def read_h5(path: Path) -> Keras2State | None:
    """The optimizer state a Keras 2 ``.h5`` stores (None: the file has no optimizer weights)."""
    import h5py

    with h5py.File(path, "r") as handle:
        if "optimizer_weights" not in handle or "training_config" not in handle.attrs:
            return None
        group = handle["optimizer_weights"]
        names = [
            n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
        ]
        values = [np.array(group[name]) for name in names]
        raw = handle.attrs["training_config"]
        training = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    optimizer = training.get("optimizer_config") or {}
    config = dict(optimizer.get("config") or {})
    # the legacy optimizers' .h5 has no is_legacy_optimizer key: their iteration is '<name>/iter'
    legacy = bool(config.get("is_legacy_optimizer", False)) or any(
        re.fullmatch(r"[^/]+/iter(:\d+)?", name) for name in names
    )
    iterations, slots = parse_names(names, values, legacy=legacy, source=str(path))
    return Keras2State(class_name(optimizer), legacy, config, iterations, slots, str(path))


@dataclass(frozen=True)
class Assignment:
    """One Keras 2 slot and the Keras 3 optimizer variable it is written to."""

    slot: Slot
    variable: str  # the Keras 3 model variable's path
    target: str  # the Keras 3 optimizer variable's name
    kind: str = ""  # the Keras 3 slot name (momentum, velocity, ...)


def key(name: str) -> str:
    return _INDEX.sub("", name).replace("/", "_")


def match_variable(keras2: str, paths: list[str]) -> str | None:
    """The Keras 3 path of Keras 2 variable ``keras2``: the same key, else the longest path whose
    key ends the Keras 2 key (a wrapper's prefix)."""
    wanted = key(keras2)
    exact = [p for p in paths if key(p) == wanted]
    if exact:
        return exact[0]
    ends = [p for p in paths if wanted.endswith("_" + key(p))]
    return max(ends, key=len) if ends else None


def plan(state: Keras2State, variables: list[tuple[str, tuple[int, ...]]]) -> list[Assignment]:
    """Where each Keras 2 slot goes: ``variables`` are the Keras 3 model's trainable variables
    (path, shape). Raises :class:`TransplantError` naming the first slot that maps nowhere."""
    table = state.table()
    shapes = dict(variables)
    paths = [path for path, _ in variables]
    assignments: list[Assignment] = []
    taken: dict[str, str] = {}
    for slot in state.slots:
        if slot.kind not in table:
            raise TransplantError(
                f"Slot {slot.kind!r} of {state.class_name} ({slot.name}, {state.source}) has no "
                f"Keras 3 equivalent (known: {', '.join(sorted(table))}). Fix: accept a fresh "
                f"optimizer state for this model (limitation optimizer-state-lost)."
            )
        index = pair([(slot.variable, tuple(slot.value.shape))], variables)[0]
        if index is None:
            other = match_variable(slot.variable, paths)
            if other is None:
                raise TransplantError(
                    f"Optimizer slot {slot.name} of {state.source} names no variable of the "
                    f"Keras 3 model (e.g. {', '.join(paths[:3])}). Fix: accept a fresh optimizer "
                    f"state for this model (limitation optimizer-state-lost)."
                )
            raise TransplantError(
                f"Optimizer slot {slot.name} of {state.source} has shape "
                f"{tuple(slot.value.shape)}, its Keras 3 variable {other} {shapes[other]}. "
                f"Fix: accept a fresh optimizer state for this model (limitation "
                f"optimizer-state-lost)."
            )
        path = paths[index]
        target = f"{key(path)}_{table[slot.kind]}"
        if target in taken:
            raise TransplantError(
                f"Optimizer slots {taken[target]} and {slot.name} of {state.source} both map to "
                f"Keras 3's {target}. Fix: accept a fresh optimizer state for this model "
                f"(limitation optimizer-state-lost)."
            )
        taken[target] = slot.name
        assignments.append(Assignment(slot, path, target, table[slot.kind]))
    return assignments


def hyperparameter_changes(keras2: dict[str, Any], keras3: dict[str, Any]) -> list[str]:
    """The hyperparameters whose Keras 3 value is not the Keras 2 one (``name: a -> b``)."""
    changes = []
    for name in HYPERPARAMETERS:
        if name not in keras2:
            continue
        if name == "weight_decay" and not keras2[name] and not keras3.get(name):
            continue
        if name not in keras3 or not _same(keras2[name], keras3[name]):
            changes.append(f"{name}: {keras2[name]!r} -> {keras3.get(name, 'absent')!r}")
    if keras2.get("decay"):  # the legacy optimizers' per-step learning-rate decay
        changes.append(f"decay: {keras2['decay']!r} -> absent (Keras 3 has no 'decay')")
    return changes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return bool(_schedule(a) == _schedule(b))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return bool(np.float32(a) == np.float32(b))
    return bool(a == b)


def _schedule(value: Any) -> Any:
    """A learning-rate schedule's class and numbers, however each generation serialized it."""
    if not isinstance(value, dict):
        return value
    config = value.get("config", {})
    return (
        class_name(value),
        tuple(sorted((k, repr(v)) for k, v in config.items() if k != "name")),
    )


def pair(
    expected: list[tuple[str, tuple[int, ...]]], actual: list[tuple[str, tuple[int, ...]]]
) -> list[int | None]:
    """For each expected variable (Keras 2 name, shape), the index of the actual variable (Keras
    2 name or Keras 3 path) that is the same weight: the same key and shape, else a key that
    ends the other at a ``_`` boundary (a wrapper's or a nested model's prefix); the first
    unused one in order, so duplicated Keras 2 names pair in order. None: no such variable."""
    used: set[int] = set()
    found: list[int | None] = []
    keys = [key(name) for name, _ in actual]
    for name, shape in expected:
        wanted = key(name)
        fits = [i for i, (_, s) in enumerate(actual) if i not in used and tuple(s) == tuple(shape)]
        exact = [i for i in fits if keys[i] == wanted]
        ends = [i for i in fits if wanted.endswith("_" + keys[i]) or keys[i].endswith("_" + wanted)]
        aliased = [
            i
            for i in fits
            for old, new in LEAF_ALIASES.items()
            if wanted.endswith("_" + old) and keys[i] == wanted[: -len(old)] + new
        ]
        candidates = exact or ends or aliased
        choice = candidates[0] if candidates else None
        if choice is not None:
            used.add(choice)
        found.append(choice)
    return found
