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
