"""What both Keras generations do the same way: predict, evaluate, optimizer variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def as_list(values: Any) -> list[np.ndarray]:
    if isinstance(values, dict):
        return [np.asarray(values[key]) for key in sorted(values)]
    if isinstance(values, list | tuple):
        return [np.asarray(v) for v in values]
    return [np.asarray(values)]


def save_model(model: Any, path: Path) -> None:
    """Both generations pick the format from the suffix (.keras or .h5)."""
    model.save(str(path))


def model_inputs(x: list[np.ndarray]) -> Any:
    return x[0] if len(x) == 1 else list(x)


def predict(model: Any, x: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    return as_list(model.predict(model_inputs(x), batch_size=batch_size, verbose=0))


def evaluate(
    model: Any, x: list[np.ndarray], y: list[np.ndarray], batch_size: int
) -> dict[str, float]:
    targets = y[0] if len(y) == 1 else list(y)
    values = model.evaluate(
        model_inputs(x), targets, batch_size=batch_size, verbose=0, return_dict=True
    )
    return {str(k): float(np.asarray(v)) for k, v in values.items()}


def variable_name(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name)


def optimizer_variables(model: Any) -> tuple[int | None, list[tuple[str, np.ndarray]]]:
    """``(iterations, [(name, value) of slot variables])``; ``(None, [])`` without optimizer."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None, []
    variables = optimizer.variables
    variables = variables() if callable(variables) else variables
    iterations = int(np.asarray(optimizer.iterations))
    slots: list[tuple[str, np.ndarray]] = []
    for variable in variables:
        name = variable_name(variable)
        leaf = name.rsplit("/", 1)[-1].split(":")[0]
        if leaf in {"iteration", "iterations", "learning_rate"}:
            continue
        slots.append((name, np.array(variable)))
    return iterations, slots


#: layers that draw randomness in training, and the attributes that switch it off: Keras 2 and
#: Keras 3 draw different masks from the same seed, so the train step runs with them off
RANDOM_LAYERS = {
    "Dropout": ("rate",),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "SpatialDropout3D": ("rate",),
    "GaussianDropout": ("rate",),
    "AlphaDropout": ("rate",),
    "GaussianNoise": ("stddev",),
}
#: recurrent cells' dropout arguments, off for the same reason
RANDOM_CELL_ATTRIBUTES = ("dropout", "recurrent_dropout")


def _all_layers(model: Any) -> list[Any]:
    seen: dict[int, Any] = {}

    def visit(layer: Any) -> None:
        if id(layer) in seen:
            return
        seen[id(layer)] = layer
        for child in list(getattr(layer, "layers", None) or []):
            visit(child)
        for name in ("layer", "forward_layer", "backward_layer", "cell"):
            child = getattr(layer, name, None)
            if child is not None and hasattr(child, "trainable_weights"):
                visit(child)

    visit(model)
    return list(seen.values())


def randomness_off(model: Any) -> list[tuple[Any, str, Any]]:
    """Switch off every training-time random draw; returns what to restore."""
    changed: list[tuple[Any, str, Any]] = []
    for layer in _all_layers(model):
        names: tuple[str, ...] = RANDOM_LAYERS.get(type(layer).__name__, ())
        names += tuple(n for n in RANDOM_CELL_ATTRIBUTES if hasattr(layer, n))
        for name in names:
            value = getattr(layer, name, 0)
            if isinstance(value, int | float) and value:
                changed.append((layer, name, value))
                setattr(layer, name, 0.0)
    return changed


def optimizer_list(model: Any) -> list[Any]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return []
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)


def train_step(
    model: Any, x: list[np.ndarray], y: list[np.ndarray], *, restore: bool = True
) -> tuple[dict[str, float], list[tuple[str, np.ndarray]], int | None, list[str]]:
    """One ``train_on_batch`` on ``(x, y)`` from the model's state, with training-time randomness
    off: ``(metrics, [(name, value) of every weight after it], iterations after, what was switched
    off)``. With ``restore`` the model's weights and optimizer variables are put back afterwards,
    so that later uses of the model see it as loaded; without it (a caller that drops the model
    after the step) they keep the step's values: reading and assigning every variable back costs
    as much as a small model's step (3,480 reads and 2,100 assigns per 30 models in Keras 3)."""
    weights = [np.array(w) for w in model.weights] if restore else []
    before = [(v, np.array(v)) for v in optimizer_list(model)] if restore else []
    switched = randomness_off(model)
    try:
        targets = y[0] if len(y) == 1 else list(y)
        # Keras 3's train_on_batch reports the metrics' running state, which an evaluate() on
        # the same model filled; Keras 2's resets them first (reset_metrics=True)
        model.reset_metrics()
        values = model.train_on_batch(model_inputs(x), targets, return_dict=True)
        metrics = {str(k): float(np.asarray(v)) for k, v in values.items()}
        after = [(variable_name(w), np.array(w)) for w in model.weights]
        optimizer = getattr(model, "optimizer", None)
        iterations = int(np.asarray(optimizer.iterations)) if optimizer is not None else None
    finally:
        for layer, name, value in switched:
            setattr(layer, name, value)
        if restore:
            for variable, value in zip(model.weights, weights, strict=True):
                variable.assign(value)
            for variable, value in before:
                variable.assign(value)
    off = [f"{getattr(layer, 'name', '?')}.{name}={value}" for layer, name, value in switched]
    return metrics, after, iterations, off


