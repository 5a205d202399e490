"""Concurrent writers of one results file (tox -p plus xdist workers): 8 processes x 100
updates lose nothing. (The registry has no writer: it is the user's, read-only to the harness.)"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from harness.core.results import Cell, merge_into, read_results

PROCESSES = 8
UPDATES = 100


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


def test_results_lose_no_cell(tmp_path: Path) -> None:
    path = tmp_path / "results" / "tf216-cpu.json"
    run_all(_results_writer, path)
    cells = read_results(path)
    assert len(cells) == PROCESSES * UPDATES
    assert len({cell.key for cell in cells}) == PROCESSES * UPDATES
