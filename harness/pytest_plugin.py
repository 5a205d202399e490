"""The pytest plugin: options, parametrization over registered models, results files.

Thin by design: the checks live in :mod:`harness.verify`, golden recording in
:mod:`harness.recorder`. The plugin only does something for tests that ask for ``harness_item``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError
from harness.results import Cell

if TYPE_CHECKING:
    from harness.verify import Verdict

DEFAULT_REGISTRY = "build/models/model_registry.json"
DEFAULT_BUILD_DIR = "build"
_VERIFIER = pytest.StashKey[Any]()
_CELLS = pytest.StashKey[list[Cell]]()
_GENERATED = pytest.StashKey[int]()
_RAN = pytest.StashKey[int]()


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


def _verifier(config: pytest.Config) -> Any:
    if _VERIFIER in config.stash:
        return config.stash[_VERIFIER]
    from harness.config import load_config
    from harness.limitations import load_catalogue
    from harness.registry import Registry
    from harness.verify import Verifier

    root = Path(config.invocation_params.dir)
    env = config.getoption("harness_env") or os.environ.get("HARNESS_ENV")
    try:
        harness_config = load_config(
            root / _option(config, "harness_config", "HARNESS_CONFIG", None, "harness.toml")
        )
        if not env:
            from harness import runtime

            env = runtime.infer_environment(
                {e.name: (e.version, e.keras) for e in harness_config.environments.values()}
            )
        if not env:
            raise pytest.UsageError(
                "keras-harness: no environment given and none matches the installed "
                "TensorFlow. Fix: run through tox (tox -e tf216) or pass --harness-env NAME "
                "(or set HARNESS_ENV)."
            )
        registry = Registry.load(
            root
            / _option(
                config, "harness_registry", "HARNESS_REGISTRY", "harness_registry", DEFAULT_REGISTRY
            )
        )
        catalogue = load_catalogue(
            root
            / _option(
                config, "harness_limitations", "HARNESS_LIMITATIONS", None, "limitations.toml"
            )
        )
        build_dir = root / _option(
            config, "harness_build_dir", "HARNESS_BUILD_DIR", "harness_build_dir", DEFAULT_BUILD_DIR
        )
        harness_config.environment(env)
        for model in config.getoption("harness_models"):
            registry.get(model)
        verifier = Verifier(
            config=harness_config,
            registry=registry,
            catalogue=catalogue,
            env=env,
            build_dir=build_dir,
        )
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None
    config.stash[_VERIFIER] = verifier
    config.stash[_CELLS] = []
    config.stash[_GENERATED] = 0
    config.stash[_RAN] = 0
    return verifier


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness_item" not in metafunc.fixturenames:
        return
    verifier = _verifier(metafunc.config)
    items = verifier.items(metafunc.config.getoption("harness_models") or None)
    metafunc.config.stash[_GENERATED] += len(items)
    metafunc.parametrize("harness_item", items, ids=[item.id for item in items])


@pytest.fixture
def harness_verifier(request: pytest.FixtureRequest) -> Any:
    """The session's :class:`~harness.verify.Verifier` (models loaded once per process)."""
    return _verifier(request.config)


@pytest.fixture
def harness_check(request: pytest.FixtureRequest, harness_verifier: Any) -> Any:
    """Run one item: record its cell, fail the test when the cell is not acceptable."""
    config = request.config

    def run(item: Any) -> Cell | None:
        config.stash[_RAN] += 1
        if item.check == "golden":
            from harness.recorder import check_golden

            mode = (
                "regen-all"
                if config.getoption("harness_golden_regen_all")
                else "regen"
                if config.getoption("harness_golden_regen")
                else None
            )
            try:
                ok, message = check_golden(harness_verifier, item.model, mode)
            except HarnessError as exc:
                ok, message = False, str(exc)
            if not ok:
                pytest.fail(message, pytrace=False)
            return None
        verdict: Verdict = harness_verifier.run(item)
        config.stash[_CELLS].append(verdict.cell)
        if not verdict.ok:
            pytest.fail(verdict.message, pytrace=False)
        return verdict.cell

    return run


def pytest_runtestloop(session: pytest.Session) -> None:
    """Before running any harness item, refuse a Python environment that is not the named one."""
    config = session.config
    if config.option.collectonly or _VERIFIER not in config.stash:
        return
    from harness import runtime

    verifier = config.stash[_VERIFIER]
    try:
        runtime.check_environment(verifier.env.version, verifier.env.name)
    except HarnessError as exc:
        raise pytest.UsageError(f"keras-harness: {exc}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    env = config.getoption("harness_env") or os.environ.get("HARNESS_ENV")
    return [f"keras-harness: environment {env}"] if env else []


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _CELLS not in config.stash or not config.stash[_CELLS]:
        return
    from harness.results import merge_into, results_path, write_results
    from harness.runtime import versions

    verifier = config.stash[_VERIFIER]
    cells: list[Cell] = config.stash[_CELLS]
    build_dir = verifier.build_dir
    device = verifier.device[0]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    path = results_path(build_dir / "results", verifier.env.name, device, worker)
    complete = config.stash[_RAN] == config.stash[_GENERATED] and not session.shouldstop
    run = {"versions": versions(), "device_name": verifier.device[1], "complete": complete}
    if complete:
        from harness.atomic import lock_for

        with lock_for(path):
            write_results(path, env=verifier.env.name, device=device, run=run, cells=cells)
    else:
        merge_into(path, env=verifier.env.name, device=device, run=run, cells=cells)
