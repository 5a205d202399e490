"""``keras-harness init`` without TensorFlow: the project files it plans from the shipped ones,
the registry of a models folder in the recipe's layout (every file left out is named), and that
it never writes over a file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from harness import scaffold
from harness.cli import main
from harness.core.config import load_config
from harness.core.errors import ConfigError
from harness.core.registry import Registry

ROOT = Path(__file__).parent.parent
WHEEL_REQUIREMENT = "keras-migration-harness @ file:///wheels/keras_migration_harness.whl"


def models_folder(project: Path) -> Path:
    store = project / "models/2.13.keras"
    store.mkdir(parents=True)
    (store / "run_a.keras").write_bytes(b"PK")
    (store / "run_b.keras").write_bytes(b"PK")
    (store / "notes.txt").write_text("not a model\n")
    (store / "bad id!.keras").write_bytes(b"PK")
    (project / "models/2.13.h5").mkdir()
    (project / "models/2.13.h5/run_b.h5").write_bytes(b"\x89HDF")
    (project / "models/2.13.h5/only_h5.h5").write_bytes(b"\x89HDF")
    (project / "models/checkpoints").mkdir()
    (project / "inputs").mkdir()
    (project / "inputs/run_a.npz").write_bytes(b"PK")
    (project / "expected").mkdir()
    (project / "expected/run_b.json").write_text("{}")
    return project / "models"


def test_the_registry_lists_every_model_file_and_names_what_it_left_out(tmp_path: Path) -> None:
    found = scaffold.scan_models(tmp_path, models_folder(tmp_path))
    assert found.models == {
        "only_h5": {"paths": {"2.13.h5": "models/2.13.h5/only_h5.h5"}, "source": "2.13.h5"},
        "run_a": {
            "paths": {"2.13.keras": "models/2.13.keras/run_a.keras"},
            "inputs": "inputs/run_a.npz",
        },
        "run_b": {
            "paths": {
                "2.13.h5": "models/2.13.h5/run_b.h5",
                "2.13.keras": "models/2.13.keras/run_b.keras",
            },
            "expected": "expected/run_b.json",
        },
    }
    assert found.skipped == [
        "models/2.13.keras/bad id!.keras: 'bad id!' is not a model id (letters, digits, _.-)",
        "models/2.13.keras/notes.txt: not a keras model of spec 2.13.keras",
        "models/checkpoints/: not a spec folder like 2.13.keras or 2.13.h5",
    ]


def test_an_empty_or_missing_models_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        scaffold.scan_models(tmp_path, tmp_path / "models")
    assert str(missing.value) == (
        f"No models folder at {tmp_path / 'models'}. Fix: put the model files in "
        f"{tmp_path / 'models'}/2.13.keras/<id>.keras (the recipe's layout), or pass --models DIR."
    )
    (tmp_path / "models/2.13.keras").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"^No model files in "):
        scaffold.scan_models(tmp_path, tmp_path / "models")


def test_harness_toml_is_cut_to_the_chosen_environments(tmp_path: Path) -> None:
    text = scaffold.harness_toml(["tf213", "tf216"])
    config = tomllib.loads(text)
    assert list(config["environments"]) == ["tf213", "tf216"]
    assert sorted(config["routes"]) == ["direct-h5", "direct-keras"]  # tf215 writes 2.15.h5
    assert [(s["env"], s["from"], s["to"]) for s in config["steps"]] == [
        ("tf213", "2.13.keras", "2.13.h5")  # the SavedModel export is for named models only
    ]
    (tmp_path / "harness.toml").write_text(text)
    assert load_config(tmp_path / "harness.toml").routes_for("tf216")  # a valid configuration
    chain = tomllib.loads(scaffold.harness_toml(["tf213", "tf215", "tf216", "tf216-keras33"]))
    assert sorted(chain["routes"]) == ["chain", "chain-h5", "direct-h5", "direct-keras", "repaired"]
    line = scaffold.harness_toml(["tf213", "tf215", "tf216-keras33"]).split("tf216-keras33 = ")[1]
    assert 'verify = ["direct-keras", "direct-h5", "chain-h5", "repaired"]' in line


def test_environments_without_the_source_or_unknown_are_refused() -> None:
    with pytest.raises(ConfigError) as unknown:
        scaffold.harness_toml(["tf213", "tf299"])
    assert str(unknown.value).startswith("Unknown environments ['tf299']. Fix: choose from [")
    with pytest.raises(ConfigError) as sourceless:
        scaffold.harness_toml(["tf216"])
    assert str(sourceless.value) == (
        "--envs tf216 has no source environment: tf213 records the goldens. Fix: add it "
        "(--envs tf213,tf216)."
    )


def test_init_writes_a_project_and_then_nothing_over_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models_folder(tmp_path)
    argv = [
        "init",
        "--project",
        str(tmp_path),
        "--envs",
        "tf213,tf216",
        "--harness",
        WHEEL_REQUIREMENT,
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "registered 3 model(s): only_h5, run_a, run_b" in out
    assert (
        "not registered: models/2.13.keras/notes.txt: not a keras model of spec 2.13.keras" in out
    )
    assert (tmp_path / "requirements/harness.txt").read_text() == WHEEL_REQUIREMENT + "\n"
    assert (tmp_path / "requirements/tf216.txt").read_text() == (
        ROOT / "requirements/tf216.txt"
    ).read_text()
    assert "check: keras-harness validate --registry models/model_registry.json" in out
    assert "UV_FIND_LINKS" not in out  # no torch environment chosen
    # the shipped catalogue cut to tf213 and tf216: validate finds nothing stale in it
    from harness.core.preflight import validate

    findings = validate(
        tmp_path / "harness.toml",
        tmp_path / "limitations.toml",
        tmp_path / "models/model_registry.json",
    )
    assert [f.render() for f in findings if f.file.endswith("limitations.toml")] == []
    assert 'id = "optimizer-state-lost"' in (tmp_path / "limitations.toml").read_text()
    assert "@jax" not in (tmp_path / "limitations.toml").read_text()
    tox_ini = (tmp_path / "tox.ini").read_text()
    assert f"    {WHEEL_REQUIREMENT}\n" in tox_ini and "HARNESS_ENV = tf213" in tox_ini
    registry = Registry.load(tmp_path / "models/model_registry.json")
    assert registry.golden_dir == tmp_path / "golden"
    assert registry.resolve("run_a", "2.13.keras") == tmp_path / "models/2.13.keras/run_a.keras"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    (tmp_path / "tox.ini").write_text("# the user's own\n")
    before[tmp_path / "tox.ini"] = b"# the user's own\n"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"keras-harness: error: init would overwrite 13 file(s) in {tmp_path}: ")
    assert err.endswith(
        "Fix: move them aside (init never writes over a file), or run init in another folder.\n"
    )
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_models_folder_outside_the_project_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data/models").mkdir(parents=True)
    argv = ["init", "--project", str(tmp_path), "--models", "data/models", "--harness", "x==1"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"keras-harness: error: --models data/models is not a folder directly in the project "
        f"{tmp_path}. Fix: put the models folder in the project (models/2.13.keras/<id>.keras).\n"
    )


@pytest.mark.parametrize(
    ("spec", "requirement"),
    [
        (
            "git+https://example.org/h.git@v1",
            "keras-migration-harness @ git+https://example.org/h.git@v1",
        ),
        ("keras-migration-harness==0.1.0", "keras-migration-harness==0.1.0"),
    ],
)
def test_how_the_project_installs_the_harness(tmp_path: Path, spec: str, requirement: str) -> None:
    assert scaffold.requirement_of(spec, tmp_path) == requirement
    wheel = tmp_path / "h.whl"
    wheel.write_bytes(b"PK")
    assert (
        scaffold.requirement_of(str(wheel), tmp_path)
        == f"keras-migration-harness @ {wheel.as_uri()}"
    )


def test_the_shipped_files_are_the_checkouts(tmp_path: Path) -> None:
    """The wheel ships these through harness/shipped/ (links to the checkout's own files)."""
    for name in ("harness.toml", "limitations.toml", "repairs.toml", "requirements/tf213.txt"):
        assert scaffold.shipped(name) == (ROOT / name).read_text(), name
    assert scaffold.shipped("test_compat.py") == (ROOT / "compat/test_compat.py").read_text()
    assert json.loads(json.dumps(scaffold.REGISTRY)) == "models/model_registry.json"


def test_record_without_tensorflow_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "models/model_registry.json"
    registry.parent.mkdir()
    source = ROOT / "golden/dense_regression/model.2.13.keras"
    registry.write_text(json.dumps({"models": {"run_a": {"paths": {"2.13.keras": str(source)}}}}))
    argv = ["--config", str(ROOT / "harness.toml"), "--build-dir", str(tmp_path / "build")]
    argv += ["record", "--env", "tf213", "--registry", str(registry)]
    argv += ["--limitations", str(ROOT / "limitations.toml")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-harness: error: TensorFlow is not installed in ")
    assert err.endswith(
        ", and `keras-harness record` needs it: it loads each source model. Fix: run it in the "
        "source environment: tox -e record (or tox -e tf213 -- -k golden).\n"
    )
    assert not (tmp_path / "models/golden").exists()


def test_the_catalogue_is_cut_to_the_chosen_environments_and_routes(tmp_path: Path) -> None:
    from harness.scaffold import _cut_config, catalogue_for, harness_toml

    text = """# head, kept
[[limitation]]
id = "both"
title = "t"
[limitation.applies_to]
environments = ["@keras3", "@jax", "tf9*"]
routes = ["direct-h5", "chain"]
[limitation.evidence]
message = "m"

[[limitation]]
id = "gone"
title = "t"
[limitation.applies_to]
environments = ["@torch"]
[limitation.evidence]
message = "m"

[[limitation]]
id = "everywhere"
title = "t"
[limitation.evidence]
message = "m"
"""
    cut = catalogue_for(text, _cut_config(harness_toml(["tf213", "tf216"])))
    assert cut == text.replace('["@keras3", "@jax", "tf9*"]', '["@keras3"]').replace(
        '["direct-h5", "chain"]', '["direct-h5"]'
    ).replace(
        """[[limitation]]
id = "gone"
title = "t"
[limitation.applies_to]
environments = ["@torch"]
[limitation.evidence]
message = "m"

""",
        "",
    )


def test_init_with_a_torch_environment_says_where_its_wheel_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models_folder(tmp_path)
    envs = "tf213,tf215,tf216,keras315-torch"
    argv = ["init", "--project", str(tmp_path), "--envs", envs, "--harness", WHEEL_REQUIREMENT]
    assert main(argv) == 0
    out = capsys.readouterr().out
    from harness.toxenvs import torch_find_links

    assert out.endswith(
        f"torch: torch's CPU build is not on PyPI: tox takes it from {torch_find_links()} (set "
        'UV_FIND_LINKS to use another folder or page; README, "Backends")\n'
    )
    assert (tmp_path / "requirements/keras315-torch.txt").is_file()
