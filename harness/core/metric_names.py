"""The metric names training reported, read from the compile config a Keras 2 file carries.

``evaluate()`` after training reports names that dashboards, callbacks and trackers key on
(``loss``, ``out_loss``, ``out_mae``). The source environment's own load may already report
others: Keras 2 reloads a multi-output ``.keras`` whose per-output metrics were compiled as
objects with the output prefix repeated (``out_mae`` -> ``out_out_mae``), because the file stores
the objects under their prefixed names and the load's compile prefixes them again. A golden that
took the load's names as the truth would then pass a drift that users see. The ``names`` check
(:mod:`harness.verify.checks`) compares the names this module derives from the file with the
names the golden's ``evaluate`` reported.

The rules are Keras 2.13's ``compile_utils`` (``LossesContainer._create_metrics``,
``MetricsContainer._get_metric_object`` and ``_set_metric_names``), applied to the compile config
as stored (a ``.keras`` file's ``compile_config``, an ``.h5`` file's ``training_config``):

- ``loss`` always; ``<output>_loss`` for every output that has a loss, when there are several;
- a metric given as a string keeps that string as its name (``"mae"``, ``"accuracy"``), except a
  class name (``"AUC"``), whose object is named in snake case;
- a metric object keeps its configured ``name``; a function, its name;
- with several outputs every metric name is prefixed with its output's name. A stored object
  name that already starts with ``<output>_`` is the name training reported (the file was saved
  after the prefix was set), otherwise the prefix is added (saved before training ran);
- a weighted metric whose name is taken gets ``weighted_`` (``<output>_weighted_``).

No TensorFlow: the file is read by :mod:`harness.core.modelfile`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.core.limitations import Observation
from harness.core.modelfile import ModelDocument, read_document
from harness.core.stated import RENAMED as RENAMED_BY_LOAD
from harness.core.stated import name_differences

#: a check's result: an observation (None when it passed), its detail and its numbers
Outcome = tuple[Observation | None, str, dict[str, Any]]

#: strings Keras 2 resolves by the output's shape and reports under the name given
_SHAPE_RESOLVED = ("accuracy", "acc", "crossentropy", "ce")


def compile_config(document: ModelDocument) -> dict[str, Any] | None:
    """The compile config a Keras 2 file stores (None when the model was saved uncompiled)."""
    if document.training is not None:
        return document.training
    if document.model is not None:
        config = document.model.get("compile_config")
        if isinstance(config, dict):
            return config
    return None


def output_names(document: ModelDocument, outputs: int) -> list[str]:
    """The model's output names: its functional config's output layers, else Keras 2's names
    for a subclassed model's outputs (``output_1``, ``output_2``, ...)."""
    model = document.model or {}
    config = model.get("config") if isinstance(model.get("config"), dict) else {}
    layers = config.get("output_layers") if isinstance(config, dict) else None
    if model.get("class_name") == "Sequential" and outputs == 1:
        return ["output"]
    if isinstance(layers, list) and layers and isinstance(layers[0], str):
        layers = [layers]  # one output stored as one [name, node, tensor] triple
    if isinstance(layers, list) and len(layers) == outputs:
        names = [str(item[0]) for item in layers if isinstance(item, list) and item]
        if len(names) == outputs:
            return names
    return [f"output_{index + 1}" for index in range(outputs)]


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def metric_name(metric: Any) -> str | None:
    """The name Keras 2 gives one metric as compiled, before any output prefix."""
    if metric is None:
        return None
    if isinstance(metric, str):
        if metric.lower() in _SHAPE_RESOLVED or not any(c.isupper() for c in metric):
            return metric
        return _snake(metric)  # a metric class given by name: its object's default name
    if isinstance(metric, dict):
        config = metric.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return str(config["name"])
        if isinstance(config, str):  # a function, serialized by name
            return config
        class_name = metric.get("class_name")
        return _snake(class_name) if isinstance(class_name, str) else None
    return str(metric)


def _is_metric(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and "class_name" in value)


