"""tox environments and their lock files, derived from ``harness.toml``.

A release is one line of ``[environments]``. ``toxfile.py`` (tox's in-tree plugin) asks this
module for every environment's description, labels, depends and deps, so ``tox.ini`` lists none
of them. ``keras-harness pin`` (``tox -e pin``) writes ``requirements/<env>.in`` from the line's
pins and compiles ``requirements/<env>.txt`` with uv; ``lock_problems`` is the check that fails
CI while a lock file is missing or disagrees with ``harness.toml``.

Only the standard library is imported: this runs inside tox, and in CI before anything is
installed (``python -m harness.toxenvs --label verify-only`` lists a job matrix).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.core.config import Config, Environment, load_config
from harness.core.errors import ConfigError
from harness.core.files import read_text
from harness.core.specs import DEFAULT_SOURCE, Spec

REQUIREMENTS = "requirements"
#: in a project set up by ``keras-harness init``: the harness itself, as that project installs it
#: (a path, a git URL or a wheel), installed into every environment beside its lock file
HARNESS_REQUIREMENT = f"{REQUIREMENTS}/harness.txt"
STEP_SUFFIX = "-step"
#: in the source's step environment: the ``replay`` checks, which write this runner's references
#: (``build/references/<fingerprint>``) that every other environment compares with; the source
#: environment's own complete run replaces the partial results file this leaves
REPLAY = "pytest compat -p no:cacheprovider -n 1 --max-worker-restart 1000 --timeout 900 -k replay"
STEP_LABEL = "step"
#: where torch's CPU builds (``torch==X+cpu``) are served: PyPI has only the CUDA build
TORCH_WHEELS = "https://download.pytorch.org/whl/torch/"
#: a folder of wheels that this project's CI machines carry (torch's CPU build among them)
LOCAL_WHEELS = Path("/opt/wheels")


def torch_find_links() -> str:
    """Where uv finds torch's CPU build when ``UV_FIND_LINKS`` is not set: the local folder of
    wheels when it holds one, else PyTorch's wheel page."""
    if any(LOCAL_WHEELS.glob("torch-*+cpu-*.whl")):
        return str(LOCAL_WHEELS)
    return TORCH_WHEELS


VERIFY_TOOLS = ("pytest", "filelock", "pytest-xdist", "pytest-timeout")
UV_COMPILE = (
    "pip",
    "compile",
    "--quiet",
    "--python-version",
    "3.11",
    "--python-platform",
    "x86_64-manylinux_2_28",
    "--no-header",
)


@dataclass(frozen=True)
class ToxEnv:
    """What tox needs to know about one harness environment."""

    name: str
    description: str
    labels: tuple[str, ...]
    depends: tuple[str, ...]
    deps: tuple[str, ...]
    legacy: bool
    #: the harness environment it runs as (``HARNESS_ENV``): its own name, or for a step
    #: environment the environment whose steps it runs
    base: str = ""
    #: the commands, when not tox.ini's (a step environment's)
    commands: tuple[str, ...] = ()
    #: ``KERAS_BACKEND``: tensorflow, or jax / torch in an environment without TensorFlow
    backend: str = "tensorflow"


def source_envs(config: Config) -> list[str]:
    """The environments that build the embedded cases and record goldens (the source's TF)."""
    version = Spec.parse(DEFAULT_SOURCE).version
    return [name for name, env in config.environments.items() if env.version == version]


def depends(
    config: Config, name: str, sources: list[str], *, steps_only: bool = False
) -> list[str]:
    """The environments that write what ``name`` reads: the source models and goldens (written
    by ``sources``), every step on the way to a route it verifies (not with ``steps_only``), and
    every step on the way to a step it runs."""
    source = Spec.parse(DEFAULT_SOURCE)
    needed = set(sources)
    wanted = [] if steps_only else [config.routes[r].spec for r in config.environment(name).verify]
    wanted += [step.source for step in config.steps_for(name)]
    for spec in wanted:
        for step in config.lineage(spec, source) or []:
            needed.add(step.env)
    needed.discard(name)
    return [env for env in config.environments if env in needed]


def _role(config: Config, env: Environment, is_source: bool) -> str:
    steps = [
        f"{step.source} -> {step.target}"
        + (" (metrics recompiled)" if step.recompile_metrics else "")
        for step in config.steps_for(env.name)
    ]
    role = f"step {', '.join(steps)}; " if steps else ""
    if is_source:
        role = f"build the cases, record goldens, {role}"
    return f"{role}verify {', '.join(env.verify) or 'no routes'}"


