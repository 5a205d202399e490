"""Open the rendered matrix page in headless Chromium and save a screenshot with one cell's
details shown (``matrix.html#cell=N``), so a person can check what users see.

    python bench/screenshot_matrix.py [build/matrix/matrix.html] [--cell N] [--out PNG]

Needs Debian's chromium (``apt-get install chromium``); no network is used. Prints the PNG's
path, its size, and the ratio of non-white pixels as a sanity number (a blank page is ~0).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1100",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", nargs="?", default="build/matrix/matrix.html")
    parser.add_argument(
        "--cell",
        type=int,
        default=None,
        help="index of the cell to open (default: the first non-pass cell)",
    )
    parser.add_argument("--out", default="build/bench/matrix-screenshot.png")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found. Fix: apt-get install chromium", file=sys.stderr)
        return 2
    page = Path(args.page).absolute()
    cell = args.cell if args.cell is not None else first_non_pass(page)
    out = Path(args.out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                f"file://{page}#cell={cell}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(
        f"screenshot: {out} ({out.stat().st_size} bytes), cell {cell} selected, "
        f"non-white ratio {non_white_ratio(out):.3f}"
    )
    return 0


def first_non_pass(page: Path) -> int:
    import json

    text = page.read_text(encoding="utf-8")
    data = json.loads(text.split('id="data">', 1)[1].split("</script>", 1)[0])
    return next((c["index"] for c in data["cells"] if c["kind"] != "pass"), 0)


def non_white_ratio(png: Path) -> float:
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    return float((pixels[..., :3].mean(axis=-1) < 0.97).mean())


if __name__ == "__main__":
    sys.exit(main())
