"""The first diverging layer: per-layer outputs of the source model, recorded on request, and
the first layer (in the source model's topological order) whose output a migrated model changed.

Recording every layer's output costs a forward pass per layer and memory for every activation,
so the source environment records them only for the models named in ``HARNESS_LAYERS``
(``all``, or model ids separated by commas), beside the runner reference
(``<build>/references/<fingerprint>/<model>/layers.json`` and ``layers.npz``). A target
environment whose ``predict`` cell fails compares the migrated model's layer outputs with them
and names the first layer beyond the predict tolerance, with its distance; without a recording,
the cell says how to make one. Layers are matched by name, with ``/`` read as ``_`` (the repair
renames TF1-style scoped names). No TensorFlow here: the outputs come from the backend.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.atomic import atomic_open, write_json
from harness.core.compare import Comparison, Tolerance, compare_arrays

ENV_VAR = "HARNESS_LAYERS"
STEM = "layers"
#: a layer's outputs: (layer name, its output arrays)
LayerOutputs = list[tuple[str, list[Any]]]


def requested(model: str, environ: dict[str, str] | None = None) -> bool:
    """Whether ``HARNESS_LAYERS`` asks for ``model``'s layer outputs."""
    value = (environ if environ is not None else dict(os.environ)).get(ENV_VAR, "")
    names = {part.strip() for part in value.split(",") if part.strip()}
    return "all" in names or model in names


def files(folder: Path, model: str) -> tuple[Path, Path]:
    return folder / model / f"{STEM}.json", folder / model / f"{STEM}.npz"


def write_layers(folder: Path, model: str, outputs: LayerOutputs, replays: dict[str, Any]) -> None:
    """Store ``outputs`` beside the reference they belong to (``replays``: what it replays)."""
    import numpy as np

    json_path, npz_path = files(folder, model)
    arrays: dict[str, Any] = {
        f"l{index}_{k}": np.asarray(value)
        for index, (_, values) in enumerate(outputs)
        for k, value in enumerate(values)
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(npz_path, "wb") as handle:
        np.savez(handle, **arrays)
    meta = {"layers": [[name, len(values)] for name, values in outputs], "replays": replays}
    write_json(json_path, meta, indent=2)


def read_layers(folder: Path, model: str, replays: dict[str, Any]) -> LayerOutputs | None:
    """The recorded layer outputs of ``model``, while they replay what the reference does."""
    import numpy as np

    json_path, npz_path = files(folder, model)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        if meta.get("replays") != replays:
            return None
        with np.load(npz_path, allow_pickle=False) as data:
            return [
                (str(name), [np.array(data[f"l{index}_{k}"]) for k in range(int(count))])
                for index, (name, count) in enumerate(meta["layers"])
            ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Divergence:
    layer: str
    comparison: Comparison

    def describe(self) -> str:
        found = self.comparison
        return f"{self.layer} (max abs diff {found.max_abs:.3g}, max {found.max_ulp} ULP)"


def key(name: str) -> str:
    return name.replace("/", "_")


def first_divergence(
    reference: LayerOutputs, actual: LayerOutputs, tolerance: Tolerance
) -> Divergence | None:
    """The first reference layer, in its order, whose outputs the actual model's same-named
    layer moved beyond ``tolerance`` (a layer the migrated model lacks is skipped)."""
    found = {key(name): values for name, values in actual}
    for name, values in reference:
        other = found.get(key(name))
        if other is None or len(other) != len(values):
            continue
        total = Comparison()
        for index, (want, got) in enumerate(zip(values, other, strict=True)):
            total.merge(compare_arrays(want, got, name=f"{name}[{index}]", tolerance=tolerance))
        if not total.ok:
            return Divergence(name, total)
    return None


def hint(model: str, source_command: str) -> str:
    return (
        f"to name the first diverging layer, record the source model's layer outputs: "
        f"{ENV_VAR}={model} {source_command}, then rerun this environment"
    )
