"""The repair step's Keras side: load a Keras 2 ``.h5`` in Keras 3 after the rewrites of
:mod:`harness.core.repairs`, and prove that every weight arrived where it belongs.

The rewritten configs go into a temporary copy of the source file (the source is only read); Keras
3's own legacy loader builds the model from them and assigns the stored weights. Keras assigns
them by layer order, so the harness then checks every layer independently, from the source file:
same layer name, same number of weights, each weight's name (its last two path components, e.g.
``lstm_cell/kernel``), shape and every value. Any difference refuses the repair with the layer
named; nothing is saved.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.modelfile import read_document
from harness.core.registry import Registry
from harness.core.repairs import RepairError, Rule, rewrite
from harness.core.safety import check_safe
from harness.core.specs import Spec


@dataclass
class Repaired:
    """A repaired model and what was done to it: the rules applied (rule id -> layer paths) and
    every layer whose weights were checked (name -> number of arrays)."""

    model: Any
    applied: dict[str, list[str]] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        rules = ", ".join(f"{rule} ({len(paths)})" for rule, paths in sorted(self.applied.items()))
        arrays = sum(self.layers.values())
        return (
            f"rules: {rules or 'none needed'}; weights checked: {arrays} arrays in "
            f"{len(self.layers)} layers, all identical"
        )


def repair(
    registry: Registry, model_id: str, spec: Spec, source: Path, rules: list[Rule]
) -> Repaired:
    """Load ``source`` (a Keras 2 full-model ``.h5``) in Keras 3 with ``rules`` applied."""
    from harness.keras import formats

    entry = registry.get(model_id)
    check_safe(source, model_id=model_id, trusted=entry.trusted, allowed=set(entry.custom_objects))
    document = read_document(source)
    if document.format != "h5" or document.model is None:
        what = "an .h5 without a model config" if document.format == "h5" else document.format
        raise RepairError(
            f"Cannot repair {source}: the repair reads a full-model .h5 saved by Keras 2 (got "
            f'{what}). Fix: repair from the chain\'s .h5 (from = "2.15.h5" in the step).'
        )
    rewritten = rewrite(rules, document.model, document.training)
    folder = Path(tempfile.mkdtemp(prefix="harness-repair-"))
    try:
        patched = folder / source.name
        shutil.copyfile(source, patched)
        _write_configs(patched, rewritten.model, rewritten.training)
        model = formats.load(
            spec, patched, custom_objects=registry.custom_objects(model_id), trusted=entry.trusted
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    layers = check_weights(model, source, rewritten.renamed)
    return Repaired(model, rewritten.applied, layers)


def _write_configs(path: Path, model: dict[str, Any], training: dict[str, Any] | None) -> None:
    import h5py

    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = json.dumps(model)
        if training is not None:
            handle.attrs["training_config"] = json.dumps(training)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


#: variables Keras 3 names differently from Keras 2 (same array): DepthwiseConv2D's kernel
RENAMED = {"depthwise_kernel": "kernel"}


def _suffix(name: str) -> str:
    """A weight's name without the ``:0`` and all but its last two path components (a variable
    Keras 3 renamed under its Keras 3 name)."""
    parts = name.split(":", 1)[0].split("/")
    parts[-1] = RENAMED.get(parts[-1], parts[-1])
    return "/".join(parts[-2:])


def check_weights(
    model: Any, source: Path, renamed: dict[str, str] | None = None
) -> dict[str, int]:
    """Every layer of the source file's ``model_weights``, against the loaded model: the same
    arrays (names, shapes, values) in the same order, a layer the repair renamed (``renamed``:
    file name -> Keras 3 name) under its new name. Returns file layer name -> arrays checked."""
    renamed = renamed or {}
    import h5py
    import numpy as np

    checked: dict[str, int] = {}
    with h5py.File(source, "r") as handle:
        group = handle["model_weights"]
        for name in (_text(n) for n in group.attrs.get("layer_names", [])):
            stored = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            new = renamed.get(name, name)
            stored_as = [
                f"{new}/{w[len(name) + 1 :]}" if w.startswith(f"{name}/") else w for w in stored
            ]
            try:
                layer = model.get_layer(new)
            except ValueError:
                if stored:
                    raise RepairError(
                        f"Cannot repair {source}: layer {name!r} holds {len(stored)} weights in "
                        f"the file and does not exist in the repaired model. Fix: none by "
                        f"rewriting; the architecture changed."
                    ) from None
                continue
            variables = list(layer.weights)
            if len(variables) != len(stored):
                raise RepairError(
                    f"Cannot repair {source}: layer {name!r} has {len(variables)} weights in "
                    f"Keras 3 and {len(stored)} in the file ({', '.join(stored)}). Fix: none by "
                    f"rewriting; this layer's weights cannot be matched."
                )
            for weight, as_named, variable in zip(stored, stored_as, variables, strict=True):
                path = str(getattr(variable, "path", getattr(variable, "name", "")))
                value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
                expected = np.asarray(group[name][weight])
                if _suffix(as_named) != _suffix(path) or expected.shape != value.shape:
                    raise RepairError(
                        f"Cannot repair {source}: layer {name!r} stores {weight} "
                        f"{expected.shape} where Keras 3 has {path} {value.shape}. Fix: none "
                        f"by rewriting; the weights would reach the wrong variables."
                    )
                if not np.array_equal(expected, value):
                    raise RepairError(
                        f"Cannot repair {source}: layer {name!r} did not receive its {weight} "
                        f"(Keras loaded other values into it). Fix: none by rewriting; the "
                        f"file's weights do not match its layers (layer_names order?)."
                    )
            if stored:
                checked[name] = len(stored)
    return checked
