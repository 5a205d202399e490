"""The first diverging layer, on recorded layer outputs (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.core.compare import Tolerance
from harness.source import layers

REPLAYS = {"source_sha256": "ab", "golden_sha256": "cd"}


def outputs(scale: float = 1.0) -> layers.LayerOutputs:
    return [
        ("block1/dense", [np.full((2, 3), 1.0, dtype="float32")]),
        ("block2", [np.full((2, 3), 2.0 * scale, dtype="float32")]),
        ("head", [np.full((2, 1), 3.0 * scale, dtype="float32"), np.zeros(2, dtype="float32")]),
    ]


def test_only_the_models_asked_for_are_recorded() -> None:
    assert layers.requested("m", {"HARNESS_LAYERS": "a, m"})
    assert layers.requested("m", {"HARNESS_LAYERS": "all"})
    assert not layers.requested("m", {"HARNESS_LAYERS": "a"})
    assert not layers.requested("m", {})


def test_recorded_outputs_are_read_back_only_for_the_reference_they_belong_to(
    tmp_path: Path,
) -> None:
    layers.write_layers(tmp_path, "m", outputs(), REPLAYS)
    found = layers.read_layers(tmp_path, "m", REPLAYS)
    assert found is not None
    assert [name for name, _ in found] == ["block1/dense", "block2", "head"]
    assert len(found[2][1]) == 2 and np.array_equal(found[1][1][0], outputs()[1][1][0])
    assert layers.read_layers(tmp_path, "m", {**REPLAYS, "golden_sha256": "ef"}) is None
    assert layers.read_layers(tmp_path, "other", REPLAYS) is None


def test_the_first_layer_beyond_the_tolerance_is_named_with_its_distance() -> None:
    renamed = [(name.replace("/", "_"), values) for name, values in outputs(scale=1.5)]
    found = layers.first_divergence(outputs(), renamed, Tolerance())
    assert found is not None and found.layer == "block2"
    assert found.describe() == "block2 (max abs diff 1, max 4194304 ULP)"
    assert layers.first_divergence(outputs(), renamed, Tolerance(max_abs=2.0, reason="r")) is None
    assert layers.first_divergence(outputs(), outputs(), Tolerance()) is None


def test_without_a_recording_the_cell_says_how_to_make_one() -> None:
    assert layers.hint("m", "tox -e tf213") == (
        "to name the first diverging layer, record the source model's layer outputs: "
        "HARNESS_LAYERS=m tox -e tf213, then rerun this environment"
    )
