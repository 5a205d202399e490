"""The pytest plugin: options, parametrization over registered models, results files.

Thin by design: the checks live in :mod:`harness.verify` (the session in
:mod:`harness.verify.session`), golden recording in :mod:`harness.source.recorder`. The plugin only
does something for tests that ask for ``harness_item``.

A failing check is one line (see :mod:`harness.verify.classify`). pytest's own ``-v``
(``--verbose``), or ``HARNESS_VERBOSE=1``, adds its full explanation (every limitation that
applies, with its evidence) and lets TensorFlow's start-up noise through
(:mod:`harness.keras.noise`), which is otherwise silenced.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.core.errors import HarnessError
from harness.core.results import Cell
from harness.keras import noise

if TYPE_CHECKING:
    pass

#: the hooks that spread a session over processes (xdist workers, batches of models)
pytest_plugins = ("harness.pytest_processes",)

DEFAULT_REGISTRY = "build/models/model_registry.json"
DEFAULT_BUILD_DIR = "build"
_VERIFIER = pytest.StashKey[Any]()
_STARTED = pytest.StashKey[float]()
_CRASHED = pytest.StashKey[list[Cell]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keras-harness", "keras-harness model verification")
    group.addoption(
        "--registry",
        dest="harness_registry",
        default=None,
        help="model registry (default: $HARNESS_REGISTRY or the ini value)",
    )
    group.addoption(
        "--model",
        dest="harness_models",
        action="append",
        default=[],
        metavar="ID",
        help="verify only this model id (repeatable)",
    )
    group.addoption(
        "--shard",
        dest="harness_shard",
        default=None,
        metavar="K/N",
        help="verify only the models of shard K of N, to split an environment across N jobs "
        "(default: $HARNESS_SHARD; every model)",
    )
    group.addoption(
        "--models-per-process",
        dest="harness_per_process",
        default=None,
        metavar="N",
        help="verify at most N models per process, in successive processes (default: "
        "$HARNESS_MODELS_PER_PROCESS, else 100; 0: all in one)",
    )
    group.addoption(
        "--harness-batch",
        dest="harness_batch",
        default=None,
        metavar="I/K",
        help="(set by the harness) verify batch I of K of the models, in this process",
    )
    group.addoption(
        "--harness-env",
        dest="harness_env",
        default=None,
        metavar="NAME",
        help="the environment being verified (default: $HARNESS_ENV)",
    )
    group.addoption(
        "--harness-config",
        dest="harness_config",
        default=None,
        help="harness configuration file (default: harness.toml)",
    )
    group.addoption(
        "--limitations",
        dest="harness_limitations",
        default=None,
        help="limitations catalogue (default: limitations.toml)",
    )
    group.addoption(
        "--build-dir",
        dest="harness_build_dir",
        default=None,
        help="folder for converted models, step records and results (default: build)",
    )
    group.addoption(
        "--golden-regen",
        dest="harness_golden_regen",
        action="store_true",
        help="rewrite goldens in the source environment; their tests fail",
    )
    group.addoption(
        "--golden-regen-all",
        dest="harness_golden_regen_all",
        action="store_true",
        help="rewrite goldens in the source environment; their tests pass",
    )
    parser.addini("harness_registry", "default model registry", default=DEFAULT_REGISTRY)
    parser.addini("harness_build_dir", "default build folder", default=DEFAULT_BUILD_DIR)


def _option(config: pytest.Config, name: str, env_var: str, ini: str | None, default: str) -> str:
    value = config.getoption(name) or os.environ.get(env_var)
    if value:
        return str(value)
    if ini is not None:
        return str(config.getini(ini) or default)
    return default


def _verbose(config: pytest.Config) -> bool:
    """pytest's ``-v``, or ``HARNESS_VERBOSE=1``."""
    return int(config.getoption("verbose", 0) or 0) > 0 or noise.verbose()


def screen_message(message: str, *, verbose: bool) -> str:
    """What a failing check shows: its first line, at most 250 characters, or all of it when
    verbose (the further lines explain it)."""
    from harness.core.lines import LINE_LIMIT, shorten

    return message if verbose else shorten(message.split("\n", 1)[0], LINE_LIMIT)


