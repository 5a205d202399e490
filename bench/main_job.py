"""P1: the main job (tox over the TensorFlow environments) against its floor.

    python bench/main_job.py [--project DIR] [--envs tf213,tf215,...] [--parallel N]

Runs ``tox -e ENVS`` in the project (``--parallel N``: ``tox p -p N``), as a user would, and
reads each environment's time from tox's report. Then measures each environment's floor, the
work no harness can avoid:

- the environment from a warm cache: a new virtual environment with its lock file installed by
  uv (tox-uv's installer), timed on the second install (the first warms uv's cache);
- one TensorFlow import and the bare work of every model: ``bench/verify_scale.py --bare``, in
  the environment's own Python (load, predict, evaluate and one train step for every (model,
  route) the environment verifies; :func:`verify_scale.bare`).

The floor of the whole job schedules the environments' floors as tox does (each after the
environments it depends on, ``N`` at a time). It prints, per environment, tox's time, its floor
and their ratio, then P1 = the job's wall time / the floor's. What the floor leaves out is the
harness's overhead by definition: the steps' conversions, safety checks, comparisons, cells,
pytest and tox themselves. Run it where the main job ran before (the environments exist and
the steps' files are written), so that tox and the floor both start from warm caches.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: tox's report line of one environment, e.g. ``  tf216: OK (83.21=setup[2.10]+cmd[...] seconds)``
REPORT = re.compile(r"^\s*(\S+): (OK|FAIL)[^(]*\(([\d.]+)=setup\[([\d.]+)\]\+cmd\[([\d., ]*)\]")


def tox_times(output: str) -> dict[str, float]:
    """Each environment's seconds, from tox's report."""
    return {m.group(1): float(m.group(3)) for m in map(REPORT.match, output.splitlines()) if m}


def schedule(floors: dict[str, float], needs: dict[str, list[str]], slots: int) -> float:
    """The wall time of running ``floors`` ``slots`` at a time, each after what it needs (in the
    listed order, as tox starts them)."""
    finished: dict[str, float] = {}
    free = [0.0] * slots  # when each slot is free again
    pending = list(floors)
    while pending:
        env = next(e for e in pending if all(d in finished for d in needs[e] if d in floors))
        pending.remove(env)
        ready = max([finished[d] for d in needs[env] if d in floors], default=0.0)
        slot = min(range(slots), key=lambda k: free[k])
        finished[env] = max(ready, free[slot]) + floors[env]
        free[slot] = finished[env]
    return max(finished.values(), default=0.0)


def env_floor(project: Path, env: str, folder: Path) -> float:
    """Seconds to make ``env`` from a warm cache with uv (P4's :func:`env_create.create`; the
    first creation warms uv's cache)."""
    from env_create import create  # bench/ is this script's folder, first on sys.path

    requirements = project / "requirements" / f"{env}.txt"
    create("uv", requirements, folder)
    return create("uv", requirements, folder)


def work_floor(project: Path, env: str, build: Path) -> float:
    """Seconds for one TensorFlow (or Keras, on jax/torch) import and the bare work of every
    model, in ``env``, with the environment's Keras as tox sets it (tf_keras, the backend)."""
    from harness.core.config import load_config

    environment = load_config(project / "harness.toml").environment(env)
    settings = {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_USE_LEGACY_KERAS": "1" if environment.legacy else "0",
        "KERAS_BACKEND": environment.backend,
    }
    python = project / ".tox" / env / "bin" / "python"
    registry = build / "models" / "model_registry.json"
    if not registry.exists():  # a user's project: its own registry
        registry = project / "models" / "model_registry.json"
    started = time.perf_counter()
    command = [str(python), str(ROOT / "bench/verify_scale.py"), "--env", env]
    command += ["--build", str(build), "--config", str(project / "harness.toml")]
    run([*command, "--bare", str(registry)], project, settings)
    return time.perf_counter() - started


def run(command: list[str], cwd: Path, extra: dict[str, str] | None = None) -> str:
    import os

    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(extra or {})},
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--project", default=str(ROOT), help="the project (default: this one)")
    parser.add_argument("--envs", help="the environments (default: every TensorFlow one)")
    parser.add_argument("--parallel", type=int, default=1, help="tox p -p N (default 1: tox)")
    parser.add_argument("--tox", default=f"{sys.executable} -m tox", help="the tox command")
    args = parser.parse_args(argv)
    project = Path(args.project).resolve()
    sys.path.insert(0, str(ROOT))
    from harness.core.config import load_config
    from harness.toxenvs import tox_envs

    config = load_config(project / "harness.toml")
    known = {env.name: list(env.depends) for env in tox_envs(config, project)}
    envs = args.envs.split(",") if args.envs else list(known)
    unknown = [e for e in envs if e not in known]
    if unknown:
        print(f"Unknown environment(s) {', '.join(unknown)}. Fix: use some of {', '.join(known)}.")
        return 2
    tox = args.tox.split()
    command = [*tox, "-e", ",".join(envs)]
    if args.parallel > 1:
        command = [*tox, "p", "-p", str(args.parallel), "-e", ",".join(envs)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    times = tox_times(result.stdout + result.stderr)
    if result.returncode != 0 or set(envs) - set(times):
        print(f"{' '.join(command)} failed (exit {result.returncode}):")
        print((result.stdout + result.stderr)[-3000:])
        return 1
    build = project / "build"
    floors = {}
    with tempfile.TemporaryDirectory(prefix="bench-p1-") as folder:
        for env in envs:
            making, working = env_floor(project, env, Path(folder)), work_floor(project, env, build)
            floors[env] = making + working
            print(
                f"{env:15s} tox {times[env]:7.1f} s | floor {floors[env]:7.1f} s (environment "
                f"{making:.1f} + import and bare work {working:.1f}) | "
                f"{times[env] / floors[env]:.2f}",
                flush=True,
            )
    floor = schedule(floors, known, args.parallel)
    print(
        f"main job ({len(envs)} environments, {args.parallel} at a time): {wall:.1f} s, floor "
        f"{floor:.1f} s, P1 {wall / floor:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
