"""``keras-harness init``: set up the harness in a user's own project.

In the project folder it writes, and never over a file that exists (it refuses, naming every
such file, and writes nothing):

- ``harness.toml``: the shipped routes, numerics and chain of steps, cut to the environments
  chosen (a step runs only where its environment is chosen and its input is written; a route is
  kept only where some chosen step writes its spec, or it is the source);
- ``requirements/<env>.txt`` (and ``.in``): the harness's locked pins of each environment, and
  ``requirements/harness.txt``: the harness itself as this project installs it (a path, a git
  URL or a wheel), which the tox plugin adds to every environment;
- ``tox.ini``: tox and tox-uv, the harness in ``requires`` (tox installs it, and so its plugin,
  into its own environment), the commands of each environment, ``record`` and ``matrix``;
- ``compat/test_compat.py``: the verification suite's one test function;
- ``limitations.toml`` and ``repairs.toml``: the shipped catalogue and repair rules, the
  project's own from now on; the catalogue cut to what can happen in the environments and routes
  chosen (an entry none of them can meet is left out, a pattern nothing matches is dropped from
  its list), so that ``keras-harness validate`` finds nothing stale in it;
- ``models/model_registry.json``: one entry per model file found in the recipe's layout,
  ``models/<spec>/<id>.<format>`` (``models/2.13.keras/run_01.keras``), with ``inputs/<id>.npz``
  and ``expected/<id>.json``/``.npz`` where they exist; every file it does not register is
  reported with the reason.
"""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from harness.core.atomic import atomic_open
from harness.core.config import Config, load_config
from harness.core.errors import ConfigError, HarnessError
from harness.core.preflight import matches_some
from harness.core.registry import MODEL_ID_RE
from harness.core.specs import DEFAULT_SOURCE, Spec

SHIPPED = "shipped"
DEFAULT_ENVS = ("tf213", "tf215", "tf216")
REGISTRY = "models/model_registry.json"
SUFFIXES = {"keras": ".keras", "h5": ".h5"}


