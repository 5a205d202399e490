"""``keras-harness inspect --repairs`` against what the matrix measured, without TensorFlow: for
the chain's ``.h5`` of every case that has no other Keras 3 route (the file the repair step
reads, committed in tests/fixtures), the rules inspect predicts repair every limitation the
matrix measured on that same file in Keras 3, and the repaired route loads wherever the rules
cover what Keras 3 refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.config import load_config
from harness.core.modelfile import read_document
from harness.core.repairs import load_repairs, repairable

ROOT = Path(__file__).parent.parent
RULES = load_repairs(ROOT / "repairs.toml")
CASES = sorted(
    path.name.removesuffix(".2.15.h5")
    for path in (ROOT / "tests/fixtures").glob("*.2.15.h5")
    if path.name != "dense_regression.2.15.h5"
)


def cells(model: str, route: str) -> dict[tuple[str, str], str]:
    data = json.loads((ROOT / "golden/baseline.json").read_text())
    found = {}
    for key, value in data["cells"].items():
        name, env, _, cell_route, check = key.split("|")
        if name == model and cell_route == route:
            found[(env, check)] = value["status"]
    return found


def test_every_case_without_a_keras3_route_has_its_fixture() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("model", CASES)
def test_predicted_rules_repair_what_keras3_refused_in_this_file(model: str) -> None:
    config = load_config(ROOT / "harness.toml")
    document = read_document(ROOT / f"tests/fixtures/{model}.2.15.h5")
    assert document.model is not None
    predicted = set(repairable(RULES, document.model, document.training))
    repairing = {rule.id: rule.repairs for rule in RULES}
    repaired_by_a_rule = set(repairing.values())
    measured = {
        status.split(":", 1)[1]
        for (env, _), status in cells(model, "chain-h5").items()
        if config.environments[env].keras == 3 and status.startswith("limitation:")
    }
    needed = measured & repaired_by_a_rule
    covered = {repairing[rule] for rule in predicted}
    assert needed <= covered, f"measured in Keras 3, not predicted repairable: {needed - covered}"
    loads = {env: status for (env, check), status in cells(model, "repaired").items()}
    assert loads, "the baseline has no repaired cell for this model"
    if predicted:
        for (env, check), status in cells(model, "repaired").items():
            # on jax/torch a load may need TensorFlow (backend-*: not about the repair)
            if check == "load" and config.environments[env].tensorflow:
                assert status == "pass", (env, status)
