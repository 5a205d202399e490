"""``keras-harness migrate`` on a measured run (no TensorFlow): the verified file and its
certificate are written only for a route whose cells are accepted; nothing otherwise."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest

from harness.convert.records import StepRecord, step_record_path
from harness.core.config import load_config
from harness.core.errors import HarnessError
from harness.core.golden import sha256_of
from harness.core.locations import converted_path
from harness.core.registry import Registry
from harness.core.results import Cell
from harness.report.migrate import migrate, summary

ROOT = Path(__file__).parent.parent
CHECKS = ("load", "predict", "evaluate", "metrics", "optimizer-state")


def repaired_keras_file() -> bytes:
    """A Keras 3 ``.keras`` zip whose config names the harness's rebuilt LocallyConnected2D."""
    local = {
        "module": "harness.keras.legacy_layers",
        "class_name": "LocallyConnected2D",
        "config": {"name": "local"},
        "registered_name": "keras_harness>LocallyConnected2D",
    }
    config = {"module": "keras", "class_name": "Functional", "config": {"layers": [local]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
    return buffer.getvalue()


def project(tmp_path: Path) -> tuple[Registry, Path]:
    (tmp_path / "m.keras").write_bytes(b"source")
    registry = tmp_path / "model_registry.json"
    registry.write_text(
        json.dumps({"models": {"m": {"paths": {"2.13.keras": "m.keras"}}}, "root": "."})
    )
    build = tmp_path / "build"
    for step, spec, data in (
        ("2.13.keras->2.13.h5@tf213", "2.13.h5", b"h5"),
        ("2.13.h5->2.15.h5@tf215", "2.15.h5", b"h5 again"),
        (
            "2.15.h5->2.16-repaired.keras@tf216-keras33",
            "2.16-repaired.keras",
            repaired_keras_file(),
        ),
    ):
        path = converted_path(build, "m", spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        record = StepRecord("m", step, step.rsplit("@", 1)[1], "ok", output_sha256=sha256_of(path))
        if spec.endswith("repaired.keras"):
            record.repair_rules = {"rnn-time-major": ["model/m/lstm"]}
        step_record_path(build, "m", spec).parent.mkdir(parents=True, exist_ok=True)
        step_record_path(build, "m", spec).write_text(json.dumps(asdict(record)))
    return Registry.load(registry), build


def cells(**statuses: str) -> list[Cell]:
    return [
        Cell(
            "m",
            "tf221",
            "cpu",
            "repaired",
            "2.16-repaired.keras",
            check,
            statuses.get(check, "pass"),
            fingerprint="cpu-1",
        )
        for check in CHECKS
    ]


def test_a_verified_route_is_delivered_with_its_certificate(tmp_path: Path) -> None:
    registry, build = project(tmp_path)
    config = load_config(ROOT / "harness.toml")
    measured = cells(**{"optimizer-state": "limitation:optimizer-state-lost"})
    target, written = migrate(
        config, registry, build, measured, "m", "tf221", "repaired", tmp_path / "out"
    )
    assert target.read_bytes() == repaired_keras_file()
    document = json.loads(written.read_text())
    assert document["file_sha256"] == sha256_of(target)
    assert document["source"] == {"spec": "2.13.keras", "sha256": sha256_of(tmp_path / "m.keras")}
    assert [s["step"] for s in document["steps"]] == [
        "2.13.keras->2.13.h5@tf213",
        "2.13.h5->2.15.h5@tf215",
        "2.15.h5->2.16-repaired.keras@tf216-keras33",
    ]
    assert document["steps"][-1]["repair_rules"] == {"rnn-time-major": ["model/m/lstm"]}
    assert document["import_before_loading"] == ["harness.keras.legacy_layers"]
    assert summary(written) == (
        "m (repaired in tf221, 1 runner): evaluate pass, load pass, metrics pass, "
        "optimizer-state limitation:optimizer-state-lost, predict pass"
    )


def test_an_unverified_route_writes_nothing(tmp_path: Path) -> None:
    registry, build = project(tmp_path)
    config = load_config(ROOT / "harness.toml")
    with pytest.raises(HarnessError) as info:
        migrate(
            config,
            registry,
            build,
            cells(predict="mismatch"),
            "m",
            "tf221",
            "repaired",
            tmp_path / "out",
        )
    assert str(info.value) == (
        "Model 'm' is not verified on route 'repaired' in tf221: predict mismatch. Fix: look at "
        "these cells (keras-harness routes, build/matrix/matrix.html); nothing was written."
    )
    assert not (tmp_path / "out").exists()
