"""The pytest plugin's hooks that spread a verification session over processes: xdist workers
sized from the cores and the memory (``-n auto``), each model's items in one worker, and batches
of at most ``--models-per-process`` models in successive processes. Registered by
:mod:`harness.pytest_plugin` (its ``pytest_plugins``); the logic is
:mod:`harness.verify.processes`."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness import pytest_plugin as plugin
from harness.core.errors import HarnessError


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # xdist's hook; works without xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (``HARNESS_WORKERS=auto`` through tox): as many workers as cores, and no more
    than the available memory holds at ``HARNESS_WORKER_MB`` (default 1500) each."""
    if not plugin._env_name(config):
        return None  # not a harness session: xdist's own choice
    from harness.verify import processes

    try:
        per_worker = processes.worker_mb(os.environ.get("HARNESS_WORKER_MB"))
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None
    return processes.workers(os.cpu_count() or 1, processes.available_mb(), per_worker)


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # xdist's hook; works without xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With several workers (``-n 2``, ``-n auto``) and xdist's default distribution: each
    model's items go to one worker, in order, so each (model, route) is loaded once and a worker
    holds one model at a time (the test ids stay as they are)."""
    from xdist.scheduler import LoadScopeScheduling
    from xdist.workermanage import parse_tx_spec_config

    if config.getvalue("dist") != "load" or len(parse_tx_spec_config(config)) < 2:
        return None
    if plugin._harness_session(config) is None:
        return None
    models = {f"[{item.id}]": item.model for item in plugin._items(config)}

    class ByModel(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return str(models.get(nodeid[nodeid.rfind("[") :], nodeid))

    return ByModel(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """A harness session of more models than ``--models-per-process`` runs them in batches of
    consecutive models, each in a fresh pytest process (:mod:`harness.verify.processes`)."""
    if plugin._is_worker(config) or config.option.collectonly or config.getoption("harness_batch"):
        return None
    if not plugin._env_name(config):
        return None
    from harness.verify import processes

    try:
        per_process = processes.models_per_process(
            config.getoption("harness_per_process") or os.environ.get("HARNESS_MODELS_PER_PROCESS")
        )
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None
    models = {item.model for item in plugin._items(config)}
    count = processes.batches(len(models), per_process)
    if count == 1:
        return None
    return processes.run_batches(list(config.invocation_params.args), count)