def _env_name(config: pytest.Config) -> str | None:
    """The environment named by ``--harness-env`` or ``HARNESS_ENV`` (None: not a harness
    session, or one that infers it from the installed TensorFlow)."""
    return config.getoption("harness_env") or os.environ.get("HARNESS_ENV") or None


def _verifier(config: pytest.Config) -> Any:
    if _VERIFIER in config.stash:
        return config.stash[_VERIFIER]
    from harness.verify.engine import open_session

    root = Path(config.invocation_params.dir)
    try:
        verifier = open_session(
            env=_env_name(config),
            config=root / _option(config, "harness_config", "HARNESS_CONFIG", None, "harness.toml"),
            registry=root
            / _option(
                config, "harness_registry", "HARNESS_REGISTRY", "harness_registry", DEFAULT_REGISTRY
            ),
            limitations=root
            / _option(
                config, "harness_limitations", "HARNESS_LIMITATIONS", None, "limitations.toml"
            ),
            build_dir=root
            / _option(
                config,
                "harness_build_dir",
                "HARNESS_BUILD_DIR",
                "harness_build_dir",
                DEFAULT_BUILD_DIR,
            ),
            models=config.getoption("harness_models"),
        )
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None
    config.stash[_VERIFIER] = verifier
    return verifier


def _shard(config: pytest.Config) -> Any:
    """``--shard K/N`` (or ``$HARNESS_SHARD``) as a :class:`~harness.core.sharding.Shard`, or
    None."""
    from harness.core.sharding import Shard

    text = config.getoption("harness_shard") or os.environ.get("HARNESS_SHARD")
    if not text:
        return None
    try:
        return Shard.parse(str(text))
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None


def _items(config: pytest.Config) -> list[Any]:
    """The items of this session: its models (``--model``), shard and batch."""
    verifier = _verifier(config)
    items = verifier.items(config.getoption("harness_models") or None, _shard(config))
    text = config.getoption("harness_batch")
    if not text:
        return list(items)
    from harness.verify.processes import Batch

    try:
        batch = Batch.parse(str(text))
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None
    chosen = set(batch.models(sorted({item.model for item in items})))
    return [item for item in items if item.model in chosen]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness_item" not in metafunc.fixturenames:
        return
    items = _items(metafunc.config)
    metafunc.parametrize("harness_item", items, ids=[item.id for item in items])


@pytest.fixture
def harness_verifier(request: pytest.FixtureRequest) -> Any:
    """The session's :class:`~harness.verify.session.Verifier` (models loaded once per process)."""
    return _verifier(request.config)


@pytest.fixture
def harness_check(request: pytest.FixtureRequest, harness_verifier: Any) -> Any:
    """Run one item: record its cell, fail the test when the cell is not acceptable."""
    config = request.config

    def run(item: Any) -> Cell | None:
        from harness.keras import runtime
        from harness.verify.engine import perform_check

        with contextlib.suppress(Exception):  # a broken install is the check's own observation
            runtime.import_keras()  # quietly, before a custom object's module imports it
        ok, message, cell = perform_check(
            harness_verifier, item, golden_mode=_golden_mode(config), timeout=_timeout(config)
        )
        if not ok:
            pytest.fail(screen_message(message, verbose=_verbose(config)), pytrace=False)
        return cell

    return run


def pytest_runtestloop(session: pytest.Session) -> None:
    """Before running any harness item, refuse a Python environment that is not the named one."""
    config = session.config
    if config.option.collectonly or _VERIFIER not in config.stash:
        return
    from harness.keras import runtime

    verifier = config.stash[_VERIFIER]
    try:
        env = verifier.env
        runtime.check_environment(env.version, env.name, env.pins, env.backend)
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    env = _env_name(config)
    if not env:
        return []
    shard = _shard(config)
    return [f"keras-harness: environment {env}" + (f", shard {shard}" if shard else "")]


def _golden_mode(config: pytest.Config) -> str | None:
    if config.getoption("harness_golden_regen_all"):
        return "regen-all"
    return "regen" if config.getoption("harness_golden_regen") else None