def requirements_in(env: Environment) -> str:
    """The ``.in`` file of ``env``: its pins, then the tools the verification runs with."""
    lines = [f"{dist}=={version}" for dist, version in env.pins] + list(VERIFY_TOOLS)
    return "\n".join(lines) + "\n"


def lock_path(root: Path, name: str) -> Path:
    return root / REQUIREMENTS / f"{name}.txt"


def tox_env(
    config: Config, env: Environment, root: Path, needs: list[str], is_source: bool
) -> ToxEnv:
    labels = [f"keras{env.keras}", "verify"]
    if not config.steps_for(env.name) and not is_source:
        labels.append("verify-only")
    if not env.tensorflow:
        labels.append(env.backend)
    lock = lock_path(root, env.name)
    role = _role(config, env, is_source)
    if lock.exists():
        deps: tuple[str, ...] = (f"-r {lock.relative_to(root).as_posix()}",)
        if (root / HARNESS_REQUIREMENT).is_file():  # a project that installs the harness
            deps += (f"-r {HARNESS_REQUIREMENT}",)
        description = f"{env.description}: {role}"
    else:  # pinned TensorFlow/Keras, tools unpinned, until `tox -e pin` writes the lock
        deps = tuple(requirements_in(env).split())
        description = f"{env.description} (NOT LOCKED: run tox -e pin): {role}"
    return ToxEnv(
        env.name,
        description,
        tuple(labels),
        tuple(needs),
        deps,
        env.legacy,
        env.name,
        backend=env.backend,
    )


def tox_envs(config: Config, root: Path) -> list[ToxEnv]:
    """Every environment of ``config``, each after the environments it depends on (otherwise in
    ``harness.toml``'s order)."""
    sources = source_envs(config)
    needs = {name: depends(config, name, sources) for name in config.environments}
    pending = list(config.environments)
    ordered: list[str] = []
    while pending:
        ready = [n for n in pending if set(needs[n]) <= set(ordered)]
        if not ready:
            raise ConfigError(
                f"The environments {pending} in {config.path} depend on each other in a cycle. "
                f"Fix: let each spec be written by an environment that reads only older ones."
            )
        ordered.append(ready[0])
        pending.remove(ready[0])
    return [
        tox_env(config, config.environments[name], root, needs[name], name in sources)
        for name in ordered
    ]


def step_name(env: str) -> str:
    """The tox environment that runs only the steps (and the cases) of ``env``."""
    return f"{env}{STEP_SUFFIX}"


def step_envs(config: Config, root: Path) -> list[ToxEnv]:
    """One tox environment per environment that writes files (a step, or the source's cases,
    goldens and runner references): the same lock in a venv of its own, ``keras-harness
    convert`` (and in the source, ``cases`` and the ``replay`` checks) and nothing else, so
    that the main job (``tox p``) runs the chain of steps first and then every verification side
    by side, none waiting for another's verification."""
    sources = source_envs(config)
    made = []
    for env in tox_envs(config, root):
        is_source = env.name in sources
        steps = config.steps_for(env.name)
        if not steps and not is_source:
            continue
        needs = depends(config, env.name, sources, steps_only=True)
        commands: tuple[str, ...] = ("keras-harness cases",) if is_source else ()
        commands += (f"keras-harness convert --env {env.name}",)
        if is_source:  # the runner references every other environment compares with
            commands += (REPLAY,)
        written = ", ".join(f"{s.source} -> {s.target}" for s in steps) or "no steps"
        what = "build the cases, replay the source on this runner, " if is_source else ""
        made.append(
            ToxEnv(
                step_name(env.name),
                f"{env.name}'s steps only ({what}{written}), for the main job (tox p)",
                (STEP_LABEL,),
                tuple(step_name(n) for n in needs),
                env.deps,
                env.legacy,
                env.name,
                commands,
            )
        )
    return made


def main_job(config: Config, root: Path, seconds: dict[str, float]) -> list[ToxEnv]:
    """The main job's environments: the step environments (in the chain's order), then every
    environment, each depending on all step environments and on no other verification, the
    longest first by ``seconds`` (the last run's, on this machine; unknown ones first, in
    ``harness.toml``'s order), so that the longest verification does not start last."""
    steps = step_envs(config, root)
    after = tuple(env.name for env in steps)
    verify = sorted(tox_envs(config, root), key=lambda env: -seconds.get(env.name, float("inf")))
    return steps + [replace(env, depends=after) for env in verify]


