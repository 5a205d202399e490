"""Project-level pytest configuration.

The keras-harness plugin itself is registered through the ``pytest11`` entry point (see
pyproject.toml); this file only makes the checkout importable when the package is not installed,
so ``pytest tests`` works from a plain clone.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = ["pytester"]
