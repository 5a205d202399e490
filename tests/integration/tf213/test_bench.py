"""P2 and P3 (bench/verify_scale.py) run on a tiny input and print their ratios (real
TensorFlow 2.13; the numbers themselves are the benchmark's, not the test's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import case_registry, run_convert

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow")
ROOT = Path(__file__).parents[3]
MODEL = "dense_regression"


def test_p2_and_p3_print_their_ratios(tmp_path: Path) -> None:
    registry = case_registry(tmp_path, [MODEL])
    build = tmp_path / "build"
    assert run_convert(registry, build).returncode == 0
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/verify_scale.py"),
            "--env",
            "tf213",
            "--counts",
            "2,3",
            "--build",
            str(build),
            "--registry",
            str(registry),
            "--repeat",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["2", "2", "2", "3", "3", "3", "P3"], lines
    pairs = [lines[0], lines[1], lines[3], lines[4]]
    assert all("(exit 0)" in line and "P2 harness/bare time" in line for line in pairs), lines
    for median in (lines[2], lines[5]):  # two pairs each, in both orders: their median
        assert " models: P2 median of 2 pairs " in median, lines
    assert lines[6].startswith("tf213 P3 peak RSS 3 / 2 models: harness "), lines