def layer_outputs_with(
    model_class: Any, model: Any, x: list[Any], batch_size: int
) -> list[tuple[str, list[np.ndarray]]]:
    """Every layer's outputs on ``x``, in the model's (topological) layer order: one forward pass
    of a functional model whose outputs are the layers'. A layer whose output is not one tensor
    or a list of tensors (a shared layer has several) is left out."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError("the model has no layer graph (a subclassed model): no layer outputs")
    names: list[tuple[str, int]] = []
    tensors: list[Any] = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError, RuntimeError):
            continue
        flat = list(output) if isinstance(output, list | tuple) else [output]
        if not flat or not all(hasattr(t, "shape") and hasattr(t, "dtype") for t in flat):
            continue
        names.append((str(layer.name), len(flat)))
        tensors.extend(flat)
    probe = model_class(inputs, tensors)
    values = probe.predict(model_inputs(x), batch_size=batch_size, verbose=0)
    values = list(values) if isinstance(values, list | tuple) else [values]
    found: list[tuple[str, list[np.ndarray]]] = []
    for name, count in names:
        found.append((name, [np.asarray(v) for v in values[:count]]))
        values = values[count:]
    return found


def trainable_paths(model: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The model's trainable variables: ``(name or path, shape)``, in the optimizer's order."""
    return [(variable_name(v), tuple(int(d) for d in v.shape)) for v in model.trainable_variables]


def metric_objects(model: Any) -> dict[str, Any]:
    """The model's compiled metric objects by name (containers such as CompileMetrics flattened)."""
    found: dict[str, Any] = {}

    def visit(metric: Any) -> None:
        inner = getattr(metric, "metrics", None)
        if type(metric).__name__ in {"CompileMetrics", "MetricsContainer"} and isinstance(
            inner, list
        ):
            for child in inner:
                visit(child)
        elif getattr(metric, "name", "loss") != "loss":
            found[str(metric.name)] = metric

    for metric in getattr(model, "metrics", []):
        visit(metric)
    return found


def probe_metric(metric: Any, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Compute one metric object on one batch (raises what the metric raises)."""
    metric.reset_state()
    metric.update_state(y_true, y_pred)
    return float(np.asarray(metric.result()))


def metric_from_name(keras: Any, name: str) -> Any:
    """A metric object that reports under ``name`` (Keras 3 renames string metrics otherwise)."""
    if name in {"accuracy", "acc"}:
        return name  # resolved from the loss and the targets' shape, keeping its name
    found = keras.metrics.get(name)
    if isinstance(found, type):
        return found(name=name)
    if isinstance(found, keras.metrics.Metric):
        return type(found)(name=name)
    return keras.metrics.MeanMetricWrapper(found, name=name)


def recompile_with(keras: Any, model: Any, metric_names: list[str]) -> None:
    metrics = [metric_from_name(keras, name) for name in metric_names]
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=metrics)


def _source_layer(tensor: Any) -> Any:
    """The layer that made a symbolic tensor: Keras 2 names it ``layer``, Keras 3 ``operation``
    in the tensor's ``_keras_history``."""
    history = getattr(tensor, "_keras_history", None)
    return getattr(history, "layer", None) or getattr(history, "operation", None)


def _consumer(layer: Any) -> Any:
    from harness.core.synthetic import Consumer

    kind = type(layer).__name__
    name = str(getattr(layer, "name", kind))
    if kind == "Embedding":
        size = int(layer.input_dim)
        return Consumer(name, kind, size=size, mask_zero=bool(getattr(layer, "mask_zero", False)))
    if kind in ("StringLookup", "IntegerLookup") and not getattr(layer, "invert", False):
        vocabulary = list(layer.get_vocabulary())
        skip = int(getattr(layer, "num_oov_indices", 1) or 0)
        skip += 1 if getattr(layer, "mask_token", None) is not None else 0
        return Consumer(name, kind, vocabulary=tuple(vocabulary[skip:]))
    if kind == "TextVectorization":
        words = [w for w in layer.get_vocabulary() if w not in ("", "[UNK]")]
        return Consumer(name, kind, vocabulary=tuple(words))
    if kind == "CategoryEncoding":
        return Consumer(name, kind, size=int(layer.num_tokens))
    if kind == "Rescaling":
        scale = getattr(layer, "scale", None)
        value = float(scale) if isinstance(scale, int | float) else None
        return Consumer(name, kind, scale=value)
    return Consumer(name, kind)


def input_specs(model: Any) -> list[Any]:
    """Each model input (:class:`harness.core.synthetic.InputSpec`): name, dtype, shape and the
    layers that take it directly, with what bounds their values (vocabularies, sizes)."""
    from harness.core.synthetic import InputSpec

    consumers: dict[int, list[Any]] = {}
    for layer in getattr(model, "layers", []) or []:
        for node in getattr(layer, "_inbound_nodes", []) or []:
            tensors = getattr(node, "input_tensors", None)
            if tensors is None:
                continue
            # one tensor or several (never asked for its truth: a symbolic tensor refuses)
            for tensor in tensors if isinstance(tensors, list | tuple) else [tensors]:
                source = _source_layer(tensor)
                if source is not None and source is not layer:
                    consumers.setdefault(id(source), []).append(layer)
    specs = []
    for tensor in model.inputs:
        source = _source_layer(tensor)
        dtype = getattr(tensor.dtype, "name", tensor.dtype)
        taken = consumers.get(id(source), []) if source is not None else []
        specs.append(
            InputSpec(
                name=str(getattr(source, "name", None) or getattr(tensor, "name", "input")),
                dtype=str(dtype),
                shape=tuple(tuple(tensor.shape)[1:]),
                consumers=tuple(_consumer(layer) for layer in taken),
            )
        )
    return specs