@dataclass
class Found:
    """What ``init`` found in the models folder: the registry entries, and every file it left
    out with the reason."""

    models: dict[str, dict[str, object]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def shipped(name: str) -> str:
    """A file the harness ships (``harness/shipped/``), as text."""
    return resources.files("harness").joinpath(SHIPPED, name).read_text(encoding="utf-8")


def scan_models(project: Path, models_dir: Path) -> Found:
    """Registry entries for the model files under ``models_dir`` in the recipe's layout."""
    found = Found()
    if not models_dir.is_dir():
        raise ConfigError(
            f"No models folder at {models_dir}. Fix: put the model files in "
            f"{models_dir}/2.13.keras/<id>.keras (the recipe's layout), or pass --models DIR."
        )
    for folder in sorted(models_dir.iterdir()):
        where = folder.relative_to(project).as_posix()
        if not folder.is_dir():
            if folder.name != Path(REGISTRY).name:
                found.skipped.append(f"{where}: not in a <spec>/ folder (e.g. 2.13.keras/)")
            continue
        try:
            spec = Spec.parse(folder.name)
        except HarnessError:
            found.skipped.append(f"{where}/: not a spec folder like 2.13.keras or 2.13.h5")
            continue
        for path in sorted(folder.iterdir()):
            rel = path.relative_to(project).as_posix()
            suffix = SUFFIXES.get(spec.format)
            if spec.format == "savedmodel" and path.is_dir():
                model_id = path.name
            elif suffix and path.is_file() and path.suffix == suffix:
                model_id = path.stem
            else:
                found.skipped.append(f"{rel}: not a {spec.format} model of spec {spec}")
                continue
            if not MODEL_ID_RE.match(model_id):
                found.skipped.append(
                    f"{rel}: {model_id!r} is not a model id (letters, digits, _.-)"
                )
                continue
            entry = found.models.setdefault(model_id, {"paths": {}})
            paths = entry["paths"]
            assert isinstance(paths, dict)
            paths[str(spec)] = rel
    for model_id, entry in found.models.items():
        paths = entry["paths"]
        assert isinstance(paths, dict)
        if DEFAULT_SOURCE not in paths:
            oldest = sorted(
                paths, key=lambda s: tuple(int(p) for p in Spec.parse(s).version.split("."))
            )
            entry["source"] = oldest[0]
        for key, names in (("inputs", ("npz",)), ("expected", ("json", "npz"))):
            for ext in names:
                candidate = project / key / f"{model_id}.{ext}"
                if candidate.is_file():
                    entry[key] = candidate.relative_to(project).as_posix()
                    break
    if not found.models:
        raise ConfigError(
            f"No model files in {models_dir}. Fix: put them in {models_dir}/2.13.keras/<id>.keras "
            f"(the recipe's layout)."
        )
    return found


def _blocks(text: str) -> list[str]:
    """``harness.toml``'s text cut before each table header (comments stay with what follows)."""
    lines = text.splitlines(keepends=True)
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("["):
            # the comment lines right above a header belong to it
            moved: list[str] = []
            while blocks[-1] and blocks[-1][-1].startswith("#"):
                moved.insert(0, blocks[-1].pop())
            blocks.append(moved)
        blocks[-1].append(line)
    return ["".join(block) for block in blocks if block]


def harness_toml(envs: list[str]) -> str:
    """The shipped ``harness.toml`` cut to ``envs`` (see the module's docstring)."""
    text = shipped("harness.toml")
    config = tomllib.loads(text)
    known = config["environments"]
    unknown = [env for env in envs if env not in known]
    if unknown:
        raise ConfigError(
            f"Unknown environments {unknown}. Fix: choose from {sorted(known)} "
            f"(--envs tf213,tf216)."
        )
    source_envs = [
        name for name, e in known.items() if Spec.parse(DEFAULT_SOURCE).version == _tf(e)
    ]
    if not set(source_envs) & set(envs):
        raise ConfigError(
            f"--envs {','.join(envs)} has no source environment: {source_envs[0]} records the "
            f"goldens. Fix: add it (--envs {source_envs[0]},{','.join(envs)})."
        )
    written = {DEFAULT_SOURCE}
    kept_steps = []
    for step in config.get("steps", []):
        if step["env"] in envs and step["from"] in written and "models" not in step:
            kept_steps.append(step)
            written.add(step["to"])
    kept_routes = {name for name, route in config["routes"].items() if route["spec"] in written}
    out: list[str] = []
    steps_seen = 0
    for block in _blocks(text):
        header = next((line for line in block.splitlines() if line.startswith("[")), "")
        if header.startswith("[routes."):
            name = header[len("[routes.") : -1].strip('"')
            if name in kept_routes:
                out.append(block)
        elif header == "[[steps]]":
            step = config["steps"][steps_seen]
            steps_seen += 1
            if step in kept_steps:
                out.append(block)
        elif header == "[environments]":
            out.append(_environments(block, envs, kept_routes))
        else:
            out.append(block)
    return "".join(out)


def _tf(environment: dict[str, object]) -> str:
    """The TensorFlow major.minor of an ``[environments]`` line ("" on jax or torch)."""
    return ".".join(str(environment.get("tensorflow", "")).split(".")[:2])


def _environments(block: str, envs: list[str], routes: set[str]) -> str:
    kept = []
    for line in block.splitlines(keepends=True):
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.startswith("#") and name not in ("[environments]",):
            if name not in envs:
                continue
            match = re.search(r"verify = \[([^\]]*)\]", line)
            if match:
                chosen = [r for r in json.loads(f"[{match[1]}]") if r in routes]
                line = line.replace(match[0], f"verify = {json.dumps(chosen)}")
        kept.append(line)
    return "".join(kept)


TOX_INI = """\
# Written by keras-harness init. The TensorFlow environments are not listed here: the harness's
# tox plugin (installed into tox's own environment through `requires`) makes one of each line of
# harness.toml's [environments]. The main job: tox -e record (once), then tox.
[tox]
requires =
    tox>=4.29
    tox-uv>=1.13
    {requirement}
env_list = matrix

[testenv]
base_python = python3.11
skip_install = true
deps =
    -r requirements/{{env_name}}.txt
    -r requirements/harness.txt
pass_env =
    HARNESS_*
    CI
    GITHUB_*
    CUDA_VISIBLE_DEVICES
    TF_ENABLE_ONEDNN_OPTS
    ONEDNN_*
    DNNL_*
    TF_NUM_INTRAOP_THREADS
    TF_NUM_INTEROP_THREADS
    OMP_NUM_THREADS
    TF_DETERMINISTIC_OPS
    XLA_FLAGS
    TF_XLA_FLAGS
set_env =
    HARNESS_ENV = {{harness_env}}
    HARNESS_REGISTRY = {{tox_root}}/{registry}
    PYTHONHASHSEED = 0
    TF_USE_LEGACY_KERAS = {{harness_legacy_keras}}
    KERAS_BACKEND = {{harness_keras_backend}}
commands =
    keras-harness convert
    pytest compat -p no:cacheprovider -n {{env:HARNESS_WORKERS:1}} --max-worker-restart 1000 \
        --timeout 900 {{posargs}}

[testenv:record]
description = record the golden of every model that has none, in the source environment {source}
deps =
    -r requirements/{source}.txt
    -r requirements/harness.txt
set_env =
    HARNESS_ENV = {source}
    HARNESS_REGISTRY = {{tox_root}}/{registry}
    PYTHONHASHSEED = 0
commands = keras-harness record {{posargs}}

[testenv:matrix]
description = merge build/results into build/matrix (COMPAT.md, matrix.html), gate on the baseline
deps =
    -r requirements/tests.txt
    -r requirements/harness.txt
set_env =
    HARNESS_REGISTRY = {{tox_root}}/{registry}
commands = keras-harness matrix {{posargs}}

[testenv:pin]
description = lock requirements/<env>.txt for a line added to harness.toml's [environments]
deps =
    -r requirements/tests.txt
    -r requirements/harness.txt
commands = keras-harness pin {{posargs}}

[pytest]
harness_registry = {registry}
harness_build_dir = build
"""


def harness_requirement() -> str:
    """The harness as this interpreter has it installed, as a requirement another environment
    can install (PEP 610's ``direct_url.json``: a wheel, a folder or a git commit), else the
    released version."""
    from importlib.metadata import PackageNotFoundError, distribution

    name = "keras-migration-harness"
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        raise ConfigError(
            f"{name} is not installed in this Python, so init cannot say how the project "
            f"installs it. Fix: pip install it first, or pass --harness SPEC (a path, a git URL "
            f"or a wheel)."
        ) from None
    text = dist.read_text("direct_url.json")
    if not text:
        return f"{name}=={dist.version}"
    direct = json.loads(text)
    url = str(direct.get("url", ""))
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict):
        return f"{name} @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}"
    return f"{name} @ {url}"