def _per_output(value: Any, outputs: list[str]) -> list[list[Any]]:
    """The metrics of each output, as Keras 2 broadcasts and conforms them."""
    if value is None:
        return [[] for _ in outputs]
    if isinstance(value, dict) and "class_name" not in value:
        return [_as_list(value.get(name)) for name in outputs]
    items = _as_list(value)
    if len(outputs) > 1 and items and all(_is_metric(item) for item in items):
        return [list(items) for _ in outputs]  # one flat list: every output gets all of them
    if len(outputs) == 1:
        flat = [m for item in items for m in (_as_list(item) if isinstance(item, list) else [item])]
        return [flat]
    return [_as_list(items[i]) if i < len(items) else [] for i in range(len(outputs))]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _has_loss(loss: Any, outputs: list[str]) -> list[bool]:
    if isinstance(loss, dict) and "class_name" not in loss:
        return [loss.get(name) is not None for name in outputs]
    if isinstance(loss, list):
        return [i < len(loss) and loss[i] is not None for i in range(len(outputs))]
    return [loss is not None for _ in outputs]


def reported_names(config: dict[str, Any], outputs: list[str]) -> list[str]:
    """The names ``evaluate(return_dict=True)`` reported in training, in Keras 2's order."""
    multi = len(outputs) > 1
    loss = config.get("loss")
    names = ["loss"] if loss is not None else []
    if multi:
        losses = zip(outputs, _has_loss(loss, outputs), strict=True)
        names += [f"{out}_loss" for out, has in losses if has]
    metrics = _per_output(config.get("metrics"), outputs)
    weighted = _per_output(config.get("weighted_metrics"), outputs)
    taken: set[str] = set()
    for out, plain, heavy in zip(outputs, metrics, weighted, strict=True):
        for metric in plain:
            name = metric_name(metric)
            if name is None:
                continue
            if multi and not name.startswith(f"{out}_"):
                name = f"{out}_{name}"
            taken.add(name)
            names.append(name)
        for metric in heavy:
            name = metric_name(metric)
            if name is None:
                continue
            if multi and not name.startswith(f"{out}_"):
                name = f"{out}_weighted_{name}" if f"{out}_{name}" in taken else f"{out}_{name}"
            elif not multi and name in taken:
                name = f"weighted_{name}"
            taken.add(name)
            names.append(name)
    return names


def compiled_names(path: Path, outputs: int) -> list[str] | None:
    """The names training reported for the model file at ``path`` with ``outputs`` outputs, or
    None when the file stores no compile config."""
    document = read_document(path)
    config = compile_config(document)
    if config is None:
        return None
    return reported_names(config, output_names(document, outputs))


def verdict(path: Path, outputs: int, produced: list[str], where: str) -> Outcome:
    """The ``names`` check: the names the file's compile config says training reported (``path``,
    a model of ``outputs`` outputs) against the names the source load's ``evaluate`` produced;
    ``where`` names the file in the detail."""
    compiled = compiled_names(path, outputs)
    if compiled is None:
        if not produced:
            return (
                None,
                f"not compiled: {where} stores no compile config, evaluate reports none",
                {},
            )
        compiled = []
    text, _, count = name_differences(compiled, produced, "compiled")
    numbers = {"metric_name_differences": count}
    basis = f"compile config of {where}"
    if count:
        detail = f"{text}; compiled: {', '.join(compiled) or 'none'} ({basis})"
        return Observation("metric-names-drift", "", detail), detail, numbers
    return None, f"names as compiled: {', '.join(compiled)} ({basis})", numbers


def training_pairs(compiled: list[str] | None, produced: list[str]) -> dict[str, str]:
    """``{name training reported: name the source load reported}`` where the source load's names
    are the compiled ones with output prefixes repeated, and nothing else differs; else empty
    (the golden's names are the reference as they are)."""
    if compiled is None:
        return {}
    _, pairs, count = name_differences(compiled, produced, "compiled")
    return pairs if pairs and count == len(pairs) else {}


def as_trained(values: dict[str, float], pairs: dict[str, str]) -> dict[str, float]:
    """The golden's ``evaluate`` values under the names training reported."""
    back = {produced: trained for trained, produced in pairs.items()}
    return {back.get(name, name): value for name, value in values.items()}


def drift_text(pairs: dict[str, str]) -> str:
    """How a target that reports the source load's names differs from training's."""
    renames = [f"{trained!r} compiled, {pairs[trained]!r} produced" for trained in sorted(pairs)]
    return f"{RENAMED_BY_LOAD}: {'; '.join(renames)}"
