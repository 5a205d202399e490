"""Keras 2 functional graph nodes, rewritten into the node format Keras 3 reads, for the repairs
that change how a layer is called (:mod:`harness.core.repairs`). Pure data, no TensorFlow.

A Keras 2 ``.h5`` stores each call of a layer as node data: a list of ``[layer, node, tensor,
kwargs]`` entries, one per tensor of the call's first argument, the other arguments in
``kwargs``, where a tensor is again ``[layer, node, tensor]`` (and a constant first argument
``["_CONSTANT_VALUE", -1, value, kwargs]``). Keras 3 still reads the entries, but passes
``kwargs`` through untouched, so a tensor there (MultiHeadAttention's ``value``) arrives as a
list; TF-op layers (``TFOpLambda``) keep their first argument's nesting, which Keras 3 does not
read at all. Keras 3's own node format, ``{"args": [...], "kwargs": {...}}`` with tensors as
``{"class_name": "__keras_tensor__", "config": {..., "keras_history": [layer, node, tensor]}}``,
says both, so these rewrites convert the node and change nothing it passes: the same tensors of
the same layers reach the same arguments.
"""

from __future__ import annotations

from typing import Any

from harness.core.errors import HarnessError

CONSTANT = "_CONSTANT_VALUE"
#: the classes whose first argument Keras 2 saved with its nesting (``tf.concat([a, b])``)
STRUCTURED = ("TFOpLambda", "SlicingOpLambda")


class NodeError(HarnessError):
    """A Keras 2 node cannot be rewritten without changing what it passes."""


def is_entry(value: Any) -> bool:
    """``[layer, node, tensor]`` or ``[layer, node, tensor, kwargs]`` (or a constant's entry)."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and (value[0] == CONSTANT or isinstance(value[2], int))
        and (len(value) == 3 or isinstance(value[3], dict))
    )


def tensor(layer: str, node: int, index: int) -> dict[str, Any]:
    """Keras 3's reference to output ``index`` of call ``node`` of ``layer``. Its shape and dtype
    are placeholders: Keras 3 replaces the reference with that layer's real output tensor."""
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": "float32", "keras_history": [layer, node, index]},
    }


def tensors_in(value: Any, layers: set[str]) -> Any:
    """``value`` with every ``[layer, node, tensor]`` of a known layer as a Keras 3 tensor."""
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and value[0] in layers
        and isinstance(value[1], int)
        and isinstance(value[2], int)
    ):
        return tensor(value[0], value[1], value[2])
    if isinstance(value, list):
        return [tensors_in(item, layers) for item in value]
    if isinstance(value, dict):
        return {key: tensors_in(item, layers) for key, item in value.items()}
    return value


def has_tensors(value: Any, layers: set[str]) -> bool:
    return bool(tensors_in(value, layers) != value)


def split(node: Any, class_name: str, layers: set[str]) -> tuple[Any, dict[str, Any]]:
    """A Keras 2 node's first argument (tensors as Keras 3 references) and its other arguments
    (``kwargs``, tensors converted too)."""
    found: list[dict[str, Any]] = []

    def first(value: Any) -> Any:
        if is_entry(value):
            if len(value) == 4:
                found.append(value[3])
            if value[0] == CONSTANT:
                return tensors_in(value[2], layers)
            return tensor(value[0], value[1], value[2])
        if isinstance(value, list):
            return [first(item) for item in value]
        raise NodeError(f"unreadable node entry {value!r}")

    if class_name in STRUCTURED:
        argument = first(node)
    elif isinstance(node, list) and node and all(is_entry(item) for item in node):
        items = [first(item) for item in node]
        argument = items[0] if len(items) == 1 else items
    else:
        raise NodeError(f"unreadable node {node!r}")
    kwargs = dict(found[0]) if found else {}
    if any(other != found[0] for other in found[1:]):
        raise NodeError(f"its tensors carry different keyword arguments ({found!r})")
    return argument, tensors_in(kwargs, layers)


def keras3_node(node: Any, class_name: str, layers: set[str]) -> dict[str, Any]:
    """One Keras 2 node in Keras 3's format: the same first argument and keyword arguments."""
    argument, kwargs = split(node, class_name, layers)
    return {"args": [argument], "kwargs": kwargs}


def slice_key(spec: Any) -> Any:
    """A Keras 2 ``SlicingOpLambda`` slice spec as the key Keras 3's ``GetItem`` reads: a slice
    (``{"start", "stop", "step"}``) becomes ``__slice__``, an index stays, a tuple is a list."""
    if isinstance(spec, list):
        return [slice_key(item) for item in spec]
    if isinstance(spec, dict) and set(spec) == {"start", "stop", "step"}:
        return {"class_name": "__slice__", "config": dict(spec)}
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec
    raise NodeError(f"slice {spec!r} is neither a slice nor an index (Ellipsis, newaxis, masks)")


def layer_names(model: dict[str, Any]) -> set[str]:
    """The names of every layer of a functional config, through nested models."""
    names: set[str] = set()
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "inbound_nodes" in value and isinstance(value.get("name"), str):
                names.add(value["name"])
            stack.extend(v for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, dict | list))
    return names
