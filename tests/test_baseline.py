"""The committed baseline against the catalogue and the configuration (no TensorFlow): every
cell that a limitation explains is one that limitation applies to, with the Keras generation
that loads the models in its environment; so no tf_keras cell carries a Keras 3 limitation."""

from __future__ import annotations

from pathlib import Path

from harness.core.config import load_config
from harness.core.limitations import load_catalogue
from harness.core.locations import base_route
from harness.report.matrix import read_baseline

ROOT = Path(__file__).parent.parent


def test_every_limitation_cell_of_the_baseline_is_one_its_entry_applies_to() -> None:
    config = load_config(ROOT / "harness.toml")
    catalogue = load_catalogue(ROOT / "limitations.toml")
    wrong = []
    for key, value in read_baseline(ROOT / "golden/baseline.json").items():
        status = str(value["status"])
        if not status.startswith("limitation:"):
            continue
        entry = catalogue.get(status.split(":", 1)[1])
        env = config.environment(key.env)
        if not entry.applies(
            env=key.env,
            route=base_route(key.route),
            model=key.model,
            check=key.check,
            keras=env.keras,
            backend=env.backend,
        ):
            wrong.append(f"{key.text}: {status}")
    assert wrong == []


def test_no_tf_keras_cell_carries_a_keras3_limitation() -> None:
    config = load_config(ROOT / "harness.toml")
    catalogue = load_catalogue(ROOT / "limitations.toml")
    legacy = {env.name for env in config.environments.values() if env.legacy}
    assert legacy == {"tf216-legacy"}
    keras3_only = {
        entry.id for entry in catalogue.entries if entry.applies_to["environments"] == ("@keras3",)
    }
    assert "depthwise-conv-groups-refused" in keras3_only
    carried = [
        f"{key.text}: {value['status']}"
        for key, value in read_baseline(ROOT / "golden/baseline.json").items()
        if key.env in legacy and str(value["status"]).removeprefix("limitation:") in keras3_only
    ]
    assert carried == []
