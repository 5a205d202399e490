"""The harness configuration (``harness.toml``): environments, steps and routes.

The chain of steps is data: each step names the environment that runs it, the spec it loads and
the spec it saves. A route is a named spec that a target environment loads; the steps that lead
to it from a model's source spec are its lineage.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.core.compare import Tolerance
from harness.core.errors import ConfigError, SpecError
from harness.core.files import read_toml
from harness.core.specs import Spec

DEFAULT_CONFIG = "harness.toml"
TENSORFLOW = "tensorflow"
#: Keras 3 backends an environment may run; each but TensorFlow is pinned by its own key (the
#: backend's name) and installed without TensorFlow
BACKEND_PINS = ("jax", "torch")
BACKENDS = (TENSORFLOW, *BACKEND_PINS)
#: what each backend's pin installs (jax and jaxlib are released together)
BACKEND_DISTS = {"jax": ("jax", "jaxlib"), "torch": ("torch",)}


@dataclass(frozen=True)
class Environment:
    """One tox environment: the TF version whose specs it writes, the routes it verifies and the
    distributions it pins (``tensorflow``, ``keras``, ``tf-keras``)."""

    name: str
    version: str
    keras: int  # the generation that loads the models: 2 under tf_keras (@keras2 / @keras3)
    verify: tuple[str, ...]
    description: str = ""
    pins: tuple[tuple[str, str], ...] = ()
    #: the Keras 3 backend it runs (``KERAS_BACKEND``): ``tensorflow``, or ``jax`` / ``torch`` in
    #: an environment without TensorFlow (its ``version`` is then empty: it writes no spec)
    backend: str = "tensorflow"

    @property
    def tensorflow(self) -> bool:
        """Whether TensorFlow is installed here (every environment but a jax/torch one)."""
        return self.backend == TENSORFLOW

    @property
    def legacy(self) -> bool:
        """Keras 2 through tf_keras on TF >= 2.16 (``TF_USE_LEGACY_KERAS=1``)."""
        return any(name == "tf-keras" for name, _ in self.pins)


@dataclass(frozen=True)
class Step:
    """Load ``source`` in ``env`` and save ``target``, optionally recompiling the metrics."""

    env: str
    source: Spec
    target: Spec
    recompile_metrics: bool = False
    models: tuple[str, ...] = ("*",)  # model id patterns the step converts
    repair: bool = False  # load through the repair rules of repairs.toml (harness.core.repairs)
    #: carry the Keras 2 optimizer state of the step's .h5 onto the Keras 3 optimizer
    #: (harness.keras.transplant) before saving
    transplant_optimizer: bool = False

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}@{self.env}"

    def converts(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)


@dataclass(frozen=True)
class Route:
    """A named spec that target environments load."""

    name: str
    spec: Spec
    description: str = ""
    keras: int | None = None  # verified by default only in environments of this Keras generation


@dataclass
class Config:
    path: Path
    environments: dict[str, Environment]
    steps: list[Step]
    routes: dict[str, Route]
    extra: dict[str, Any] = field(default_factory=dict)
    #: how far the golden may be from the source model replayed on another runner's hardware
    #: (``[numerics.cross_hardware]``); exact when not declared
    cross_hardware: Tolerance = field(default_factory=Tolerance)
    #: how far Keras on another backend may move what the TensorFlow backend computes on the
    #: same runner (``[numerics.backends.<backend>]``); exact when not declared
    backend_tolerances: dict[str, Tolerance] = field(default_factory=dict)

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            raise ConfigError(
                f"Unknown environment {name!r} in {self.path}. Received environments: "
                f"{sorted(self.environments)}. Fix: add [environments.{name}] or set "
                f"HARNESS_ENV to one of them."
            ) from None

    def steps_for(self, env: str) -> list[Step]:
        return [step for step in self.steps if step.env == env]

    def producer(self, spec: Spec) -> Step | None:
        for step in self.steps:
            if step.target == spec:
                return step
        return None

    def lineage(self, spec: Spec, source: Spec, model: str | None = None) -> list[Step] | None:
        """The steps from ``source`` to ``spec``, or None when ``spec`` cannot be reached (for
        ``model``: a step whose ``models`` leave it out cuts the way)."""
        chain: list[Step] = []
        current = spec
        while current != source:
            step = self.producer(current)
            if step is None or len(chain) > len(self.steps):
                return None
            if model is not None and not step.converts(model):
                return None
            chain.append(step)
            current = step.source
        return list(reversed(chain))

    def routes_for(self, env: str) -> list[Route]:
        return [self.routes[name] for name in self.environment(env).verify]

    def route_of(self, spec: Spec) -> Route | None:
        """The configured route that loads ``spec`` (the first, in configuration order)."""
        return next((route for route in self.routes.values() if route.spec == spec), None)


def _require(table: dict[str, Any], key: str, kind: type, where: str, path: Path) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise ConfigError(
            f"{where} in {path} needs {key!r} of type {kind.__name__}. Received: {value!r}. "
            f"Fix: set {key} = ... in that table."
        )
    return value


def _table(data: dict[str, Any], key: str, kind: type, path: Path, example: str) -> Any:
    """A top-level ``key`` of harness.toml, if it has the TOML type ``kind`` (default empty)."""
    value = data.get(key, kind())
    if not isinstance(value, kind):
        name = "a table" if kind is dict else "an array of tables"
        raise ConfigError(
            f"{key} in {path} must be {name}. Received: {value!r}. Fix: write it as {example}."
        )
    return value


def _entry_table(value: Any, where: str, path: Path, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} in {path} must be a table. Received: {value!r}. Fix: write it as {example}."
        )
    return value


def _spec(text: Any, where: str, path: Path) -> Spec:
    try:
        return Spec.parse(text)
    except SpecError as exc:
        raise ConfigError(f"{where} in {path}: {exc}") from None


def load_config(path: Path | str = DEFAULT_CONFIG) -> Config:
    path = Path(path).absolute()
    data = read_toml(
        path,
        what="Harness configuration",
        missing="run from the project root or pass --config PATH (HARNESS_CONFIG).",
        error=ConfigError,
    )

    routes: dict[str, Route] = {}
    route_example = '[routes.NAME] with spec = "2.16.keras"'
    for name, table in _table(data, "routes", dict, path, route_example).items():
        where = f"[routes.{name}]"
        table = _entry_table(table, where, path, route_example)
        spec = _spec(_require(table, "spec", str, where, path), where, path)
        keras = table.get("keras")
        if keras not in (None, 2, 3):
            raise ConfigError(
                f"{where} in {path}: keras must be 2 or 3. Received: {keras!r}. Fix: keras = 3 "
                f"for a route every Keras 3 environment verifies, or leave it out."
            )
        routes[name] = Route(name, spec, str(table.get("description", "")), keras)

    environments = {
        name: _environment(name, table, routes, path)
        for name, table in _table(
            data, "environments", dict, path, '[environments] with tf216 = { tensorflow = "..." }'
        ).items()
    }

    steps: list[Step] = []
    step_example = '[[steps]] with env, from and to (e.g. from = "2.13.keras")'
    for index, table in enumerate(_table(data, "steps", list, path, step_example)):
        where = f"[[steps]] #{index + 1}"
        table = _entry_table(table, where, path, step_example)
        env = _require(table, "env", str, where, path)
        if env not in environments:
            raise ConfigError(
                f"{where} in {path} runs in unknown environment {env!r}. Received "
                f"environments: {sorted(environments)}. Fix: add [environments.{env}]."
            )
        source = _spec(_require(table, "from", str, where, path), where, path)
        target = _spec(_require(table, "to", str, where, path), where, path)
        if not environments[env].tensorflow:
            raise ConfigError(
                f"{where} in {path} runs in {env}, a {environments[env].backend} environment "
                f"without TensorFlow, which writes no spec. Fix: run the step in a TensorFlow "
                f"environment; {env} verifies what the steps wrote."
            )
        if target.version != environments[env].version:
            raise ConfigError(
                f"{where} in {path} writes {target} in {env}, which writes version "
                f"{environments[env].version}. Fix: name the spec after the environment that "
                f"writes it."
            )
        recompile = table.get("recompile_metrics", False)
        if not isinstance(recompile, bool):
            raise ConfigError(
                f"{where} in {path}: recompile_metrics must be true or false. "
                f"Received: {recompile!r}. Fix: write recompile_metrics = true, or leave it out."
            )
        repair = table.get("repair", False)
        if not isinstance(repair, bool):
            raise ConfigError(
                f"{where} in {path}: repair must be true or false. Received: {repair!r}. Fix: "
                f"write repair = true, or leave it out."
            )
        transplant = table.get("transplant_optimizer", False)
        if not isinstance(transplant, bool):
            raise ConfigError(
                f"{where} in {path}: transplant_optimizer must be true or false. Received: "
                f"{transplant!r}. Fix: write transplant_optimizer = true, or leave it out."
            )
        if transplant and (source.format != "h5" or environments[env].keras < 3):
            raise ConfigError(
                f"{where} in {path}: transplant_optimizer carries a Keras 2 .h5's optimizer "
                f"state into Keras 3; this step loads {source} in {env} (Keras "
                f"{environments[env].keras}). Fix: set it only on a step from a .h5 spec that "
                f"runs in a Keras 3 environment."
            )
        models = table.get("models", ["*"])
        if (
            not isinstance(models, list)
            or not models
            or not all(isinstance(m, str) for m in models)
        ):
            raise ConfigError(
                f"{where} in {path}: models must be a non-empty list of model id patterns. "
                f'Received: {models!r}. Fix: e.g. models = ["saved_model_*"], or leave it out.'
            )
        steps.append(Step(env, source, target, recompile, tuple(models), repair, transplant))

    producers: dict[Spec, Step] = {}
    for step in steps:
        if step.target in producers:
            raise ConfigError(
                f"Two steps in {path} write {step.target}: {producers[step.target].name} and "
                f"{step.name}. Fix: give each spec one producer."
            )
        producers[step.target] = step
    derived = keras3_routes(routes, steps, environments)
    for name, environment in environments.items():
        if environment.verify == (_KERAS3_ROUTES,):
            environments[name] = replace(environment, verify=derived)
    known = {"routes", "environments", "steps", "numerics"}
    extra = {k: v for k, v in data.items() if k not in known}
    cross_hardware, backends = _numerics(data, path)
    return Config(path, environments, steps, routes, extra, cross_hardware, backends)


def _numerics(data: dict[str, Any], path: Path) -> tuple[Tolerance, dict[str, Tolerance]]:
    """``[numerics.cross_hardware]`` and ``[numerics.backends.<backend>]``: each ``max_abs``
    and/or ``max_ulp``, with a ``reason``."""
    example = "[numerics.cross_hardware] with max_abs, max_ulp and reason"
    numerics = _table(data, "numerics", dict, path, example)
    table = numerics.get("cross_hardware")
    cross = Tolerance() if table is None else _tolerance(table, "[numerics.cross_hardware]", path)
    backends = _entry_table(
        numerics.get("backends", {}), "[numerics.backends]", path, "[numerics.backends.jax]"
    )
    unknown = sorted(set(backends) - set(BACKEND_PINS))
    if unknown:
        raise ConfigError(
            f"[numerics.backends] in {path} names unknown backend {unknown[0]!r}. Received: "
            f"{sorted(backends)}. Fix: use one of {list(BACKEND_PINS)}."
        )
    return cross, {
        name: _tolerance(value, f"[numerics.backends.{name}]", path)
        for name, value in backends.items()
    }


def _tolerance(table: Any, where: str, path: Path) -> Tolerance:
    example = f"{where} with max_abs, max_ulp and reason"
    table = _entry_table(table, where, path, example)
    unknown = sorted(set(table) - {"max_abs", "max_ulp", "reason"})
    reason = table.get("reason")
    max_abs, max_ulp = table.get("max_abs", 0.0), table.get("max_ulp", 0)
    if (
        unknown
        or not isinstance(reason, str)
        or not reason.strip()
        or not isinstance(max_abs, int | float)
        or not isinstance(max_ulp, int)
        or max_abs < 0
        or max_ulp < 0
    ):
        raise ConfigError(
            f"{where} in {path} is invalid. Received: {table!r}. Fix: give max_abs (a number "
            f">= 0) and/or max_ulp (an integer >= 0) and a reason that says how they were "
            f"measured."
        )
    return Tolerance(float(max_abs), int(max_ulp), reason)


_ENV_KEYS = (
    "tensorflow",
    "keras",
    "tf_keras",
    "version",
    "verify",
    "description",
    "backend",
    *BACKEND_PINS,
)
#: an exact release, with a local label where a wheel index names one (torch's ``2.13.0+cpu``)
_PIN = re.compile(r"^\d+(\.\d+)*([a-z]+\d*)?(\.post\d+)?(\+[a-z0-9.]+)?$")


def _pin(table: dict[str, Any], key: str, where: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None or (key == "keras" and isinstance(value, int)):
        return None
    if not isinstance(value, str) or not _PIN.fullmatch(value):
        raise ConfigError(
            f"{where} in {path}: {key} must be an exact version string. Received: {value!r}. "
            f'Fix: pin one release, e.g. {key} = "2.16.2".'
        )
    return value


def _environment(name: str, table: Any, routes: dict[str, Route], path: Path) -> Environment:
    """One ``[environments]`` entry: a one-line pin table such as
    ``tf221 = { tensorflow = "2.21.0", keras = "3.13.2" }``, or the older
    ``version``/``keras = <generation>`` form (then nothing is pinned here)."""
    where = f"[environments.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(
            f"{where} in {path} must be a table. Received: {table!r}. "
            f'Fix: {name} = {{ tensorflow = "2.21.0", keras = "3.13.2" }}.'
        )
    unknown = sorted(set(table) - set(_ENV_KEYS))
    if unknown:
        raise ConfigError(
            f"{where} in {path} has unknown keys {unknown}. Fix: use only {list(_ENV_KEYS)}."
        )
    backend = table.get("backend", TENSORFLOW)
    if backend not in BACKENDS:
        raise ConfigError(
            f"{where} in {path}: backend must be one of {list(BACKENDS)}. Received: "
            f'{backend!r}. Fix: e.g. backend = "jax", or leave it out (TensorFlow).'
        )
    if backend != TENSORFLOW:
        return _backend_environment(name, table, routes, backend, where, path)
    stray = [key for key in BACKEND_PINS if key in table]
    if stray:
        raise ConfigError(
            f"{where} in {path} pins {stray[0]} in a TensorFlow environment. Received: "
            f'{table!r}. Fix: add backend = "{stray[0]}" (and drop tensorflow), or remove '
            f"{stray[0]}."
        )
    tensorflow = _pin(table, "tensorflow", where, path)
    keras = _pin(table, "keras", where, path)
    tf_keras = _pin(table, "tf_keras", where, path)
    version = table.get("version")
    if version is None and tensorflow is not None:
        version = ".".join(tensorflow.split(".")[:2])
    if (
        not isinstance(version, str)
        or not re.fullmatch(r"\d+\.\d+", version)
        or (tensorflow is not None and not tensorflow.startswith(f"{version}."))
    ):
        raise ConfigError(
            f'{where} in {path} needs a TensorFlow version: tensorflow = "X.Y.Z" (or version '
            f'= "X.Y" matching it). Received: tensorflow={tensorflow!r}, version={version!r}. '
            f'Fix: e.g. {name} = {{ tensorflow = "2.16.2", keras = "3.3.3" }}.'
        )
    if tf_keras is not None:
        generation = 2
    elif keras is not None:
        generation = int(keras.split(".")[0])
    else:
        generation = _require(table, "keras", int, where, path)
    pins = tuple(
        (dist, pinned)
        for dist, pinned in (("tensorflow", tensorflow), ("keras", keras), ("tf-keras", tf_keras))
        if pinned is not None
    )
    verify = table.get("verify")
    if verify is None:  # every route the environment could receive: specs no newer than it;
        # a route with `keras = N` only where the models load with Keras N
        ceiling = tuple(int(part) for part in version.split("."))
        verify = [
            r.name
            for r in routes.values()
            if r.spec.version_key <= ceiling and r.keras in (None, generation)
        ]
    _check_verify(verify, routes, "every route it can load", where, path)
    description = table.get("description")
    if description is None:
        description = f"TensorFlow {tensorflow or version}"
        if tf_keras is not None:
            description += f" with tf_keras {tf_keras} (TF_USE_LEGACY_KERAS=1)"
        elif keras is not None:
            description += f", Keras {keras}"
    return Environment(name, version, generation, tuple(verify), str(description), pins)


def _backend_environment(
    name: str, table: dict[str, Any], routes: dict[str, Route], backend: str, where: str, path: Path
) -> Environment:
    """A Keras 3 environment on JAX or PyTorch, e.g. ``keras315-jax = { keras = "3.15.1",
    backend = "jax", jax = "0.10.2" }``: no TensorFlow, so it writes no spec (no steps, no
    version); it verifies the Keras 3 routes (default: :func:`keras3_routes`, set once the
    steps are read)."""
    tf_keys: list[str] = [key for key in ("tensorflow", "tf_keras", "version") if key in table]
    tf_keys += [key for key in BACKEND_PINS if key in table and key != backend]
    if tf_keys:
        raise ConfigError(
            f"{where} in {path} runs Keras on {backend}, without TensorFlow, but sets "
            f"{tf_keys[0]}. Received: {table!r}. Fix: remove {tf_keys[0]} (a {backend} "
            f"environment pins keras and {backend} only)."
        )
    keras = _pin(table, "keras", where, path)
    pinned = _pin(table, backend, where, path)
    if keras is None or not keras.startswith("3.") or pinned is None:
        raise ConfigError(
            f"{where} in {path} needs an exact Keras 3 and {backend} release. Received: "
            f"keras={table.get('keras')!r}, {backend}={table.get(backend)!r}. Fix: e.g. "
            f'{name} = {{ keras = "3.15.1", backend = "{backend}", {backend} = '
            f'"{"0.10.2" if backend == "jax" else "2.13.0+cpu"}" }}.'
        )
    pins = (("keras", keras), *((dist, pinned) for dist in BACKEND_DISTS[backend]))
    verify = table.get("verify", [])
    _check_verify(verify, routes, "every Keras 3 route", where, path)
    description = table.get("description") or f"Keras {keras} on {backend} {pinned}, no TensorFlow"
    derived = (_KERAS3_ROUTES,) if "verify" not in table else tuple(verify)
    return Environment(name, "", 3, derived, str(description), pins, backend)


def _check_verify(
    verify: Any, routes: dict[str, Route], default: str, where: str, path: Path
) -> None:
    """Refuse an environment's ``verify`` that is not a list of known route names
    (``default``: what leaving it out verifies)."""
    if not isinstance(verify, list) or not all(isinstance(r, str) for r in verify):
        raise ConfigError(
            f"{where} in {path}: verify must be a list of route names. Received: {verify!r}. "
            f'Fix: e.g. verify = ["chain"], or leave it out ({default}).'
        )
    for route in verify:
        if route not in routes:
            raise ConfigError(
                f"{where} in {path} verifies unknown route {route!r}. Received routes: "
                f"{sorted(routes)}. Fix: add [routes.{route}] or remove it from verify."
            )


#: stands for the default routes of a jax/torch environment until the steps are read
_KERAS3_ROUTES = "<keras3-routes>"


def keras3_routes(
    routes: dict[str, Route], steps: list[Step], environments: dict[str, Environment]
) -> tuple[str, ...]:
    """What a jax or torch environment loads by default: every route to a ``.keras`` file that a
    Keras 3 step (TensorFlow backend) writes (the chain's, the repaired route's), and every
    exported SavedModel, which Keras 3 serves only on TensorFlow (TFSMLayer): its cells show,
    per model, that serving it needs TensorFlow."""
    writers = {step.target: environments[step.env] for step in steps}
    return tuple(
        route.name
        for route in routes.values()
        if route.spec in writers
        and (
            route.spec.format == "savedmodel"
            or (
                route.spec.format == "keras"
                and writers[route.spec].keras == 3
                and not writers[route.spec].legacy
            )
        )
    )
