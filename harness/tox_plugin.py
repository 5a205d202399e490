"""tox's plugin: the TensorFlow environments come from ``harness.toml``, not ``tox.ini``.

Each line of ``[environments]`` in ``harness.toml`` becomes a tox environment with its
description, labels (``keras2``/``keras3``, ``verify``, ``verify-only``), ``depends`` (the
environments that write the files it reads) and ``deps`` (``requirements/<env>.txt``). They are
placed before ``tox.ini``'s own ``env_list`` (the ``matrix`` gate), and ``matrix`` depends on all
of them. ``tox.ini``'s ``[testenv]`` gives their commands and settings; a ``[testenv:<env>]``
section may add to them. The logic is :mod:`harness.toxenvs` (standard library only).

An environment that writes files (a step, or the source's cases) also gets ``<env>-step`` (label
``step``): its lock in a venv of its own, running only ``keras-harness convert``. When the step
environments run too (``tox``/``tox p`` on the env_list, ``-e ALL``, or ``-e`` naming one), every
environment depends on the step environments only, not on another's verification, and they are
queued longest first by their last run's seconds on this machine (``.tox/.harness-seconds.json``,
written after each run): the chain of steps first, then every verification side by side. A
selection without them (``tox -e tf213,tf216``, ``-m verify``) keeps the depends between the
environments themselves, each running its own steps.

Two ways in, one plugin:

- installed (the ``tox`` entry point of the package, e.g. through ``tox.ini``'s ``requires`` in a
  project that ``keras-harness init`` set up): the project is the nearest folder, from the
  working directory up, that holds ``harness.toml`` beside ``tox.ini``; where there is none, the
  plugin adds nothing;
- in-tree (the harness's own checkout): ``toxfile.py`` builds a :class:`Plugin` for its folder,
  and only when the installed plugin is not loaded too.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet, EnvConfigSet
from tox.config.types import EnvList
from tox.execute.api import Outcome
from tox.plugin import impl
from tox.session.state import State
from tox.tox_env.api import ToxEnv as TheirEnv

from harness.core.config import Config, load_config
from harness.core.errors import HarnessError
from harness.toxenvs import STEP_SUFFIX, ToxEnv, main_job, torch_find_links, tox_envs

GATE = "matrix"  # the tox.ini environment that merges every environment's results
ENTRY_POINT = "keras_harness"  # this module's name in the ``tox`` entry-point group
SECONDS = ".harness-seconds.json"  # in tox's work_dir: each environment's last run, in seconds
_SECONDS_LOCK = threading.Lock()  # tox p runs environments in threads of one process


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder from ``start`` (the working directory) up that holds ``harness.toml``
    beside ``tox.ini`` (``$HARNESS_CONFIG`` names the file instead)."""
    named = os.environ.get("HARNESS_CONFIG")
    if named:
        return Path(named).resolve().parent
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "harness.toml").is_file() and (folder / "tox.ini").is_file():
            return folder
    return None