def lock_problem(config: Config, env: Environment, root: Path) -> str | None:
    """Why ``requirements/<env>.in``/``.txt`` is missing or does not match the pins of ``env``
    in ``harness.toml``; None when its lock file is current."""
    source = root / REQUIREMENTS / f"{env.name}.in"
    lock = lock_path(root, env.name)
    fix = f"Fix: tox -e pin -- {env.name}"
    if not env.pins:
        return (
            f"{env.name}: pins nothing in {config.path}. Fix: write "
            f'{env.name} = {{ tensorflow = "X.Y.Z", keras = "X.Y.Z" }}.'
        )
    if _read(source, "Requirements file", env.name) != requirements_in(env):
        return f"{env.name}: {source} does not match its pins in {config.path}. {fix}"
    locked_text = _read(lock, "Lock file", env.name)
    if locked_text is None:
        return f"{env.name}: {lock} is missing. {fix}"
    locked = set(locked_text.split())
    for dist, version in env.pins:
        if f"{dist}=={version}" not in locked:
            return f"{env.name}: {lock} does not pin {dist}=={version}. {fix}"
    return None


def _read(path: Path, what: str, env: str) -> str | None:
    """The text of ``requirements/<env>.in`` or ``.txt``, None when it does not exist (stale);
    refused in one line when it is not a regular file or not UTF-8 (a device is not an empty
    file, and a FIFO would block)."""
    if not (path.exists() or path.is_symlink()):
        return None
    fix = f"delete it and rewrite it with tox -e pin -- {env}."
    return read_text(path, what=what, fix=fix, error=ConfigError, not_a_file=fix)


def lock_problems(config: Config, root: Path) -> list[str]:
    """One line per environment whose lock file is not current; empty when all are."""
    found = (lock_problem(config, env, root) for env in config.environments.values())
    return [problem for problem in found if problem is not None]


def pin(
    config: Config,
    root: Path,
    names: Sequence[str],
    uv: Sequence[str],
    upgrade: bool = False,
) -> list[str]:
    """Write ``requirements/<env>.in`` and compile ``<env>.txt`` for ``names`` (all when empty)
    whose files are stale (all of them with ``upgrade``). Returns the environments compiled.

    Each lock file is compiled into a temporary file and moved into place only when uv succeeds,
    so a failed resolution leaves the old lock file as it was.
    """
    chosen = [config.environment(name).name for name in names] or list(config.environments)
    compiled = []
    for name in chosen:
        env = config.environments[name]
        problem = lock_problem(config, env, root)
        if not env.pins:  # nothing to lock: the problem says what to write
            raise ConfigError(str(problem))
        if problem is None and not upgrade:
            continue
        source = root / REQUIREMENTS / f"{name}.in"
        source.write_text(requirements_in(env), encoding="utf-8")
        lock = lock_path(root, name)
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".txt", dir=lock.parent)
        os.close(handle)
        try:
            command = [*uv, *UV_COMPILE, str(source.relative_to(root)), "-o", temp]
            done = subprocess.run(command, cwd=root, capture_output=True, text=True)
            if done.returncode != 0:
                raise ConfigError(
                    f"uv could not lock {source} (exit {done.returncode}): "
                    f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}. "
                    f"Fix: {_where_from(env, config.path)}"
                )
            os.replace(temp, lock)
        finally:
            Path(temp).unlink(missing_ok=True)
        compiled.append(name)
    return compiled


def _where_from(env: Environment, path: Path) -> str:
    """Where the pins of ``env`` come from, as the fix of a failed lock."""
    local = [f"{dist}=={version}" for dist, version in env.pins if "+" in version]
    if local:  # a build with a local label (torch's +cpu) is on its project's index, not PyPI
        return (
            f"{', '.join(local)} is not on PyPI: point uv at a folder or page of wheels that "
            f'holds it, e.g. UV_FIND_LINKS={TORCH_WHEELS} (README, "Backends"), and run again.'
        )
    return f"check the pins of {env.name} in {path} exist on PyPI."


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.toxenvs [--label L]``: the environments as a JSON list (for a CI
    workflow's job matrix); runs with the standard library only."""
    parser = argparse.ArgumentParser(prog="python -m harness.toxenvs")
    parser.add_argument("--label", help="only the environments with this tox label")
    parser.add_argument("--config", default="harness.toml")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    envs = tox_envs(config, config.path.parent)
    print(json.dumps([e.name for e in envs if args.label is None or args.label in e.labels]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
