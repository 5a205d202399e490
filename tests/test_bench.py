"""Each benchmark under bench/ runs on a tiny input and prints its ratio (not its timing). P2/P3
(bench/verify_scale.py) need TensorFlow: tests/integration/tf213/test_bench.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_p4_env_creation_prints_pip_over_uv(tmp_path: Path) -> None:
    requirements = tmp_path / "tiny.txt"
    requirements.write_text("iniconfig==2.3.1\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench/env_create.py"), "--requirements", str(requirements)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["uv", "pip"]
    assert lines[-1].startswith("tiny.txt: P4 pip / uv ")
    assert float(lines[-1].rsplit(" ", 1)[1]) > 0


def test_a_bench_without_its_input_says_how_to_get_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench/env_create.py"), "--env", "tf999"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == (
        f"No requirements file {ROOT / 'requirements/tf999.txt'}. Fix: pass --env or "
        "--requirements.\n"
    )
