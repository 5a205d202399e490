"""tox's plugin: the TensorFlow environments come from ``harness.toml``, not ``tox.ini``.

Each line of ``[environments]`` in ``harness.toml`` becomes a tox environment with its
description, labels (``keras2``/``keras3``, ``verify``, ``verify-only``), ``depends`` (the
environments that write the files it reads) and ``deps`` (``requirements/<env>.txt``). They are
placed before ``tox.ini``'s own ``env_list`` (the ``matrix`` gate), and ``matrix`` depends on all
of them. ``tox.ini``'s ``[testenv]`` gives their commands and settings; a ``[testenv:<env>]``
section may add to them. The logic is :mod:`harness.toxenvs` (standard library only).

Two ways in, one plugin:

- installed (the ``tox`` entry point of the package, e.g. through ``tox.ini``'s ``requires`` in a
  project that ``keras-harness init`` set up): the project is the nearest folder, from the
  working directory up, that holds ``harness.toml`` beside ``tox.ini``; where there is none, the
  plugin adds nothing;
- in-tree (the harness's own checkout): ``toxfile.py`` builds a :class:`Plugin` for its folder,
  and only when the installed plugin is not loaded too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet, EnvConfigSet
from tox.config.types import EnvList
from tox.plugin import impl
from tox.session.state import State

from harness.core.config import load_config
from harness.core.errors import HarnessError
from harness.toxenvs import ToxEnv, tox_envs

GATE = "matrix"  # the tox.ini environment that merges every environment's results
ENTRY_POINT = "keras_harness"  # this module's name in the ``tox`` entry-point group


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
        self._envs: list[ToxEnv] | None = None

    @property
    def envs(self) -> list[ToxEnv]:
        if self._envs is None:
            if self.root is None:
                self._envs = []
            else:
                try:
                    self._envs = tox_envs(load_config(self.root / "harness.toml"), self.root)
                except HarnessError as exc:
                    raise SystemExit(f"keras-harness tox plugin: {exc}") from None
        return self._envs

    @impl
    def tox_extend_envs(self) -> Iterable[str]:
        return [env.name for env in self.envs]

    @impl
    def tox_add_core_config(self, core_conf: ConfigSet, state: State) -> None:
        if not self.envs:
            return
        core_conf["env_list"].envs[:0] = [env.name for env in self.envs]
        for env in self.envs:
            state.conf.memory_seed_loaders[env.name].append(
                MemoryLoader(
                    description=env.description,
                    labels=list(env.labels),
                    depends=EnvList(list(env.depends)),
                    deps=list(env.deps),
                )
            )
        state.conf.memory_seed_loaders[GATE].append(
            MemoryLoader(depends=EnvList([env.name for env in self.envs]))
        )

    @impl
    def tox_add_env_config(self, env_conf: EnvConfigSet, state: State) -> None:
        legacy = any(env.legacy for env in self.envs if env.name == env_conf.name)
        env_conf.add_config(
            keys=["harness_legacy_keras"],
            of_type=str,
            default="1" if legacy else "0",
            desc="TF_USE_LEGACY_KERAS for this environment (1 where harness.toml pins tf_keras)",
        )


def installed() -> bool:
    """Whether tox loads this plugin from the package's entry point."""
    from importlib.metadata import entry_points

    return any(point.name == ENTRY_POINT for point in entry_points(group="tox"))


_PLUGIN = Plugin(project_root())
tox_extend_envs = _PLUGIN.tox_extend_envs
tox_add_core_config = _PLUGIN.tox_add_core_config
tox_add_env_config = _PLUGIN.tox_add_env_config
