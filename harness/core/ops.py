"""The graph rewrites of the repair rules (``repairs.toml``): a layer's calls in Keras 3's node
format (``node-tensors``), a Keras 2 TF-op layer as the Keras 3 operation that calls the same
TensorFlow kernel (``tf-op``), and a layer Keras 3 removed as the Keras 3 layer that computes
the same function (``class``). Pure data, no TensorFlow; :mod:`harness.core.repairs` applies
them, :mod:`harness.core.nodes` reads the node data.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.core.nodes import STRUCTURED, NodeError, has_tensors, keras3_node, slice_key, split

#: the TF-op argument that holds a slicing key (``x[:, :3]``), converted for Keras 3's GetItem
SLICE_SPEC = "slice_spec"


def convert_nodes(layer: dict[str, Any], names: set[str]) -> bool:
    """Rewrite, in Keras 3's node format, each Keras 2 call of ``layer`` whose keyword arguments
    hold tensors (Keras 3 would pass them on as lists); True when one was rewritten."""
    nodes = layer.get("inbound_nodes")
    if not isinstance(nodes, list) or layer.get("class_name") in STRUCTURED:
        return False
    changed = False
    for index, node in enumerate(nodes):
        if not isinstance(node, list):
            continue  # already Keras 3's format
        kwargs = [item[3] for item in node if isinstance(item, list) and len(item) == 4]
        if any(has_tensors(k, names) for k in kwargs):
            nodes[index] = keras3_node(node, str(layer.get("class_name")), names)
            changed = True
    return changed


def convert_tf_op(
    layer: dict[str, Any], argument: str, table: dict[str, Any], names: set[str]
) -> bool:
    """Replace a TF-op layer (``TFOpLambda``: ``{"function": "math.square"}``) by the Keras 3
    operation ``table[function]`` names, called with the same tensors and arguments:
    ``{op = "keras.src.ops.numpy.Mean", config = {axis = "axis"}, args = [...], named = true}``
    (config: the TF keyword arguments that become the operation's constructor arguments, by
    their Keras 3 name; args: those passed positionally after the first; named: the operation
    takes a ``name``). Any other argument refuses the rewrite."""
    inner = layer.get("config")
    function = inner.get(argument) if isinstance(inner, dict) else None
    if not isinstance(function, str):
        return False
    target = table.get(function)
    if not isinstance(target, dict) or not isinstance(target.get("op"), str):
        known = ", ".join(sorted(table))
        raise NodeError(
            f"tf.{function} has no Keras 3 operation in the rule's table (it maps {known})"
        )
    module, class_name = str(target["op"]).rsplit(".", 1)
    config: dict[str, Any] | None = None
    calls = []
    for node in layer.get("inbound_nodes") or []:
        first, kwargs = split(node, str(layer.get("class_name")), names)
        kwargs.pop("name", None)  # TensorFlow's name for the graph node: computes nothing
        args = [first]
        for name in target.get("args", []):
            if name not in kwargs:
                raise NodeError(f"tf.{function} was called without {name!r}")
            value = kwargs.pop(name)
            args.append(slice_key(value) if name == SLICE_SPEC else value)
        renames = target.get("config", {})
        here = {renames[key]: kwargs.pop(key) for key in list(renames) if key in kwargs}
        if kwargs:
            raise NodeError(
                f"tf.{function} argument(s) {sorted(kwargs)} have no equivalent in {target['op']}"
            )
        if config is not None and here != config:
            raise NodeError(f"tf.{function} is called with different arguments per call")
        config = here
        calls.append({"args": args, "kwargs": {}})
    if target.get("named", True):
        config = {**(config or {}), "name": layer.get("name")}
    replacement = {
        "module": module,
        "class_name": class_name,
        "config": config or {},
        "registered_name": class_name,
        "name": layer.get("name"),
        "inbound_nodes": calls,
    }
    layer.clear()
    layer.update(replacement)
    return True


def convert_class(layer: dict[str, Any], target: dict[str, Any]) -> bool:
    """A layer Keras 3 removed as the Keras 3 class ``target["class_name"]``, its arguments
    renamed by ``target["rename"]`` (``{theta = "threshold"}``); the arguments of
    ``target["require"]`` (exact values) and ``target["absent"]`` (null or missing) are checked,
    any other value refusing the rewrite, and dropped; everything else is kept."""
    new = target.get("class_name")
    inner = layer.get("config")
    if not isinstance(new, str) or not isinstance(inner, dict):
        return False
    required = {**target.get("require", {}), **dict.fromkeys(target.get("absent", []))}
    for key, value in required.items():
        if inner.get(key, value) != value:
            raise NodeError(
                f"{key}={inner.get(key)!r}, and the rule's {new} computes only {key}={value!r}"
            )
        inner.pop(key, None)
    renames = target.get("rename", {})
    layer["class_name"] = new
    layer.pop("module", None)
    layer.pop("registered_name", None)
    layer["config"] = {renames.get(key, key): value for key, value in inner.items()}
    return True


def rename_layers(model: dict[str, Any], refused: str, replacement: str) -> dict[str, str]:
    """Rename every layer whose name contains ``refused`` (Keras 3 refuses ``/``), replacing it
    with ``replacement``, consistently: the layer, every node that calls it or reads its output
    (Keras 2 entries and Keras 3 references), and the model's inputs and outputs. Returns old ->
    new name; a new name that another layer already has refuses the rewrite."""
    from harness.core.nodes import layer_names

    names = layer_names(model)
    renames = {n: n.replace(refused, replacement) for n in sorted(names) if refused in n}
    taken = Counter([*(names - set(renames)), *renames.values()])
    for old, new in renames.items():
        if taken[new] > 1:
            raise NodeError(f"layer {old!r} would become {new!r}, a name another layer has")
    if renames:
        _rename_in(model, renames)
    return renames


def _rename_in(value: Any, renames: dict[str, str]) -> None:
    """Rewrite, in place, every place a functional config names a layer."""
    if isinstance(value, dict):
        if "inbound_nodes" in value and value.get("name") in renames:
            value["name"] = renames[value["name"]]
            inner = value.get("config")
            if isinstance(inner, dict) and inner.get("name") in renames:
                inner["name"] = renames[inner["name"]]
        history = value.get("keras_history")
        if isinstance(history, list) and history and history[0] in renames:
            history[0] = renames[history[0]]
        for child in value.values():
            _rename_in(child, renames)
    elif isinstance(value, list):
        if len(value) in (3, 4) and isinstance(value[0], str) and isinstance(value[1], int):
            if value[0] in renames:  # [layer, node, tensor(, kwargs)]: a node entry or input
                value[0] = renames[value[0]]
        for child in value:
            _rename_in(child, renames)
