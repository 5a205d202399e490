"""How a session is spread over processes: workers from cores and memory, batches of models
(no TensorFlow)."""

from __future__ import annotations

import pytest

from harness.core.errors import HarnessError
from harness.verify.processes import Batch, batches, models_per_process, worker_mb, workers


def test_workers_follow_the_cores_and_the_memory() -> None:
    assert workers(16, 64_000, 1500) == 16  # cores bound it
    assert workers(16, 6_000, 1500) == 4  # memory bounds it
    assert workers(16, 1_000, 1500) == 1  # never fewer than one
    assert workers(2, None, 1500) == 2  # memory unknown: the cores


def test_a_bad_worker_size_names_the_fix() -> None:
    assert worker_mb(None) == worker_mb("") == 1500
    assert worker_mb("2000") == 2000
    with pytest.raises(HarnessError) as caught:
        worker_mb("0")
    assert str(caught.value) == (
        "HARNESS_WORKER_MB must be a whole number of megabytes above 0. Received: '0'. Fix: set "
        "it to a worker's peak memory, e.g. HARNESS_WORKER_MB=2000."
    )


def test_batches_of_consecutive_models_cover_each_model_once() -> None:
    models = [f"m{i:03d}" for i in range(103)]
    count = batches(len(models), 40)
    assert count == 3
    parts = [Batch(i, count).models(list(reversed(models))) for i in (1, 2, 3)]
    assert [len(p) for p in parts] == [34, 34, 35]
    assert [m for part in parts for m in part] == models
    assert batches(40, 40) == batches(3, 0) == batches(0, 40) == 1


def test_models_per_process_and_batch_errors() -> None:
    assert models_per_process(None) == 100 and models_per_process("0") == 0
    with pytest.raises(HarnessError) as caught:
        models_per_process("many")
    assert str(caught.value) == (
        "--models-per-process must be a whole number (0: every model in one process). Received: "
        "'many'. Fix: pass e.g. --models-per-process 40."
    )
    with pytest.raises(HarnessError) as caught:
        Batch.parse("3/2")
    assert str(caught.value) == (
        "Bad batch '3/2': expected I/K with 1 <= I <= K. Fix: leave --harness-batch to the "
        "harness (it runs each batch in its own process)."
    )
