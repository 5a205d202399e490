"""The repair rules (``repairs.toml``): rewrites of a Keras 2 model's saved configs into what
Keras 3 accepts, each tied to the limitation it repairs and to why it preserves behaviour.

Pure data and pure functions (no TensorFlow): :func:`rewrite` applies the catalogue to a model
config and a training config and says what it changed, layer by layer; a value a rule cannot
preserve (``groups=2``) refuses the repair with the layer named. The Keras side (loading the
rewritten file, checking every weight, saving) is :mod:`harness.keras.repairing`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError
from harness.core.files import read_toml
from harness.core.nodes import NodeError, layer_names
from harness.core.ops import convert_class, convert_nodes, convert_tf_op, rename_layers
from harness.core.safety import walk

DEFAULT_REPAIRS = "repairs.toml"
ACTIONS = (
    "drop",
    "value",
    "policy-name",
    "metric-class",
    "sparse-accuracy",
    "metrics-by-output",
    "node-tensors",
    "tf-op",
    "class",
    "rename",
    "loss-alias",
)
#: the actions whose ``to`` is a table
TABLES = {"metric-class", "tf-op", "class", "loss-alias"}
SPARSE_LOSS = "sparse_categorical_crossentropy"
_KEYS = {"id", "repairs", "layers", "argument", "action", "when", "to", "where", "proof"}


class RepairError(HarnessError):
    """A model cannot be repaired without changing what it computes, or the catalogue is bad."""


@dataclass(frozen=True)
class Rule:
    id: str
    repairs: str
    layers: tuple[str, ...]
    argument: str
    action: str
    proof: str
    when: Any = None
    to: Any = None
    where: str = "model"

    def matches(self, class_name: str) -> bool:
        return "*" in self.layers or class_name in self.layers


@dataclass
class Rewrite:
    """What :func:`rewrite` did: the new configs and, per rule, the layer paths it changed."""

    model: dict[str, Any]
    training: dict[str, Any] | None
    applied: dict[str, list[str]]
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def rules(self) -> list[str]:
        return sorted(self.applied)


def load_repairs(path: Path | str = DEFAULT_REPAIRS) -> list[Rule]:
    path = Path(path)
    data = read_toml(
        path,
        what="Repair catalogue",
        missing="restore repairs.toml from git (it sits beside harness.toml).",
        error=RepairError,
    )
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise RepairError(f"{path}: [[rule]] must be an array of tables. Fix: see its header.")
    return [_parse(path, index, raw) for index, raw in enumerate(rules)]


def _parse(path: Path, index: int, raw: Any) -> Rule:
    where = f"{path}: rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RepairError(f"{where} is not a table. Fix: write it as [[rule]] with its keys.")
    unknown = sorted(set(raw) - _KEYS)
    missing = sorted({"id", "repairs", "layers", "argument", "action", "proof"} - set(raw))
    if unknown or missing:
        raise RepairError(
            f"{where} has unknown keys {unknown} or lacks {missing}. Fix: use only "
            f"{sorted(_KEYS)}, with id, repairs, layers, argument, action and proof."
        )
    if raw["action"] not in ACTIONS or raw.get("where", "model") not in ("model", "training"):
        raise RepairError(
            f"{where}: action {raw['action']!r} / where {raw.get('where')!r} is not one of "
            f"{list(ACTIONS)} / ['model', 'training']. Fix: correct it."
        )
    if raw["action"] in ("value", "rename") and ("when" not in raw or "to" not in raw):
        raise RepairError(f"{where}: a {raw['action']!r} rule needs when and to. Fix: add both.")
    if raw["action"] in TABLES and not isinstance(raw.get("to"), dict):
        raise RepairError(
            f"{where}: a {raw['action']!r} rule needs a table `to` (see the header of "
            f"repairs.toml). Fix: add the table."
        )
    layers = raw["layers"]
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise RepairError(f"{where}: layers must be a list of class names. Fix: e.g. ['LSTM'].")
    return Rule(
        id=str(raw["id"]),
        repairs=str(raw["repairs"]),
        layers=tuple(layers),
        argument=str(raw["argument"]),
        action=str(raw["action"]),
        proof=str(raw["proof"]),
        when=raw.get("when"),
        to=raw.get("to"),
        where=str(raw.get("where", "model")),
    )


def rewrite(rules: list[Rule], model: dict[str, Any], training: dict[str, Any] | None) -> Rewrite:
    """The configs after every rule (copies; the inputs are not changed)."""
    result = Rewrite(copy.deepcopy(model), copy.deepcopy(training), {})
    names = layer_names(result.model)
    for rule in rules:
        config = result.model if rule.where == "model" else result.training
        if config is None:
            continue
        if rule.action == "sparse-accuracy":
            for here in _sparse_accuracy(rule, result.model, config):
                result.applied.setdefault(rule.id, []).append(here)
            continue
        if rule.action == "rename":
            try:
                renamed = rename_layers(result.model, str(rule.when), str(rule.to))
            except NodeError as exc:
                raise RepairError(
                    f"Cannot repair the layer names: {exc}. Fix: rename the layers in the "
                    f"Keras 2 model and save it again (limitation {rule.repairs})."
                ) from None
            result.renamed.update(renamed)
            for old in renamed:
                result.applied.setdefault(rule.id, []).append(f"model/{old}")
            names = layer_names(result.model)
            continue
        if rule.action == "loss-alias":
            for key in rule.layers:  # the training-config keys holding losses
                if key in config:
                    config[key], changed = _unalias(config[key], rule.to)
                    if changed:
                        result.applied.setdefault(rule.id, []).append(f"training_config/{key}")
            continue
        if rule.action == "metrics-by-output":
            for here in _metrics_by_output(rule, result.model, config):
                result.applied.setdefault(rule.id, []).append(here)
            continue
        root = "model" if rule.where == "model" else "training_config"
        for here, obj in walk(config, root):
            if _apply(rule, obj, here, names):
                result.applied.setdefault(rule.id, []).append(here)
    return result


def _output_names(model: dict[str, Any]) -> list[str]:
    """The model's output layer names, in output order (a functional config's output_layers)."""
    inner = model.get("config")
    outputs = inner.get("output_layers") if isinstance(inner, dict) else None
    if not isinstance(outputs, list):
        return []
    if outputs and isinstance(outputs[0], str):  # one output: [name, 0, 0]
        return [outputs[0]]
    return [str(item[0]) for item in outputs if isinstance(item, list) and item]


def _unprefixed(name: str, output: str) -> str:
    """A per-output metric's name without its output prefix, repeated as often as Keras 2's
    loads added it (``out_out_mae`` -> ``mae``); a name that is nothing but prefixes keeps one."""
    prefix = f"{output}_"
    while name.startswith(prefix) and len(name) > len(prefix):
        name = name[len(prefix) :]
    return name


def _metrics_by_output(rule: Rule, model: dict[str, Any], training: dict[str, Any]) -> list[str]:
    """Keras 2's per-output metric lists (``[[m, ...], ...]``, names prefixed with the output)
    as Keras 3 compiles them: a flat list for one output; for several, a dict by output name
    with every output prefix taken off (Keras 3 puts one back when it reports them)."""
    changed = []
    outputs = _output_names(model) or ["output"]
    for key in rule.layers:  # the training-config keys holding metric lists
        metrics = training.get(key)
        if not isinstance(metrics, list) or not all(isinstance(m, list) for m in metrics):
            continue
        if len(metrics) == 1:
            training[key] = metrics[0]
        elif len(metrics) == len(outputs):
            by_output: dict[str, list[Any]] = {}
            for output, group in zip(outputs, metrics, strict=True):
                for metric in group:
                    inner = metric.get("config") if isinstance(metric, dict) else None
                    if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                        inner["name"] = _unprefixed(inner["name"], output)
                by_output[output] = group
            training[key] = by_output
        else:
            raise RepairError(
                f"Cannot repair training_config/{key}: {len(metrics)} metric lists for "
                f"{len(outputs)} outputs. Fix: none by rewriting; recompile the model in "
                f"Keras 3 with its metrics."
            )
        changed.append(f"training_config/{key}")
    return changed


def _sparse_accuracy(rule: Rule, model: dict[str, Any], training: dict[str, Any]) -> list[str]:
    """Per output: an accuracy stored as ``rule.when`` whose output's loss is sparse becomes
    ``rule.to`` (the metric training computed); returns the paths rewritten."""
    outputs = _output_names(model) or ["output"]
    loss = training.get("loss")
    losses = (
        {name: loss.get(name) for name in outputs}
        if isinstance(loss, dict) and "class_name" not in loss
        else dict.fromkeys(outputs, loss)
    )
    metrics = training.get("metrics")
    if not isinstance(metrics, list):
        return []
    groups = metrics if metrics and all(isinstance(m, list) for m in metrics) else [metrics]
    changed = []
    for index, group in enumerate(groups):
        output = outputs[index] if index < len(outputs) else outputs[-1]
        if not _is_sparse(losses.get(output)):
            continue
        accepted = {"accuracy", "acc", f"{output}_accuracy", f"{output}_acc"}
        for metric in group:
            inner = metric.get("config") if isinstance(metric, dict) else None
            if (
                isinstance(inner, dict)
                and metric.get("class_name") in rule.layers
                and inner.get(rule.argument) == rule.when
                and inner.get("name") in accepted
            ):
                metric["class_name"] = rule.to
                metric["config"] = {k: v for k, v in inner.items() if k != rule.argument}
                changed.append(f"training_config/{inner.get('name')}")
    return changed


def _unalias(value: Any, names: dict[str, str]) -> tuple[Any, bool]:
    """A loss given by name, per output (dict) or as a list, with every alias of ``names``
    replaced by the function's full name; and whether one was."""
    if isinstance(value, str):
        return names.get(value, value), value in names
    if isinstance(value, dict) and "class_name" not in value:
        pairs = {key: _unalias(item, names) for key, item in value.items()}
        return {key: new for key, (new, _) in pairs.items()}, any(c for _, c in pairs.values())
    if isinstance(value, list):
        items = [_unalias(item, names) for item in value]
        return [new for new, _ in items], any(changed for _, changed in items)
    return value, False


