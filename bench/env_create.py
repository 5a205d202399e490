"""P4: creating an environment with uv (what tox-uv does) against virtualenv and pip (plain tox).

    python bench/env_create.py [--env tf216] [--requirements FILE] [--repeat 1]

Both create a fresh virtual environment in a temporary folder and install the lock file
(``requirements/<env>.txt``, or ``--requirements``) from a warm cache: each tool installs it once
untimed first (its own cache: uv's, pip's), then ``--repeat`` timed times. It prints both times
and the ratio pip / uv. Network and disk speed weigh in: compare the ratio of one run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def create(tool: str, requirements: Path, folder: Path) -> float:
    """Seconds to create a virtual environment in ``folder`` and install ``requirements``."""
    venv = folder / f"venv-{tool}"
    python = venv / "bin" / "python"
    started = time.perf_counter()
    if tool == "uv":
        uv = shutil.which("uv") or "uv"
        run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        run([uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements)])
    else:
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)])
    elapsed = time.perf_counter() - started
    shutil.rmtree(venv)
    return elapsed


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--env", default="tf216", help="whose lock file (requirements/<env>.txt)")
    parser.add_argument("--requirements", help="another requirements file instead")
    parser.add_argument("--repeat", type=int, default=1, help="timed creations per tool")
    args = parser.parse_args(argv)
    requirements = Path(args.requirements or ROOT / f"requirements/{args.env}.txt").resolve()
    if not requirements.is_file():
        print(f"No requirements file {requirements}. Fix: pass --env or --requirements.")
        return 2
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-env-") as folder:
        for tool in ("uv", "pip"):
            create(tool, requirements, Path(folder))  # warms the tool's cache
            runs = [create(tool, requirements, Path(folder)) for _ in range(args.repeat)]
            times[tool] = min(runs)
            print(f"{requirements.name}: {tool:3s} {times[tool]:6.1f} s (best of {args.repeat})")
    print(f"{requirements.name}: P4 pip / uv {times['pip'] / times['uv']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
