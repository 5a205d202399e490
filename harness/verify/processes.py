"""How one environment's verification is spread over processes (TF-free): xdist workers sized
from the cores and the memory, each model's items kept in one worker, and successive processes
of at most ``--models-per-process`` models.

TensorFlow does not give back all the memory of a model it loaded. The largest part, the graph
of each traced train step that TensorFlow's gradient registry kept (about 2 MB per model), is
now dropped when the session moves to the next model
(:func:`harness.keras.formats.forget_custom_gradients`), and a worker no longer keeps pytest's
passing reports; measured in TF 2.16 / Keras 3.15 on 100 copies of dense_regression in one
process, what stays is about 0.45 MB per model (five routes each; 1.85 MB with a bare loop
before). A process that verifies 300 models would still hold about 120 MB more than one that
verifies 30, so the session runs its models in batches of consecutive models, each in a fresh
process (the first replaces the results file, the next ones add to it: together exactly one
run's cells).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from harness.core.errors import HarnessError
from harness.core.sharding import fraction

#: a verification worker's peak memory, for ``-n auto`` (``HARNESS_WORKER_MB`` overrides it): a
#: worker holds one model at a time, and TensorFlow with a loaded embedded case peaked under 1 GB
WORKER_MB = 1500
#: models per process by default (``--models-per-process``, ``HARNESS_MODELS_PER_PROCESS``):
#: about 0.45 MB each stays behind, and each new process costs one TensorFlow import (~5 s)
MODELS_PER_PROCESS = 100


def workers(cores: int, available: int | None, per_worker: int) -> int:
    """Workers for ``cores`` cores and ``available`` MB of memory (None: unknown)."""
    by_memory = cores if available is None else available // max(per_worker, 1)
    return max(1, min(cores, by_memory))


def worker_mb(value: str | None) -> int:
    """``HARNESS_WORKER_MB`` (None or empty: :data:`WORKER_MB`)."""
    if not value:
        return WORKER_MB
    if not value.isdigit() or int(value) == 0:
        raise HarnessError(
            f"HARNESS_WORKER_MB must be a whole number of megabytes above 0. Received: "
            f"{value!r}. Fix: set it to a worker's peak memory, e.g. HARNESS_WORKER_MB=2000."
        )
    return int(value)


def available_mb() -> int | None:
    """MemAvailable of ``/proc/meminfo`` in MB (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def models_per_process(value: str | None) -> int:
    """``--models-per-process`` / ``HARNESS_MODELS_PER_PROCESS`` (0: all in one process)."""
    if value is None or value == "":
        return MODELS_PER_PROCESS
    if not value.isdigit():
        raise HarnessError(
            f"--models-per-process must be a whole number (0: every model in one process). "
            f"Received: {value!r}. Fix: pass e.g. --models-per-process 40."
        )
    return int(value)


@dataclass(frozen=True)
class Batch:
    """Batch ``index`` (1-based) of ``count``: consecutive models of the sorted list."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Batch:
        found = fraction(text)
        if found is None:
            raise HarnessError(
                f"Bad batch {text!r}: expected I/K with 1 <= I <= K. Fix: leave --harness-batch "
                f"to the harness (it runs each batch in its own process)."
            )
        return cls(*found)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def models(self, models: Sequence[str]) -> list[str]:
        """This batch's share of ``models`` (sorted): consecutive, sizes differing by one."""
        ordered = sorted(models)
        start = (self.index - 1) * len(ordered) // self.count
        end = self.index * len(ordered) // self.count
        return ordered[start:end]


def batches(models: int, per_process: int) -> int:
    """How many processes verify ``models`` models, at most ``per_process`` each."""
    if per_process <= 0 or models <= per_process:
        return 1
    return math.ceil(models / per_process)


def run_batches(args: Sequence[str], count: int) -> int:
    """Run ``pytest ARGS --harness-batch I/count`` for each batch, one after another, each in a
    fresh process; the exit status: the first that is neither 0, 1 (failing checks) nor 5 (an
    empty batch), else 1 if any batch failed, else 0."""
    codes = []
    for index in range(1, count + 1):
        command = [sys.executable, "-m", "pytest", *args, "--harness-batch", f"{index}/{count}"]
        print(f"keras-harness: batch {index}/{count}: {' '.join(command[3:])}", flush=True)
        codes.append(subprocess.run(command, env=dict(os.environ), check=False).returncode)
    worst = [code for code in codes if code not in (0, 1, 5)]
    if worst:
        return worst[0]
    if 1 in codes:
        return 1
    return 0 if 0 in codes else 5
