"""``keras-harness inspect``: what a model file contains and what will break, without TensorFlow.

Reads ``.keras`` zips (Keras 2 and 3), full-model ``.h5``, ``.weights.h5`` and SavedModel folders
with zipfile, h5py and json only, after the resource limits of :mod:`harness.core.safety`. Predicted
migration problems name the limitation of ``limitations.toml`` that the matrix measures.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError
from harness.core.modelfile import HDF5_ERRORS, ModelDocument, bad_file, read_document
from harness.core.safety import (
    CODE_LAYERS,
    PATH_LAYERS,
    TF_ATTRIBUTE_LAYERS,
    TF_OP_LAYERS,
    document_problems,
    walk,
)

INSPECT_SCHEMA = 1
LOSS_ALIASES = {"mse", "mae", "mape", "msle", "kld", "kl_divergence", "logcosh", "huber_loss"}
REMOVED_LAYERS = {
    "LocallyConnected1D": "removed in Keras 3",
    "LocallyConnected2D": "removed in Keras 3",
    "ThresholdedReLU": "removed in Keras 3 (use ReLU(threshold=...))",
    "RandomFourierFeatures": "removed in Keras 3",
}
#: (layer class or "*", argument) -> why Keras 3 refuses it
CHANGED_ARGUMENTS = {
    ("DepthwiseConv2D", "groups"): "Keras 3's DepthwiseConv2D takes no 'groups'",
    ("SeparableConv1D", "groups"): "Keras 3's SeparableConv takes no 'groups'",
    ("SeparableConv2D", "groups"): "Keras 3's SeparableConv takes no 'groups'",
    ("SeparableConv2D", "kernel_initializer"): "Keras 3's SeparableConv takes no 'kernel_*'",
    ("*", "time_major"): "Keras 3 RNN layers take no 'time_major'",
    ("*", "constants"): "Keras 3 RNN layers take no 'constants'",
    ("*", "batch_input_shape"): "Keras 3 layers take 'batch_shape', not 'batch_input_shape'",
}


@dataclass
class Problem:
    """A predicted migration problem; ``limitation`` is the catalogue id that the matrix uses."""

    limitation: str | None
    message: str
    where: str = ""


@dataclass
class Report:
    path: str
    format: str
    writer: dict[str, str] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)
    custom_classes: list[str] = field(default_factory=list)
    code_layers: list[str] = field(default_factory=list)
    compile: dict[str, Any] = field(default_factory=dict)
    optimizer_state: bool = False
    weights: dict[str, int] = field(default_factory=lambda: {"arrays": 0, "bytes": 0})
    problems: list[Problem] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # rules of repairs.toml that would apply

    def to_json(self) -> dict[str, Any]:
        return {"schema": INSPECT_SCHEMA, **asdict(self)}

    @property
    def limitation_ids(self) -> set[str]:
        return {p.limitation for p in self.problems if p.limitation}


def inspect_path(path: Path) -> Report:
    """Inspect one model file or SavedModel folder, after the checks of
    :func:`harness.core.modelfile.read_document` (the same reader as the safety check)."""
    if not path.exists():
        raise HarnessError(f"No such model file: {path}. Fix: check the path.")
    # read by content, as Keras and the safety check do; an empty, truncated or unknown file is
    # refused with the message validate gives for it
    document = read_document(path)
    if document.format == "savedmodel":
        return _inspect_savedmodel(path)
    if document.format == "keras":
        return _inspect_keras_zip(document)
    return _inspect_h5(document)


def _inspect_keras_zip(document: ModelDocument) -> Report:
    import h5py

    path = document.path
    report = Report(str(path), "keras")
    if document.metadata is not None:
        report.writer = {"keras_version": str(document.metadata.get("keras_version", "?"))}
    config = document.model
    weight_paths: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            if "model.weights.h5" in archive.namelist():
                with archive.open("model.weights.h5") as stream, h5py.File(stream, "r") as handle:
                    _count_weights(handle, report, weight_paths)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, *HDF5_ERRORS) as exc:
        detail = f"member 'model.weights.h5': {type(exc).__name__}: {exc}"
        raise bad_file(path, ".keras archive", detail) from None
    generation = _generation(report.writer.get("keras_version", ""))
    if config is not None:
        _describe_config(config, report)
        compile_config = config.get("compile_config")
        _describe_compile(compile_config if isinstance(compile_config, dict) else {}, report)
    _describe_code(document, report)
    # Keras 3 always stores iteration and learning rate; slots come beyond those
    stored = sum(p.startswith("optimizer/") for p in weight_paths)
    report.optimizer_state = stored > (2 if generation >= 3 else 1)
    if generation == 2:
        report.problems.append(
            Problem(
                "keras2-keras-file-unreadable-in-keras3",
                "a .keras file written by Keras 2: Keras 3 cannot deserialize it",
            )
        )
        if _numbering_gaps(weight_paths):
            report.problems.append(
                Problem(
                    "keras-2.13-weights-layout-tf214",
                    "weight groups numbered with gaps (e.g. dense, dense_2, dense_4): TF 2.14 "
                    "matches them to the wrong layers",
                )
            )
        if any(p.startswith("_layer_checkpoint_dependencies") for p in weight_paths):
            report.problems.append(
                Problem(
                    "keras-2.13-weights-layout",
                    "weights stored under _layer_checkpoint_dependencies/ (TF 2.13): later Keras 2 "
                    "releases load the model without them",
                )
            )
        if report.optimizer_state or report.compile.get("optimizer"):
            report.problems.append(
                Problem(
                    "optimizer-state-lost",
                    "Keras 3 starts this Keras 2 model with a fresh optimizer",
                )
            )
    return report


def _inspect_h5(document: ModelDocument) -> Report:
    import h5py

    path = document.path
    full_model = document.model is not None
    report = Report(str(path), "h5" if full_model else "weights.h5")
    report.writer = dict(document.metadata or {})
    try:
        with h5py.File(path, "r") as handle:
            weight_paths: list[str] = []
            weights = handle.get("model_weights")
            _count_weights(
                weights if isinstance(weights, h5py.Group) else handle, report, weight_paths
            )
            report.optimizer_state = "optimizer_weights" in handle
            optimizer = handle.get("optimizer_weights")
            if isinstance(optimizer, h5py.Group):
                report.weights["optimizer_arrays"] = len(_datasets(optimizer))
    except HDF5_ERRORS as exc:
        raise bad_file(path, "HDF5 file", f"{type(exc).__name__}: {exc}") from None
    if document.model is not None:
        _describe_config(document.model, report)
    _describe_code(document, report)
    generation = _generation(report.writer.get("keras_version", ""))
    if document.training is not None:
        _describe_training_config(document.training, report, generation)
    if generation == 2 and report.optimizer_state:
        report.problems.append(
            Problem(
                "optimizer-state-lost",
                "Keras 3 loads a Keras 2 .h5 with fresh optimizer slots and default "
                "hyperparameters (the chain and repaired routes carry them across)",
            )
        )
        report.problems.append(
            Problem(
                "keras3-h5-optimizer-built-on-nothing",
                "Keras 3 builds the optimizer of a Keras 2 .h5 on no variables: a training "
                "step on the loaded model fails",
            )
        )
    return report


def _inspect_savedmodel(path: Path) -> Report:
    report = Report(str(path), "savedmodel")
    if not (path / "saved_model.pb").exists():
        raise HarnessError(
            f"{path} is a folder without saved_model.pb. Fix: pass a SavedModel folder or a "
            f"model file."
        )
    report.writer = {"keras_metadata": str((path / "keras_metadata.pb").exists()).lower()}
    variables = list((path / "variables").glob("variables.data-*"))
    report.weights = {"arrays": 0, "bytes": sum(p.stat().st_size for p in variables)}
    report.problems.append(
        Problem(
            None,
            "Keras 3's load_model cannot read a SavedModel; reload it for inference with "
            "keras.layers.TFSMLayer(path, call_endpoint='serving_default')",
        )
    )
    return report


def _numbering_gaps(weight_paths: list[str]) -> bool:
    """True when TF 2.13's weight groups of one class are not numbered 0, 1, 2, ..."""
    groups = {
        p.split("/")[1]
        for p in weight_paths
        if p.startswith("_layer_checkpoint_dependencies/") and p.count("/") >= 1
    }
    numbers: dict[str, list[int]] = {}
    for group in groups:
        match = re.fullmatch(r"(.*?)(?:_(\d+))?", group)
        assert match is not None
        numbers.setdefault(match.group(1), []).append(int(match.group(2) or 0))
    return any(sorted(found) != list(range(len(found))) for found in numbers.values())


