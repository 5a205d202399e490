"""Proof that a restructuring changed no output: render the matrix from the same results files
with an older commit of the harness and with this checkout, and compare every file byte for byte.

    python bench/identical.py [--ref REF] [--results build/results]

REF (default: d2073ae, the last commit before the package was laid out by stage; older
commits cannot read results files with hardware fingerprints) is checked out into a temporary
git worktree. Both sides run ``keras-harness matrix`` on the same results (so the same cells)
into separate folders; the script prints one line per file, ``identical`` or ``DIFFERS``, and
exits 1 if any differs. Generated docs are covered by ``keras-harness docs --check``
(tests/test_docs.py); results files by comparing the cells of two runs.
Run it where the matrix's dependencies are installed (``tox -e matrix`` installs them).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("COMPAT.md", "matrix.csv", "matrix.json", "matrix.html", "changes.md", "heatmap.png")


def render(source: Path, results: Path, out: Path) -> int:
    """``keras-harness matrix`` of the checkout at ``source`` (exit status: the gate's)."""
    environ = {**os.environ, "PYTHONPATH": str(source)}
    environ.pop("GITHUB_STEP_SUMMARY", None)
    command = [sys.executable, "-m", "harness", "--config", str(source / "harness.toml")]
    command += ["--build-dir", str(out), "matrix", "--results", str(results), "--out", str(out)]
    command += ["--baseline", str(ROOT / "golden/baseline.json")]
    command += ["--limitations", str(source / "limitations.toml")]
    return subprocess.run(command, cwd=source, env=environ, capture_output=True).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="d2073ae")
    parser.add_argument("--results", default=str(ROOT / "build/results"))
    args = parser.parse_args()
    results = Path(args.results).resolve()
    with tempfile.TemporaryDirectory() as temp:
        old, outputs = Path(temp) / "old", Path(temp)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(old), args.ref], cwd=ROOT, check=True
        )
        try:
            render(old, results, outputs / "before")
            render(ROOT, results, outputs / "after")
            differ = 0
            for name in FILES:
                same = filecmp.cmp(outputs / "before" / name, outputs / "after" / name, False)
                differ += not same
                print(f"{name}: {'identical' if same else 'DIFFERS'}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
