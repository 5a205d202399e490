"""tox's in-tree plugin: the TensorFlow environments come from harness.toml, not tox.ini.

Each line of ``[environments]`` in harness.toml becomes a tox environment with its description,
labels (``keras2``/``keras3``, ``verify``, ``verify-only``), ``depends`` (the environments that
write the files it reads) and ``deps`` (``requirements/<env>.txt``). They are placed before
tox.ini's own ``env_list`` (the ``matrix`` gate), and ``matrix`` depends on all of them. tox.ini's
``[testenv]`` gives their commands and settings; a ``[testenv:<env>]`` section may add to them.
The logic is ``harness/toxenvs.py`` (standard library only), tested without tox.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet, EnvConfigSet
from tox.config.types import EnvList
from tox.plugin import impl
from tox.session.state import State

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from harness.core.config import load_config  # noqa: E402
from harness.core.errors import HarnessError  # noqa: E402
from harness.toxenvs import ToxEnv, tox_envs  # noqa: E402

GATE = "matrix"  # the tox.ini environment that merges every environment's results


def _envs() -> list[ToxEnv]:
    try:
        return tox_envs(load_config(ROOT / "harness.toml"), ROOT)
    except HarnessError as exc:
        raise SystemExit(f"toxfile.py: {exc}") from None


ENVS = _envs()


@impl
def tox_extend_envs() -> Iterable[str]:
    return [env.name for env in ENVS]


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    core_conf["env_list"].envs[:0] = [env.name for env in ENVS]
    for env in ENVS:
        state.conf.memory_seed_loaders[env.name].append(
            MemoryLoader(
                description=env.description,
                labels=list(env.labels),
                depends=EnvList(list(env.depends)),
                deps=list(env.deps),
            )
        )
    state.conf.memory_seed_loaders[GATE].append(
        MemoryLoader(depends=EnvList([env.name for env in ENVS]))
    )


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    legacy = any(env.legacy for env in ENVS if env.name == env_conf.name)
    env_conf.add_config(
        keys=["harness_legacy_keras"],
        of_type=str,
        default="1" if legacy else "0",
        desc="TF_USE_LEGACY_KERAS for this environment (1 where harness.toml pins tf_keras)",
    )