def _timeout(config: pytest.Config) -> float | None:
    """The per-check timeout of pytest-timeout, when it is installed and set."""
    try:
        value = config.getoption("timeout")
    except ValueError:
        return None
    return float(value) if value else None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _harness_session(config: pytest.Config) -> Any:
    """The verifier, in the process that started the session, when it verifies models."""
    if _VERIFIER in config.stash:
        return config.stash[_VERIFIER]
    if not _env_name(config):
        return None
    try:
        return _verifier(config)
    except pytest.UsageError:
        return None


def pytest_sessionstart(session: pytest.Session) -> None:
    import time

    session.config.stash[_STARTED] = time.time()
    session.config.stash[_CRASHED] = []


class _CrashRecorder:
    """In the process that started the session: a check whose pytest-xdist worker died (a crash,
    a timeout, an out-of-memory kill) becomes an error cell of its own."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if str(report.when) != "???" or not report.failed:  # xdist's crashed-worker report
            return
        verifier = _harness_session(self.config)
        if verifier is None:
            return
        from harness.verify.shards import crash_cell

        item_id = report.nodeid.rsplit("[", 1)[-1].rstrip("]")
        cell = crash_cell(verifier.build_dir / "results", item_id, verifier.env.name)
        if cell is not None:
            self.config.stash[_CRASHED].append(cell)


class _WorkerReports:
    """In a pytest-xdist worker of a harness session: pytest's terminal reporter keeps every
    report it is shown (three per check) for a summary that only the controller prints: about
    395 objects per model of 30 checks. A passing report is let go of once the reporter has
    counted it; xdist has already sent it to the controller, which keeps its own copy."""

    def __init__(self, config: pytest.Config):
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.passed:
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        for kept in getattr(reporter, "stats", {}).values():
            if kept and kept[-1] is report:
                kept.pop()


def pytest_configure(config: pytest.Config) -> None:
    verbose = _verbose(config)
    noise.set_verbose(verbose)  # for the TensorFlow import of this process
    if not verbose:  # pytest applies its own filters to each test
        for line in noise.pytest_filters():
            config.addinivalue_line("filterwarnings", line)
    if not _is_worker(config):
        config.pluginmanager.register(_CrashRecorder(config), "keras-harness-crashes")
    elif _env_name(config):
        config.pluginmanager.register(_WorkerReports(config), "keras-harness-worker-reports")


def pytest_unconfigure(config: pytest.Config) -> None:
    noise.set_verbose(None)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """After failures of a harness session, say how to see their full explanation."""
    harness = _env_name(config)
    if harness and terminalreporter.stats.get("failed") and not _verbose(config):
        terminalreporter.write_line(
            "keras-harness: -v (or HARNESS_VERBOSE=1) shows each failure's full explanation "
            "(every limitation that applies, with its evidence) and TensorFlow's log"
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In the process that started the session: merge this session's shards into the results."""
    config = session.config
    if _VERIFIER in config.stash:  # this process made cells: they are on disk before the merge
        from harness.verify.shards import sync_shards

        sync_shards()
    if _is_worker(config) or config.option.collectonly:
        return
    verifier = _harness_session(config)
    if verifier is None:
        return
    shard = _shard(config)
    if shard is not None and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        if not _items(config):  # a shard that holds none of the models has nothing to fail
            session.exitstatus = pytest.ExitCode.OK
    results_dir = verifier.build_dir / "results"
    if not results_dir.exists():
        return
    from harness.keras.runtime import versions
    from harness.verify.shards import consolidate

    filtered = bool(
        config.option.keyword
        or config.option.markexpr
        or config.getoption("harness_models")
        or config.getoption("deselect", None)
        or config.getoption("lf", False)
    )
    complete = not filtered and not session.shouldstop
    batch = config.getoption("harness_batch")
    if batch and not str(batch).startswith("1/"):  # a later batch adds to the first one's file
        complete = False
    consolidate(
        results_dir,
        verifier.env.name,
        since=config.stash.get(_STARTED, 0.0),
        complete=complete,
        extra=config.stash.get(_CRASHED, []),
        run={
            "versions": versions(),
            "complete": complete,
            **({"shard": str(shard)} if shard else {}),
        },
        shard=shard.label if shard else "",
    )