def requirement_of(spec: str, project: Path) -> str:
    """``--harness``: a requirement line for a path (folder or wheel), a URL or a requirement."""
    name = "keras-migration-harness"
    path = Path(spec).expanduser()
    if not (path.is_absolute() or spec.startswith((".", "~"))):
        path = project / spec if (project / spec).exists() else path
    if path.exists():
        return f"{name} @ {path.resolve().as_uri()}"
    if "://" in spec and "@" not in spec.split("://", 1)[0]:
        return f"{name} @ {spec}"
    return spec


@dataclass
class Plan:
    """What ``init`` writes: relative path -> text; and what it found and left out."""

    files: dict[str, str]
    found: Found
    envs: list[str]


#: the scopes of a catalogue entry that name what ``harness.toml`` defines
_CUT_SCOPES = ("environments", "routes")
_ENTRY = "[[limitation]]\n"


def catalogue_for(text: str, config: Config) -> str:
    """The catalogue ``text`` cut to ``config``: each entry's ``environments`` and ``routes``
    lists keep the patterns that match something of ``config``; an entry whose list loses every
    pattern cannot apply there and is left out. Everything else is kept as written."""
    head, *entries = text.split(_ENTRY)
    kept = [head]
    for entry in entries:
        scopes = tomllib.loads(_ENTRY + entry)["limitation"][0].get("applies_to", {})
        lines = entry.split("\n")
        applies = True
        for scope in _CUT_SCOPES:
            patterns = scopes.get(scope)
            if patterns is None:
                continue
            matched = [p for p in patterns if matches_some(config, scope, p)]
            if not matched:
                applies = False
                break
            if matched != patterns:
                at = next(i for i, line in enumerate(lines) if line.startswith(f"{scope} = "))
                lines[at] = f"{scope} = {json.dumps(matched)}"
        if applies:
            kept.append("\n".join(lines))
    return _ENTRY.join(kept)


def _cut_config(text: str) -> Config:
    """``harness.toml`` as ``init`` writes it, loaded (for what it defines)."""
    with tempfile.TemporaryDirectory(prefix="keras-harness-init-") as folder:
        path = Path(folder) / "harness.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


def plan_project(project: Path, *, models: Path, envs: list[str], requirement: str) -> Plan:
    """Every file ``init`` writes into ``project``, without writing any."""
    config_text = harness_toml(envs)
    config = tomllib.loads(config_text)
    source = next(
        name
        for name, env in config["environments"].items()
        if _tf(env) == Spec.parse(DEFAULT_SOURCE).version
    )
    found = scan_models(project, models)
    registry_path = (models / Path(REGISTRY).name).relative_to(project).as_posix()
    registry = {"golden_dir": "../golden", "models": found.models}
    files = {
        "harness.toml": config_text,
        "tox.ini": TOX_INI.format(requirement=requirement, registry=registry_path, source=source),
        "compat/test_compat.py": shipped("test_compat.py"),
        "limitations.toml": catalogue_for(shipped("limitations.toml"), _cut_config(config_text)),
        "repairs.toml": shipped("repairs.toml"),
        registry_path: json.dumps(registry, indent=2, sort_keys=True) + "\n",
        "requirements/harness.txt": requirement + "\n",
    }
    for name in [*config["environments"], "tests"]:
        for ext in ("in", "txt"):
            lock = f"requirements/{name}.{ext}"
            try:
                files[lock] = shipped(lock)
            except FileNotFoundError:
                if ext == "txt":
                    raise
    return Plan(files, found, list(config["environments"]))


def write_project(project: Path, plan: Plan) -> list[str]:
    """Write ``plan`` into ``project``: nothing when any of its files exists already."""
    taken = sorted(name for name in plan.files if (project / name).exists())
    if taken:
        raise ConfigError(
            f"init would overwrite {len(taken)} file(s) in {project}: {', '.join(taken)}. Fix: "
            f"move them aside (init never writes over a file), or run init in another folder."
        )
    for name, text in plan.files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as handle:
            handle.write(text)
    return sorted(plan.files)
