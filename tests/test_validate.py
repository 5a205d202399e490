"""``keras-harness validate``: every problem at once, with file, line and fix (no TensorFlow)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from harness.cli import main

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


def test_the_project_validates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir()
    registry.write_text(
        json.dumps(
            {
                "golden_dir": str(ROOT / "golden"),
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
