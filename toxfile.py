"""tox's in-tree plugin for the harness's own checkout: the TensorFlow environments come from
harness.toml, not tox.ini (see ``harness/tox_plugin.py``, which a project that installs the
harness loads through the package's ``tox`` entry point instead). Needs tox >= 4.29."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from harness.tox_plugin import Plugin, installed  # noqa: E402

if not installed():  # else the entry point's plugin already adds the same environments
    _PLUGIN = Plugin(ROOT)
    tox_extend_envs = _PLUGIN.tox_extend_envs
    tox_add_core_config = _PLUGIN.tox_add_core_config
    tox_add_env_config = _PLUGIN.tox_add_env_config
    tox_after_run_commands = _PLUGIN.tox_after_run_commands
