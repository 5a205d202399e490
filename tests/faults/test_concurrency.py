"""Concurrent writers (tox -p plus xdist workers): 8 processes x 100 updates lose nothing."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from harness.core.registry import Registry
from harness.core.results import Cell, merge_into, read_results
from harness.core.specs import Spec

PROCESSES = 8
UPDATES = 100


def _registry_writer(path: str, worker: int) -> None:
    registry = Registry.load(path)
    for n in range(UPDATES):
        model = f"w{worker}-m{n}"
        registry.record_path(
            model, Spec.parse("2.13.h5"), Path(path).parent / f"2.13.h5/{model}.h5"
        )


def _results_writer(path: str, worker: int) -> None:
    for n in range(UPDATES):
        cell = Cell(
            model=f"w{worker}",
            env="tf216",
            device="cpu",
            route="chain",
            spec="2.16.keras",
            check=f"c{n}",
            status="pass",
        )
        merge_into(Path(path), env="tf216", device="cpu", run={}, cells=[cell])


def run_all(target: object, path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=target, args=(str(path), w)) for w in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0


def test_registry_loses_no_update(tmp_path: Path) -> None:
    path = tmp_path / "models" / "model_registry.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"models": {}, "note": "kept"}))
    run_all(_registry_writer, path)
    data = json.loads(path.read_text())
    assert len(data["models"]) == PROCESSES * UPDATES and data["note"] == "kept"
    assert Registry.load(path).resolve("w7-m99", "2.13.h5") == tmp_path / "models/2.13.h5/w7-m99.h5"


def test_results_lose_no_cell(tmp_path: Path) -> None:
    path = tmp_path / "results" / "tf216-cpu.json"
    run_all(_results_writer, path)
    cells = read_results(path)
    assert len(cells) == PROCESSES * UPDATES
    assert len({cell.key for cell in cells}) == PROCESSES * UPDATES
