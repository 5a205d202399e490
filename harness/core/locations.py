"""Which file a model's spec means, and where the harness writes its own.

The files a user registered are read-only to the harness: it opens them and never writes over
them, and it never records anything in the user's registry. Its own conversions live under the
build folder, one folder per model (``<build>/converted/<model>/<model>.<spec>``), and are
described by their step records. A spec that the user registered besides the source (for example
the ``.h5`` saved at training time next to the ``.keras``) is verified as given, under its own
route name (``<route>+registered``), beside the harness's conversion of the same spec.
"""

from __future__ import annotations

from pathlib import Path

from harness.core.registry import Registry
from harness.core.specs import Spec

CONVERTED = "converted"
#: the suffix of the route name under which a user's own file of a route's spec is verified
REGISTERED = "+registered"


def converted_path(build_dir: Path, model_id: str, spec: Spec | str) -> Path:
    """Where the step that writes ``spec`` puts its output for ``model_id``."""
    return build_dir / CONVERTED / model_id / f"{model_id}.{spec}"


def model_path(
    registry: Registry, build_dir: Path, model_id: str, spec: Spec, *, registered: bool = False
) -> Path:
    """The file of ``spec`` for ``model_id``: the registered source (or, with ``registered``,
    the user's own file of ``spec``), otherwise the harness's conversion under ``build_dir``."""
    if registered or spec == registry.get(model_id).source:
        return registry.resolve(model_id, spec)
    return converted_path(build_dir, model_id, spec)


def registered_specs(registry: Registry, model_id: str) -> list[str]:
    """The specs the user registered for ``model_id`` besides its source, in registry order."""
    entry = registry.get(model_id)
    return [spec for spec in entry.paths if spec != str(entry.source)]


def registered_route(route: str) -> str:
    """The route name under which the user's own file of ``route``'s spec is verified."""
    return f"{route}{REGISTERED}"


def base_route(route: str) -> str:
    """The configured route a route name stands for (``direct-h5+registered`` -> ``direct-h5``):
    the limitations of a route apply to the user's file of its spec too."""
    return route.removesuffix(REGISTERED)


def is_registered(route: str) -> bool:
    return route.endswith(REGISTERED)