def _is_sparse(loss: Any) -> bool:
    """A sparse categorical crossentropy loss, by name or as its class (any from_logits)."""
    return loss == SPARSE_LOSS or (
        isinstance(loss, dict) and loss.get("class_name") == "SparseCategoricalCrossentropy"
    )


def _apply(rule: Rule, obj: dict[str, Any], here: str, names: set[str]) -> bool:
    """Apply ``rule`` to one object of a config; True when it changed it."""
    class_name = str(obj.get("class_name", ""))
    if rule.action in ("node-tensors", "tf-op", "class"):
        if not rule.matches(class_name):
            return False
        try:
            if rule.action == "node-tensors":
                return convert_nodes(obj, names)
            if rule.action == "tf-op":
                return convert_tf_op(obj, rule.argument, rule.to, names)
            return convert_class(obj, rule.to)
        except NodeError as exc:
            raise RepairError(
                f"Cannot repair {class_name} at {here}: {exc}. Fix: none by rewriting; rebuild "
                f"this layer in Keras 3 code (limitation {rule.repairs})."
            ) from None
    if rule.argument == "class_name":
        if rule.action == "value" and class_name == rule.when:
            obj["class_name"] = rule.to
            return True
        return False
    inner = obj.get("config")
    if not rule.matches(class_name) or not isinstance(inner, dict) or rule.argument not in inner:
        return False
    value = inner[rule.argument]
    if rule.action == "drop":
        if rule.when is not None and value != rule.when:
            raise RepairError(
                f"Cannot repair {class_name} at {here}: {rule.argument}={value!r}, and rule "
                f"{rule.id!r} preserves behaviour only for {rule.argument}={rule.when!r}. Fix: "
                f"none by rewriting; rebuild this layer in Keras 3 code (limitation "
                f"{rule.repairs})."
            )
        del inner[rule.argument]
        return True
    if rule.action == "value":
        if value == rule.when:
            inner[rule.argument] = rule.to
            return True
        return False
    if rule.action == "metric-class":
        target = (
            rule.to.get(value) if isinstance(rule.to, dict) and isinstance(value, str) else None
        )
        if target is None:
            return False
        obj["class_name"] = target
        obj["config"] = {k: v for k, v in inner.items() if k != rule.argument}
        return True
    # policy-name: a Keras 2 Policy object becomes the name Keras 3 builds the same policy from
    if isinstance(value, dict) and value.get("class_name") == "Policy":
        name = (
            value.get("config", {}).get("name") if isinstance(value.get("config"), dict) else None
        )
        if not isinstance(name, str):
            raise RepairError(
                f"Cannot repair {class_name} at {here}: its dtype Policy has no name "
                f"({value!r}). Fix: re-save the model with its policy set."
            )
        inner[rule.argument] = name
        return True
    return False


def predicted_repairs(rules: list[Rule], path: Path) -> list[str]:
    """The rules that would rewrite the model file at ``path`` (read without TensorFlow, after
    the checks of :func:`harness.core.modelfile.read_document`), for ``inspect``."""
    from harness.core.modelfile import read_document

    document = read_document(path)
    if document.model is None:
        return []
    return repairable(rules, document.model, document.training)


def repairable(
    rules: list[Rule], model: dict[str, Any], training: dict[str, Any] | None
) -> list[str]:
    """The rules that would change this model (for ``inspect``); [] when none applies or a rule
    refuses it."""
    try:
        return rewrite(rules, model, training).rules
    except RepairError:
        return []
