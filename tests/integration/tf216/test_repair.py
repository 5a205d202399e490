"""The repair's weight check with real Keras 3 (tox -e tests-tf216): a file whose weights Keras
would load into the wrong layers is refused with the layer named; an intact one is repaired with
every array checked."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.core.registry import Registry
from harness.core.repairs import RepairError, load_repairs
from harness.core.specs import Spec

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="3")
ROOT = Path(__file__).parents[3]


def saved_h5(tmp_path: Path) -> tuple[Registry, Path]:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, name="a"),
            keras.layers.Dense(4, name="b"),
            keras.layers.Dense(1, name="out"),
        ],
        name="seq",
    )
    model.compile(optimizer="adam", loss="mean_squared_error")
    path = tmp_path / "m.h5"
    model.save(str(path))
    registry = tmp_path / "model_registry.json"
    registry.write_text(
        json.dumps(
            {"models": {"m": {"paths": {"2.15.h5": "m.h5"}, "source": "2.15.h5"}}, "root": "."}
        )
    )
    return Registry.load(registry), path


def repair(registry: Registry, path: Path) -> object:
    from harness.keras.repairing import repair as run

    return run(registry, "m", Spec.parse("2.15.h5"), path, load_repairs(ROOT / "repairs.toml"))


def test_an_intact_file_is_repaired_with_every_array_checked(tmp_path: Path) -> None:
    registry, path = saved_h5(tmp_path)
    repaired = repair(registry, path)
    assert repaired.layers == {"a": 2, "b": 2, "out": 2}  # type: ignore[attr-defined]
    assert repaired.summary() == (  # type: ignore[attr-defined]
        "rules: none needed; weights checked: 6 arrays in 3 layers, all identical"
    )
    x = np.random.RandomState(0).normal(size=(8, 4)).astype("float32")
    original = keras.saving.load_model(str(path))
    assert np.array_equal(repaired.model.predict(x, verbose=0), original.predict(x, verbose=0))  # type: ignore[attr-defined]


def test_weights_that_would_reach_the_wrong_layer_are_refused_with_the_layer(
    tmp_path: Path,
) -> None:
    registry, path = saved_h5(tmp_path)
    with h5py.File(path, "r+") as handle:
        group = handle["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
        swapped = [{"a": "b", "b": "a"}.get(n, n) for n in names]
        group.attrs["layer_names"] = [n.encode() for n in swapped]  # Keras loads by this order
    with pytest.raises(RepairError) as info:
        repair(registry, path)
    assert str(info.value) == (
        f"Cannot repair {path}: layer 'b' did not receive its seq/b/kernel (Keras loaded other "
        "values into it). Fix: none by rewriting; the file's weights do not match its layers "
        "(layer_names order?)."
    )
