from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.config import load_config
from harness.core.errors import ConfigError
from harness.core.specs import Spec

ROOT = Path(__file__).parent.parent


def test_the_projects_chain_is_the_recipe() -> None:
    config = load_config(ROOT / "harness.toml")
    assert [step.name for step in config.steps] == [
        "2.13.keras->2.13.h5@tf213",
        "2.13.keras->2.13.savedmodel@tf213",
        "2.13.h5->2.15.h5@tf215",
        "2.15.h5->2.16.keras@tf216",
        "2.13.h5->2.16-tfkeras.keras@tf216-legacy",
        "2.15.h5->2.17.keras@tf217",
        "2.15.h5->2.16-repaired.keras@tf216-keras33",
    ]
    assert [step.recompile_metrics for step in config.steps] == [
        False,
        False,
        False,
        True,
        False,
        True,
        False,
    ]
    assert [step.repair for step in config.steps] == [False] * 6 + [True]
    # the recipe's last hops and the repair carry the optimizer state across
    assert [s.name for s in config.steps if s.transplant_optimizer] == [
        "2.15.h5->2.16.keras@tf216",
        "2.15.h5->2.17.keras@tf217",
        "2.15.h5->2.16-repaired.keras@tf216-keras33",
    ]
    export = config.steps[1]
    assert export.models == ("saved_model_export",)
    savedmodel = Spec.parse("2.13.savedmodel")
    source = Spec.parse("2.13.keras")
    assert config.lineage(savedmodel, source, "saved_model_export") == [export]
    assert config.lineage(savedmodel, source, "dense_regression") is None  # not exported
    lineage = config.lineage(Spec.parse("2.16.keras"), Spec.parse("2.13.keras"))
    assert lineage is not None and [s.env for s in lineage] == ["tf213", "tf215", "tf216"]
    assert config.lineage(Spec.parse("2.16.keras"), Spec.parse("2.13.h5")) is not None
    assert config.lineage(Spec.parse("2.13.keras"), Spec.parse("2.13.h5")) is None
    assert [r.name for r in config.routes_for("tf216")] == [
        "direct-keras",
        "direct-h5",
        "chain-h5",
        "chain",
        "repaired",  # 2.16-repaired.keras, written by tf216-keras33 (Keras 3.3.3)
        "savedmodel",
    ]


def test_a_step_must_write_its_environments_version(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text(
        '[environments.tf215]\nversion = "2.15"\nkeras = 2\n'
        '[[steps]]\nenv = "tf215"\nfrom = "2.13.h5"\nto = "2.16.keras"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[[steps]] #1 in {path} writes 2.16.keras in tf215, which writes version 2.15. "
        "Fix: name the spec after the environment that writes it."
    )


def test_unknown_environment_and_route(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text('[environments.tf216]\nversion = "2.16"\nkeras = 3\nverify = ["chain"]\n')
    with pytest.raises(ConfigError, match=r"verifies unknown route 'chain'"):
        load_config(path)
    path.write_text('[environments.tf216]\nversion = "2.16"\nkeras = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(path).environment("tf299")
    assert str(info.value) == (
        f"Unknown environment 'tf299' in {path}. Received environments: ['tf216']. "
        "Fix: add [environments.tf299] or set HARNESS_ENV to one of them."
    )


def test_a_steps_models_must_be_a_list_of_patterns(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text(
        '[environments.tf213]\nversion = "2.13"\nkeras = 2\n'
        '[[steps]]\nenv = "tf213"\nfrom = "2.13.keras"\nto = "2.13.savedmodel"\nmodels = "x"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[[steps]] #1 in {path}: models must be a non-empty list of model id patterns. "
        f"Received: 'x'. Fix: e.g. models = [\"saved_model_*\"], or leave it out."
    )


def test_the_transplant_is_only_for_a_keras2_h5_going_into_keras3(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text(
        '[environments.tf215]\nversion = "2.15"\nkeras = 2\n'
        '[[steps]]\nenv = "tf215"\nfrom = "2.13.h5"\nto = "2.15.h5"\n'
        "transplant_optimizer = true\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[[steps]] #1 in {path}: transplant_optimizer carries a Keras 2 .h5's optimizer state "
        "into Keras 3; this step loads 2.13.h5 in tf215 (Keras 2). Fix: set it only on a step "
        "from a .h5 spec that runs in a Keras 3 environment."
    )
    path.write_text(path.read_text().replace("= true", '= "yes"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[[steps]] #1 in {path}: transplant_optimizer must be true or false. Received: 'yes'. "
        "Fix: write transplant_optimizer = true, or leave it out."
    )


def _env_config(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "h.toml"
    path.write_text(
        '[routes.a]\nspec = "2.13.keras"\n[routes.b]\nspec = "2.17.keras"\n'
        f"[environments]\n{line}\n"
    )
    return path


def test_one_line_pins_an_environment_and_derives_the_rest(tmp_path: Path) -> None:
    path = _env_config(tmp_path, 'tf216 = { tensorflow = "2.16.2", keras = "3.3.3" }')
    env = load_config(path).environment("tf216")
    assert (env.version, env.keras, env.pins) == (
        "2.16",
        3,
        (("tensorflow", "2.16.2"), ("keras", "3.3.3")),
    )
    assert env.verify == ("a",)  # route b's spec (2.17) is newer than the environment
    assert env.description == "TensorFlow 2.16.2, Keras 3.3.3"
    assert not env.legacy


def test_tf_keras_makes_a_keras2_legacy_environment(tmp_path: Path) -> None:
    path = _env_config(
        tmp_path, 'x = { tensorflow = "2.16.2", keras = "3.15.1", tf_keras = "2.16.0" }'
    )
    env = load_config(path).environment("x")
    assert (env.keras, env.legacy) == (2, True)
    assert env.description == "TensorFlow 2.16.2 with tf_keras 2.16.0 (TF_USE_LEGACY_KERAS=1)"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'tf222 = { tensorflow = ">=2.22", keras = "3.16.0" }',
            ": tensorflow must be an exact version string. Received: '>=2.22'. Fix: pin one "
            'release, e.g. tensorflow = "2.16.2".',
        ),
        (
            'tf222 = { tensorflow = "2.22.0", kears = "3.16.0" }',
            " has unknown keys ['kears']. Fix: use only "
            "['tensorflow', 'keras', 'tf_keras', 'version', 'verify', 'description', "
            "'backend', 'jax', 'torch'].",
        ),
        (
            'tf222 = { tensorflow = "2.22.0", version = "2.21" }',
            ' needs a TensorFlow version: tensorflow = "X.Y.Z" (or version = "X.Y" matching '
            "it). Received: tensorflow='2.22.0', version='2.21'. Fix: e.g. tf222 = "
            '{ tensorflow = "2.16.2", keras = "3.3.3" }.',
        ),
    ],
)
def test_an_environment_pins_exact_versions_and_known_keys(
    tmp_path: Path, line: str, message: str
) -> None:
    path = _env_config(tmp_path, line)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"[environments.tf222] in {path}{message}"