def _datasets(group: Any) -> list[str]:
    import h5py

    names: list[str] = []
    group.visititems(
        lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
    )
    return names


def _generation(version: str) -> int:
    """The major version of a Keras version string (0 when it does not start with one)."""
    match = re.match(r"\d{1,4}(?=\.|$)", version)
    return int(match.group()) if match else 0


def _count_weights(handle: Any, report: Report, paths: list[str]) -> None:
    """Count the model's weight arrays (optimizer and metric variables apart)."""
    import h5py

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            paths.append(name)
            kind = name.split("/", 1)[0]
            if kind in ("optimizer", "metrics", "optimizer_weights"):
                key = "optimizer_arrays" if kind.startswith("optimizer") else "metric_arrays"
                report.weights[key] = report.weights.get(key, 0) + 1
                return
            report.weights["arrays"] += 1
            report.weights["bytes"] += int(obj.size * obj.dtype.itemsize)

    handle.visititems(visit)


def _describe_config(config: dict[str, Any], report: Report) -> None:
    counts: Counter[str] = Counter()
    for where, obj in walk(config, layers_only=True):
        class_name = str(obj.get("class_name", ""))
        inner = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        assert isinstance(inner, dict)
        counts[class_name] += 1
        module = obj.get("module")
        if class_name in CODE_LAYERS | TF_OP_LAYERS | TF_ATTRIBUTE_LAYERS | PATH_LAYERS:
            report.code_layers.append(f"{class_name} at {where}")
        if isinstance(module, str) and not module.startswith(("keras", "tensorflow", "tf_keras")):
            report.custom_classes.append(f"{class_name} ({module}) at {where}")
        elif str(obj.get("registered_name") or "").count(">"):
            report.custom_classes.append(f"{obj['registered_name']} at {where}")
        name = inner.get("name")
        if isinstance(name, str) and "/" in name:
            report.problems.append(
                Problem(
                    "keras3-layer-name-slash-refused",
                    f"layer name {name!r}: Keras 3 refuses '/' in names",
                    where,
                )
            )
        if class_name in REMOVED_LAYERS:
            report.problems.append(
                Problem(None, f"{class_name}: {REMOVED_LAYERS[class_name]}", where)
            )
        for (layer, argument), why in CHANGED_ARGUMENTS.items():
            if layer not in ("*", class_name) or argument not in inner:
                continue
            if argument == "batch_input_shape" and class_name == "InputLayer":
                continue  # Keras 3 converts an InputLayer's batch_input_shape itself
            report.problems.append(Problem(None, f"{class_name}.{argument}: {why}", where))
    report.layers = dict(sorted(counts.items()))