class Plugin:
    """The hooks for the project at ``root`` (None: a project without harness.toml)."""

    def __init__(self, root: Path | None):
        self.root = root
        self._config: Config | None = None
        self._envs: list[ToxEnv] | None = None
        self._listed: list[ToxEnv] = []

    @property
    def config(self) -> Config | None:
        """harness.toml, read once (None: a project without one)."""
        if self._config is None and self.root is not None:
            try:
                self._config = load_config(self.root / "harness.toml")
            except HarnessError as exc:
                raise SystemExit(f"keras-harness tox plugin: {exc}") from None
        return self._config

    @property
    def envs(self) -> list[ToxEnv]:
        """The environments of harness.toml, each with its own steps."""
        if self._envs is None:
            config = self.config
            self._envs = [] if config is None or self.root is None else tox_envs(config, self.root)
        return self._envs

    def main_job(self, seconds: dict[str, float]) -> list[ToxEnv]:
        """The step environments, then every environment depending on them only."""
        config = self.config
        return [] if config is None or self.root is None else main_job(config, self.root, seconds)

    @impl
    def tox_extend_envs(self) -> Iterable[str]:
        return [env.name for env in self.main_job({})]

    @impl
    def tox_add_core_config(self, core_conf: ConfigSet, state: State) -> None:
        if not self.envs:
            return
        job = self.main_job(read_seconds(Path(core_conf["work_dir"])))
        steps = job[: len(job) - len(self.envs)]
        self._listed = job if runs_steps(state) else steps + self.envs
        core_conf["env_list"].envs[:0] = [env.name for env in job]
        for env in self._listed:
            loader: dict[str, Any] = {
                "description": env.description,
                "labels": list(env.labels),
                "depends": EnvList(list(env.depends)),
                "deps": list(env.deps),
            }
            if env.commands:
                loader["commands"] = list(env.commands)
            state.conf.memory_seed_loaders[env.name].append(MemoryLoader(**loader))
        state.conf.memory_seed_loaders[GATE].append(
            MemoryLoader(depends=EnvList([env.name for env in self._listed]))
        )

    @impl
    def tox_add_env_config(self, env_conf: EnvConfigSet, state: State) -> None:
        env = next((e for e in self._listed if e.name == env_conf.name), None)
        env_conf.add_config(
            keys=["harness_legacy_keras"],
            of_type=str,
            default="1" if env is not None and env.legacy else "0",
            desc="TF_USE_LEGACY_KERAS for this environment (1 where harness.toml pins tf_keras)",
        )
        env_conf.add_config(
            keys=["harness_keras_backend"],
            of_type=str,
            default=env.backend if env is not None else "tensorflow",
            desc="KERAS_BACKEND for this environment (harness.toml's backend: jax, torch)",
        )
        if env is not None and env.backend == "torch" and not os.environ.get("UV_FIND_LINKS"):
            # torch's CPU build is not on PyPI: the install (and tox -e pin) needs its wheels
            env_conf["set_env"].update({"UV_FIND_LINKS": torch_find_links()})
        env_conf.add_config(
            keys=["harness_env"],
            of_type=str,
            default=env.base if env is not None else env_conf.name,
            desc="HARNESS_ENV: the harness environment (a step environment's is its base's)",
        )

    @impl
    def tox_after_run_commands(
        self, tox_env: TheirEnv, exit_code: int, outcomes: list[Outcome]
    ) -> None:
        if exit_code != 0 or not any(env.name == tox_env.name for env in self._listed):
            return
        spent = sum(outcome.end - outcome.start for outcome in outcomes)
        write_seconds(Path(tox_env.core["work_dir"]), tox_env.name, spent)


def runs_steps(state: State) -> bool:
    """Whether this tox run selects the step environments: the env_list, ``-e ALL``, or ``-e``
    naming one of them (not ``-m``/``-f``, which select environments by label or factor)."""
    options = state.conf.options
    chosen = getattr(options, "env", None)
    if getattr(options, "labels", None) or getattr(options, "factors", None):
        return False
    if chosen is None or chosen.is_all or chosen.is_default_list:
        return True
    return any(name.endswith(STEP_SUFFIX) for name in chosen)


def read_seconds(work_dir: Path) -> dict[str, float]:
    """The seconds each environment's commands took in its last successful run here; empty when
    none was recorded or the file is unreadable (it only orders the queue)."""
    try:
        data = json.loads((work_dir / SECONDS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def write_seconds(work_dir: Path, name: str, spent: float) -> None:
    with _SECONDS_LOCK:
        seconds = read_seconds(work_dir)
        seconds[name] = round(spent, 1)
        work_dir.mkdir(parents=True, exist_ok=True)
        temp = work_dir / f"{SECONDS}.{os.getpid()}.tmp"
        temp.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temp, work_dir / SECONDS)


def installed() -> bool:
    """Whether tox loads this plugin from the package's entry point."""
    from importlib.metadata import entry_points

    return any(point.name == ENTRY_POINT for point in entry_points(group="tox"))


_PLUGIN = Plugin(project_root())
tox_extend_envs = _PLUGIN.tox_extend_envs
tox_add_core_config = _PLUGIN.tox_add_core_config
tox_add_env_config = _PLUGIN.tox_add_env_config
tox_after_run_commands = _PLUGIN.tox_after_run_commands
