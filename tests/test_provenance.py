"""A cell's lineage hashes: a hop whose step recorded the hash of the very file is not hashed
again; a file changed since (size or modification time) is."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from harness.convert.records import StepRecord, step_record_path
from harness.core.config import load_config
from harness.core.golden import sha256_of
from harness.core.locations import converted_path
from harness.core.registry import Registry
from harness.verify.provenance import Lineage

ROOT = Path(__file__).parent.parent
RECORDED = "f" * 64  # not the file's hash: shows that the record was used


def project(tmp_path: Path) -> tuple[Registry, Path, Path]:
    models = tmp_path / "models"
    models.mkdir()
    (models / "m.keras").write_bytes(b"source")
    build = tmp_path / "build"
    h5 = converted_path(build, "m", "2.13.h5")
    h5.parent.mkdir(parents=True)
    h5.write_bytes(b"converted")
    registry = models / "model_registry.json"
    registry.write_text(json.dumps({"models": {"m": {"paths": {"2.13.keras": "models/m.keras"}}}}))
    stat = h5.stat()
    record = StepRecord(
        "m",
        "2.13.keras->2.13.h5@tf213",
        "tf213",
        "ok",
        output_sha256=RECORDED,
        output=str(h5),
        output_size=stat.st_size,
        output_mtime_ns=stat.st_mtime_ns,
    )
    path = step_record_path(build, "m", "2.13.h5")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(asdict(record)))
    return Registry.load(registry), h5, build


def test_a_recorded_hash_is_reused_while_the_file_is_unchanged(tmp_path: Path) -> None:
    registry, _, build = project(tmp_path)
    config = load_config(ROOT / "harness.toml")
    hops = Lineage(config, registry, build).hops("m", config.routes["direct-h5"])
    assert [(hop["spec"], hop["env"]) for hop in hops] == [
        ("2.13.keras", "source"),
        ("2.13.h5", "tf213"),
    ]
    assert hops[0]["sha256"] == sha256_of(tmp_path / "models/m.keras")
    assert hops[1]["sha256"] == RECORDED


def test_a_file_changed_since_its_step_is_hashed_again(tmp_path: Path) -> None:
    registry, h5, build = project(tmp_path)
    h5.write_bytes(b"converted, then changed")
    os.utime(h5, ns=(h5.stat().st_atime_ns, h5.stat().st_mtime_ns + 1))
    config = load_config(ROOT / "harness.toml")
    hops = Lineage(config, registry, build).hops("m", config.routes["direct-h5"])
    assert hops[1]["sha256"] == sha256_of(h5) != RECORDED