def _describe_code(document: ModelDocument, report: Report) -> None:
    """What the safety check refuses in this file (model and training config), as problems."""
    for problem in document_problems(document, set()):
        report.problems.append(Problem(None, f"executes code when loaded: {problem}"))


def _describe_compile(compile_config: dict[str, Any], report: Report) -> None:
    optimizer = compile_config.get("optimizer")
    report.compile = {
        "optimizer": optimizer.get("class_name") if isinstance(optimizer, dict) else optimizer,
        "loss": _names(compile_config.get("loss")),
        "metrics": _names(compile_config.get("metrics")),
    }


def _names(value: Any) -> list[str]:
    """Names of losses/metrics in a (possibly nested) config."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        if "class_name" in value:
            inner = value.get("config")
            if isinstance(inner, dict):
                return [str(inner.get("name", value["class_name"]))]
            return [str(inner if inner is not None else value["class_name"])]
        return [name for item in value.values() for name in _names(item)]
    return [str(value)]


def _describe_training_config(training: dict[str, Any], report: Report, generation: int) -> None:
    optimizer = training.get("optimizer_config")
    report.compile = {
        "optimizer": optimizer.get("class_name") if isinstance(optimizer, dict) else None,
        "loss": _names(training.get("loss")),
        "metrics": _names(training.get("metrics")),
    }
    if generation != 2:
        return
    losses = set(_names(training.get("loss")))
    if losses & LOSS_ALIASES:
        report.problems.append(
            Problem(
                "h5-loss-alias-refused",
                f"loss stored under its alias {sorted(losses & LOSS_ALIASES)}: Keras 3 refuses it",
            )
        )
    wrappers = [
        obj
        for _, obj in walk(training.get("metrics"))
        if obj.get("class_name") == "MeanMetricWrapper"
    ]
    if wrappers:
        report.problems.append(
            Problem(
                "h5-metric-fn-unresolved",
                "compiled metrics stored as MeanMetricWrapper(fn=<name>): Keras 3 leaves fn a "
                "string and evaluate() fails until the metrics are recompiled",
            )
        )
    sparse = any("sparse" in name for name in losses)
    for obj in wrappers:
        inner = obj.get("config", {})
        if sparse and inner.get("fn") == "categorical_accuracy":
            report.problems.append(
                Problem(
                    "h5-accuracy-becomes-categorical",
                    f"metric {inner.get('name')!r} stored as categorical_accuracy with a sparse "
                    "loss",
                )
            )


def render_text(report: Report) -> str:
    lines = [f"{report.path}", f"  format: {report.format}"]
    if report.writer:
        lines.append("  writer: " + ", ".join(f"{k} {v}" for k, v in report.writer.items()))
    if report.layers:
        total = sum(report.layers.values())
        lines.append(
            f"  layers ({total}): "
            + ", ".join(
                f"{name} x{count}" if count > 1 else name for name, count in report.layers.items()
            )
        )
    for title, items in (
        ("custom classes", report.custom_classes),
        ("code layers", report.code_layers),
    ):
        if items:
            lines.append(f"  {title}: " + "; ".join(items))
    if report.compile:
        lines.append(
            f"  compile: optimizer {report.compile.get('optimizer')}, loss "
            f"{report.compile.get('loss')}, metrics {report.compile.get('metrics')}"
        )
    lines.append(f"  optimizer state stored: {'yes' if report.optimizer_state else 'no'}")
    weights = report.weights
    lines.append(
        f"  weights: {weights['arrays']} arrays, {weights['bytes']} bytes; optimizer "
        f"arrays: {weights.get('optimizer_arrays', 0)}"
    )
    if report.problems:
        lines.append("  predicted problems:")
        for problem in report.problems:
            tag = f"[{problem.limitation}] " if problem.limitation else ""
            where = f" ({problem.where})" if problem.where else ""
            lines.append(f"    - {tag}{problem.message}{where}")
    else:
        lines.append("  predicted problems: none")
    if report.repairs:
        lines.append(f"  repair rules that apply (repaired route): {', '.join(report.repairs)}")
    return "\n".join(lines)
