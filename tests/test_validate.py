"""``keras-harness validate``: every problem at once, with file, line and fix (no TensorFlow)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.core.preflight import validate
from harness.core.registry import Registry

ROOT = Path(__file__).parent.parent


def project(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    (models / "2.13.keras").mkdir(parents=True)
    shutil.copy(ROOT / "golden/dense_regression/model.2.13.keras", models / "2.13.keras/ok.keras")
    shutil.copy(
        ROOT / "golden/dense_regression/model.2.13.keras", models / "2.13.keras/changed.keras"
    )
    (models / "2.13.keras/changed.keras").write_bytes(
        (models / "2.13.keras/changed.keras").read_bytes() + b"\0"
    )
    golden = models / "golden"
    for name in ("ok", "changed"):
        shutil.copytree(
            ROOT / "golden/dense_regression",
            golden / name,
            ignore=shutil.ignore_patterns("*.keras", "*.lock"),
        )
        meta = json.loads((golden / name / "golden.json").read_text())
        meta["model"] = name
        (golden / name / "golden.json").write_text(json.dumps(meta))
    registry = models / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "ok": {"paths": {"2.13.keras": "models/2.13.keras/ok.keras"}},
                    "changed": {"paths": {"2.13.keras": "models/2.13.keras/changed.keras"}},
                    "missing": {"paths": {"2.13.keras": "models/2.13.keras/missing.keras"}},
                    "badref": {
                        "paths": {"2.13.keras": "models/2.13.keras/ok.keras"},
                        "custom_objects": {"Scale": "no_colon"},
                    },
                    "nosource": {"paths": {"2.15.h5": "x.h5"}},
                    "new": {"paths": {"2.13.keras": "models/2.13.keras/ok.keras"}},
                }
            },
            indent=4,
        )
    )
    return registry


def test_every_problem_is_reported_with_line_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = project(tmp_path)
    catalogue = tmp_path / "limitations.toml"
    catalogue.write_text(
        (ROOT / "limitations.toml")
        .read_text()
        .replace('environments = ["tf214"]', 'environments = ["tf2155"]')
    )
    started = time.monotonic()
    code = main(
        [
            "--config",
            str(ROOT / "harness.toml"),
            "validate",
            "--registry",
            str(registry),
            "--limitations",
            str(catalogue),
        ]
    )
    assert time.monotonic() - started < 10
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    reg = str(registry)
    assert any(
        line.startswith(f"{catalogue}:")
        and "applies_to.environments pattern 'tf2155' matches no environment" in line
        for line in out
    )
    assert f"{reg}:8: error: model 'changed': its source file " in "\n".join(out)
    assert any(
        line.startswith(f"{reg}:13: error: model 'missing': Model file not found: ") for line in out
    )
    assert any(
        line.startswith(
            f"{reg}:18: error: model 'badref': custom object 'Scale' = "
            "'no_colon' is not 'module:attr'."
        )
        for line in out
    )
    assert any(
        line.startswith(
            f"{reg}:26: error: model 'nosource': its source spec '2.13.keras' has no path."
        )
        for line in out
    )
    assert any(line.startswith(f"{reg}:31: note: model 'new': no golden yet") for line in out)
    assert out[-1] == "5 errors, 2 notes"


@pytest.mark.parametrize("relative", [False, True])
def test_the_project_validates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, relative: bool
) -> None:
    """The project's goldens may be outside the registry's root: ``keras-harness cases`` writes
    ``build/models/model_registry.json`` with ``"golden_dir": "../../golden"``."""
    registry = tmp_path / "build" / "models" / "model_registry.json"
    registry.parent.mkdir(parents=True)
    golden_dir = os.path.relpath(ROOT / "golden", registry.parent) if relative else ROOT / "golden"
    registry.write_text(
        json.dumps(
            {
                "golden_dir": str(golden_dir),
                "models": {
                    case: {"paths": {"2.13.keras": str(ROOT / f"golden/{case}/model.2.13.keras")}}
                    for case in ("dense_regression", "conv_classifier")
                },
            }
        )
    )
    assert (
        main(
            [
                "--config",
                str(ROOT / "harness.toml"),
                "validate",
                "--registry",
                str(registry),
                "--limitations",
                str(ROOT / "limitations.toml"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "0 errors, 0 notes\n"


def test_an_unreadable_registry_still_checks_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "r.json"
    registry.write_text("{\n  nope\n}")
    bad_config = tmp_path / "harness.toml"
    bad_config.write_text("[environments.tf216\n")
    assert (
        main(
            [
                "--config",
                str(bad_config),
                "validate",
                "--registry",
                str(registry),
                "--limitations",
                str(ROOT / "limitations.toml"),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"{bad_config}:1: error: Harness configuration {bad_config} is not valid TOML"
    )
    assert out[1] == (
        f"{registry}:2: error: Registry {registry} is not valid JSON: Expecting "
        "property name enclosed in double quotes at line 2 column 3. Fix: correct "
        "the JSON at that position."
    )
    assert out[-1] == "2 errors, 0 notes"


SOURCE = "models/2.13.keras/ok.keras"


def check(tmp_path: Path, models: dict[str, Any], **top: Any) -> tuple[Path, list[str]]:
    """The registry of ``models`` (and top-level keys ``top``) in ``tmp_path/models``, with a
    valid source model at ``SOURCE``, and validate's lines for it (without the notes that a
    model has no golden yet)."""
    registry = tmp_path / "models" / "model_registry.json"
    (tmp_path / SOURCE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "golden/dense_regression/model.2.13.keras", tmp_path / SOURCE)
    registry.write_text(json.dumps({"models": models, **top}, indent=4))
    findings = validate(ROOT / "harness.toml", ROOT / "limitations.toml", registry)
    return registry, [f.render() for f in findings if "no golden yet" not in f.message]


def record_golden(golden_dir: Path, model: str, *names: str) -> None:
    """The golden files ``names`` of dense_regression, recorded for ``model``."""
    (golden_dir / model).mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(ROOT / "golden/dense_regression" / name, golden_dir / model / name)


def test_unknown_keys_name_the_nearest_known_key(tmp_path: Path) -> None:
    registry, out = check(
        tmp_path,
        {"m": {"paths": {"2.13.keras": SOURCE}, "trustd": True, "owner": "team-a"}},
        allow_outside_rooot=True,
    )
    assert out == [
        f"{registry}:11: error: unknown top-level key 'allow_outside_rooot'. Fix: did you mean "
        "'allow_outside_root'?",
        f"{registry}:7: error: model 'm': unknown key 'trustd'. Fix: did you mean 'trusted'?",
        f"{registry}:8: error: model 'm': unknown key 'owner'. Fix: remove it or use one of "
        "'paths', 'source', 'custom_objects', 'inputs', 'expected', 'tolerances', 'trusted', "
        "'case'.",
    ]
    assert Registry.load(registry).get("m").trusted is False  # the typo trusts nothing


def test_values_of_the_wrong_type_are_reported(tmp_path: Path) -> None:
    registry, out = check(
        tmp_path,
        {
            "m": {
                "paths": {"2.13.keras": SOURCE},
                "trusted": "yes",
                "custom_objects": {"Scale": 5},
                "inputs": 3,
                "tolerances": {
                    "predict": "loose",
                    "evaluate": {"max_ulp": "4", "max_abs": -1, "reason": ""},
                    "predcit": {"max_ulps": 4, "reason": "measured"},
                },
            },
            "n": {"paths": {"2.13.keras": SOURCE}, "custom_objects": ["Scale"], "case": 1},
        },
        allow_outside_root="yes",
    )
    m = f"{registry}:{{}}: error: model 'm': "
    assert out == [
        f'{registry}:35: error: "allow_outside_root" must be true or false (got "yes"); '
        "anything but true keeps paths inside the root. Fix: write true or false without "
        "quotes, or remove the key.",
        m.format(7) + '"trusted" must be true or false (got "yes"); anything but true is not '
        'trusted. Fix: write "trusted": true without quotes to let its file execute code, or '
        "remove the key.",
        m.format(11) + '"inputs" must be a string (got 3). Fix: write it like "inputs": '
        '"inputs/model.npz".',
        m.format(9) + "custom object 'Scale' must be a 'module:attr' string (got 5). Fix: write "
        'it like "Scale": "my_layers:Scale".',
        m.format(13) + "tolerance 'predict' must be an object like {\"max_ulp\": 4, "
        '"reason": "..."} (got "loose"). Fix: give max_abs (a number >= 0) and/or max_ulp (an '
        "integer >= 0) and a reason that says how they were measured.",
        m.format(14) + "tolerance 'evaluate': max_abs must be a number >= 0 (got -1). Fix: "
        'write a number >= 0 without quotes, e.g. "max_abs": 1e-05.',
        m.format(14) + "tolerance 'evaluate': max_ulp must be an integer >= 0 (got \"4\"). "
        'Fix: write an integer >= 0 without quotes, e.g. "max_ulp": 4.',
        m.format(14) + 'tolerance \'evaluate\' has no reason (got ""). Fix: add a "reason" '
        "that says how the tolerance was measured.",
        m.format(19) + "tolerances: unknown check 'predcit'. Fix: did you mean 'predict'?",
        m.format(19) + "tolerance 'predcit': unknown key 'max_ulps'. Fix: did you mean 'max_ulp'?",
        f"{registry}:32: error: model 'n': \"case\" must be a string (got 1). Fix: write it "
        'like "case": "dense_regression".',
        f"{registry}:29: error: model 'n': \"custom_objects\" must be an object of names and "
        "'module:attr' strings (got [\"Scale\"]). Fix: write it like "
        '{"Scale": "my_layers:Scale"}.',
    ]


def test_an_unusable_entry_is_reported_and_the_others_are_still_checked(tmp_path: Path) -> None:
    registry, out = check(
        tmp_path,
        {
            "a": {"paths": {"2.13.keras": 5}},
            "b": {"paths": ["2.13.keras"], "trustd": True},
            "c": {"paths": {"2.13.keras": SOURCE}, "trustd": True},
        },
    )
    assert out == [
        f"{registry}:3: error: Model 'a' in {registry}: the path for '2.13.keras' must be a "
        "non-empty string. Received: 5. Fix: give the model file's path.",
        f"{registry}:8: error: Model 'b' in {registry} has no \"paths\" object. Received: "
        "{'paths': ['2.13.keras'], 'trustd': True}. Fix: write "
        '{"paths": {"2.13.keras": "models/2.13.keras/b.keras"}}.',
        f"{registry}:12: error: model 'b': unknown key 'trustd'. Fix: did you mean 'trusted'?",
        f"{registry}:18: error: model 'c': unknown key 'trustd'. Fix: did you mean 'trusted'?",
    ]


def test_a_root_that_is_not_a_path_is_reported(tmp_path: Path) -> None:
    registry, out = check(tmp_path, {"m": {"paths": {"2.13.keras": SOURCE}}}, root=["."])
    assert out == [
        f"{registry}:9: error: Registry {registry}: 'root' must be a folder path, relative to "
        'the registry\'s folder (got ["."]). Fix: write it as a string, e.g. "root": "..".'
    ]


def test_a_spec_of_a_version_no_environment_runs(tmp_path: Path) -> None:
    registry, out = check(
        tmp_path, {"m": {"paths": {"2.13.keras": SOURCE, "9.99.keras": "models/x.keras"}}}
    )
    assert out == [
        f"{registry}:6: error: model 'm': spec version 9.99 is not the TensorFlow version of "
        "any environment in harness.toml (got '9.99.keras'). Fix: use one of 2.13, 2.14, 2.15, "
        "2.16, 2.17, 2.18, 2.19, 2.20, 2.21, or add an environment that runs TensorFlow 9.99."
    ]


def test_a_missing_converted_file_is_an_error_unless_a_step_writes_it(tmp_path: Path) -> None:
    paths = {
        "2.13.keras": SOURCE,
        "2.15.h5": "models/2.15.h5/m.h5",
        "2.14.h5": "models/2.14.h5/m.h5",
        "2.13.savedmodel": "models/2.13.savedmodel/m",
    }
    registry, out = check(
        tmp_path,
        {
            "m": {"paths": paths},
            "saved_model_export": {
                "paths": {"2.13.keras": SOURCE, "2.13.savedmodel": "models/2.13.savedmodel/s"},
                "trusted": True,
            },
        },
    )
    models = tmp_path / "models"
    assert out == [
        f"{registry}:3: error: model 'm': its 2.13.savedmodel file "
        f"{models / '2.13.savedmodel/m'} does not exist, and no step of harness.toml writes "
        '2.13.savedmodel for it (got "models/2.13.savedmodel/m"). Fix: correct the path, restore '
        "the file, or remove '2.13.savedmodel' from its paths.",
        f"{registry}:3: error: model 'm': its 2.14.h5 file {models / '2.14.h5/m.h5'} does not "
        'exist, and no step of harness.toml writes 2.14.h5 for it (got "models/2.14.h5/m.h5"). '
        "Fix: correct the path, restore the file, or remove '2.14.h5' from its paths.",
        f"{registry}:3: note: model 'm': its registered 2.15.h5 file "
        f"{models / '2.15.h5/m.h5'} does not exist, so only the harness's own 2.15.h5 (step "
        "2.13.h5->2.15.h5@tf215 of harness.toml, under the build folder) is verified; restore "
        "the file to have yours verified too.",
        f"{registry}:11: note: model 'saved_model_export': its registered 2.13.savedmodel file "
        f"{models / '2.13.savedmodel/s'} does not exist, so only the harness's own "
        "2.13.savedmodel (step 2.13.keras->2.13.savedmodel@tf213 of harness.toml, under the "
        "build folder) is verified; restore the file to have yours verified too.",
    ]


@pytest.mark.parametrize("golden_dir", ["/etc", "../../.."])
def test_a_golden_dir_outside_the_root(tmp_path: Path, golden_dir: str) -> None:
    registry, out = check(tmp_path, {"m": {"paths": {"2.13.keras": SOURCE}}}, golden_dir=golden_dir)
    resolved = (registry.parent / golden_dir).resolve()
    assert out == [
        f'{registry}:9: error: "golden_dir" resolves to {resolved}, outside the registry\'s '
        f"root and the project's golden folder ({tmp_path} and {ROOT / 'golden'}) (got "
        f'"{golden_dir}"). Fix: keep the goldens under the root (e.g. "golden_dir": "golden"), '
        'or set "allow_outside_root": true if they belong there.'
    ]
    _, out = check(
        tmp_path,
        {"m": {"paths": {"2.13.keras": SOURCE}}},
        golden_dir=golden_dir,
        allow_outside_root=True,
    )
    assert out == []


@pytest.mark.parametrize(
    ("present", "missing"), [("golden.json", "golden.npz"), ("golden.npz", "golden.json")]
)
def test_a_half_present_golden(tmp_path: Path, present: str, missing: str) -> None:
    record_golden(tmp_path / "models/golden", "m", present)
    registry, out = check(tmp_path, {"m": {"paths": {"2.13.keras": SOURCE}}})
    folder = tmp_path / "models/golden/m"
    assert out == [
        f"{registry}:3: error: model 'm': its golden is half there: {folder / present} exists "
        f"but {folder / missing} does not (got {present} only). Fix: restore {missing} from "
        "git, or regenerate the golden with --golden-regen --model m."
    ]


def test_a_system_file_is_not_a_model_file_of_its_spec(tmp_path: Path) -> None:
    passwd = tmp_path / "etc/passwd"
    passwd.parent.mkdir()
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    text = tmp_path / "models/2.13.keras/text.keras"
    text.parent.mkdir(parents=True)
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    for model in ("system", "text"):
        record_golden(tmp_path / "models/golden", model, "golden.json", "golden.npz")
    registry, out = check(
        tmp_path,
        {
            "system": {"paths": {"2.13.keras": str(passwd)}},
            "text": {"paths": {"2.13.keras": "models/2.13.keras/text.keras"}},
            "converted": {"paths": {"2.13.keras": SOURCE, "2.13.h5": str(passwd)}},
        },
    )
    assert out == [
        f"{registry}:13: error: model 'converted': its 2.13.h5 file {passwd} is not a .h5 "
        "model file (got a file named 'passwd', neither a zip archive nor an HDF5 file). Fix: "
        "point '2.13.h5' at the .h5 model file that TensorFlow 2.13 saved for this model.",
        f"{registry}:3: error: model 'system': its 2.13.keras file {passwd} is not a .keras "
        "model file (got a file named 'passwd', neither a zip archive nor an HDF5 file). Fix: "
        "point '2.13.keras' at the .keras model file that TensorFlow 2.13 saved for this model.",
        f"{registry}:8: error: model 'text': {text} is not a readable .keras archive (not a zip "
        "archive: truncated or corrupt). Fix: restore the file or re-save the model from its "
        "source; if it is the output of a step, delete it and rerun the step.",
    ]
    assert not any("changed since the golden" in line for line in out)
