"""The one dispatcher: picks the module for the running Keras generation and the file's format.

``keras2`` covers TF 2.13-2.15 and tf_keras; ``keras3`` covers Keras 3 on TF >= 2.16. Each holds
only what differs between the generations (loading, SavedModel, recompiling, the compile
config); ``common`` what does not. Callers use :func:`backend`, a :class:`Backend`, and never
import them directly.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

from harness.core.errors import HarnessError
from harness.core.faults import inject
from harness.core.registry import file_reference
from harness.core.specs import Spec
from harness.keras import runtime

_SUPPORTED = {"keras", "h5", "savedmodel"}


class Backend(Protocol):
    """What the stages may ask of the Keras installed here."""

    GENERATION: int

    def load_model(self, path: Path, *, custom_objects: dict[str, Any], trusted: bool) -> Any: ...

    def save_model(self, model: Any, path: Path) -> None: ...

    def export_savedmodel(self, model: Any, path: Path) -> None: ...

    def load_savedmodel(
        self, path: Path, *, custom_objects: dict[str, Any], trusted: bool
    ) -> Any: ...

    def recompile(self, model: Any, metric_names: list[str]) -> None: ...

    def compile_summary(self, model: Any) -> dict[str, Any]: ...

    def predict(self, model: Any, x: list[Any], batch_size: int) -> list[Any]: ...

    def evaluate(
        self, model: Any, x: list[Any], y: list[Any], batch_size: int
    ) -> dict[str, float]: ...

    def optimizer_variables(self, model: Any) -> tuple[int | None, list[tuple[str, Any]]]: ...

    def train_step(
        self, model: Any, x: list[Any], y: list[Any], *, restore: bool = True
    ) -> tuple[dict[str, float], list[tuple[str, Any]], int | None, list[str]]: ...

    def trainable_paths(self, model: Any) -> list[tuple[str, tuple[int, ...]]]: ...

    def layer_outputs(
        self, model: Any, x: list[Any], batch_size: int
    ) -> list[tuple[str, list[Any]]]: ...

    def metric_objects(self, model: Any) -> dict[str, Any]: ...

    def input_specs(self, model: Any) -> list[Any]: ...

    def probe_metric(self, metric: Any, y_true: Any, y_pred: Any) -> float: ...

    def clear_session(self) -> None: ...


class _Generation:
    """A generation's own module, falling back to ``common`` for what they share."""

    def __init__(self, module: ModuleType):
        self._module = module
        self._common = importlib.import_module("harness.keras.formats.common")

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._module, name, None)
        return found if found is not None else getattr(self._common, name)


_BACKENDS: dict[int, Backend] = {}


def backend() -> Backend:
    """The backend of the Keras generation installed here (imports Keras, and TensorFlow
    unless Keras runs on jax or torch)."""
    runtime.import_keras()
    generation = 3 if runtime.keras_generation() >= 3 else 2
    if generation not in _BACKENDS:
        module = importlib.import_module(f"harness.keras.formats.keras{generation}")
        _BACKENDS[generation] = cast(Backend, _Generation(module))
    return _BACKENDS[generation]


#: clear Keras' session and collect garbage when resident memory grew this much since the last
COLLECT_AFTER_MB = 64
_collected_at: list[float] = []  # the resident memory (MB) after the last collection


def release() -> None:
    """Give back what the models a process let go of still hold, once the resident memory grew
    by :data:`COLLECT_AFTER_MB` since the last time: Keras' global state (layer name counters,
    graphs, kernel caches) and the reference cycles that keep the models alive. Not after every
    model: measured in TF 2.16 / Keras 3.15 on a small model, clearing the session after each
    one made the next load, predict, evaluate and train step 0.2 s slower (22%; its kernels are
    built again) and a full collection costs about 0.35 s, while together they kept only about
    1 MB per model (what TensorFlow itself keeps is left to batches of processes,
    :mod:`harness.verify.processes`). The custom gradients of the models let go of are dropped
    every time (:func:`forget_custom_gradients`). After the first collection, what is still
    alive is frozen out of the collector (:func:`freeze_lasting`). A no-op before TensorFlow is
    imported."""
    if "keras" not in sys.modules and "tensorflow" not in sys.modules:
        return
    forget_custom_gradients()
    now = resident_mb()
    if now is None or not _collected_at or now - _collected_at[-1] > COLLECT_AFTER_MB:
        backend().clear_session()
        gc.collect()
        if not _collected_at:
            freeze_lasting()
        _collected_at[:] = [resident_mb() or 0.0]


def freeze_lasting() -> None:
    """Move every object the collector tracks into its permanent generation (``gc.freeze``).
    Called once per process, by :func:`release` when the first model was let
    go of and collected: what is alive then is the process's lasting state (TensorFlow, Keras
    and the modules their first load, trace and train step imported lazily, about a million
    objects), which every full collection would otherwise walk again. Measured in a TF 2.16
    verification of 30 models: 14 full collections took 3.1 s, 0.22 s each. Frozen objects are
    still freed when their last reference goes; only a reference cycle among them is never
    collected, and they were alive after a full collection, so that is a one-time cost, not
    one per model."""
    gc.freeze()


#: the names ``tf.custom_gradient`` gives the gradients it registers in graph mode
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def forget_custom_gradients() -> int:
    """Drop the gradient functions that ``tf.custom_gradient`` registered in TensorFlow's global
    gradient registry while tracing the models a process let go of; returns how many.

    Each traced train step registers one (``ReplicaContext.all_reduce``, which Keras 2 and 3
    optimizers call, is a custom gradient), and its closure holds the step's whole graph: about
    2 MB per model that no ``clear_session`` or collection gives back (measured in TF 2.15 and
    2.16 on dense_regression: 2.1 MB per model before, 0.0-0.2 after). TensorFlow's own issues
    #27492 and #97697 describe it; tf-keras PR #898 proposes the same purge in clear_session.
    Only the graphs' symbolic gradients look these up, while they are traced; a model that is
    let go of is never traced again. The registry is private TensorFlow API (the same in TF
    2.13-2.21): where it is missing, nothing is dropped. A no-op without TensorFlow."""
    ops = sys.modules.get("tensorflow.python.framework.ops")
    entries = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(entries, dict):
        return 0
    names = [n for n in entries if isinstance(n, str) and n.startswith(CUSTOM_GRADIENT_PREFIX)]
    for name in names:
        del entries[name]
    return len(names)


def resident_mb() -> float | None:
    """This process's resident memory in MB (Linux ``/proc/self/statm``; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def import_file(path: Path) -> ModuleType:
    """Import a Python file by path, once per process (the same classes on every call)."""
    path = path.resolve()
    name = f"harness_file_{path.stem}"  # saved configs record it: keep it free of the checkout
    known = sys.modules.get(name)
    if known is not None and Path(known.__file__ or "") == path:
        return known
    if known is not None:  # another file with the same name
        name = f"{name}_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"
        if name in sys.modules:
            return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise HarnessError(
            f"Cannot import {path}: not a Python file. Fix: point the reference at an existing "
            f"'.py' file."
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_object(reference: str) -> Any:
    """Import ``module:attr`` or ``path/to/file.py:attr`` (a registry's custom object; a relative
    file path was made absolute by :meth:`harness.core.registry.Registry.custom_objects`)."""
    module_name, _, attr = reference.rpartition(":")
    if not module_name or not attr:
        raise HarnessError(
            f"Invalid custom object reference {reference!r}. Fix: write it as 'module:attr' or "
            f"'path/to/file.py:attr', e.g. 'my_layers:Scale'."
        )
    obj: Any = (
        import_file(Path(module_name))
        if file_reference(reference)
        else importlib.import_module(module_name)
    )
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load(spec: Spec, path: Path, *, custom_objects: dict[str, str], trusted: bool) -> Any:
    if spec.format not in _SUPPORTED:
        raise HarnessError(
            f"Loading format {spec.format!r} is not supported yet. Received: {path}. "
            f"Fix: register a .keras, .h5 or SavedModel form of the model."
        )
    objects: dict[str, Any] = {}
    for name, reference in custom_objects.items():
        try:
            objects[name] = import_object(reference)
        except (ImportError, AttributeError, OSError) as exc:
            raise HarnessError(
                f"Custom object {name!r} = {reference!r} for {path} cannot be imported "
                f"({type(exc).__name__}: {exc}). Fix: install the module that defines it, or "
                f"correct 'module:attr' in the registry's custom_objects."
            ) from None
    if spec.format == "savedmodel":
        return backend().load_savedmodel(path, custom_objects=objects, trusted=trusted)
    return backend().load_model(path, custom_objects=objects, trusted=trusted)


def save(model: Any, spec: Spec, path: Path) -> None:
    """Save ``model`` as ``spec`` at ``path`` atomically: written beside it under a temporary
    name, then renamed over it (a SavedModel folder: the old one is moved aside first)."""
    if spec.format not in _SUPPORTED:
        raise HarnessError(
            f"Saving format {spec.format!r} is not supported yet. Received: {path}. "
            f"Fix: use a .keras, .h5 or .savedmodel spec in the step."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*"):
        # left by a save that was killed before its rename
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / f"new{spec.suffix}"
    try:
        if spec.format == "savedmodel":
            backend().export_savedmodel(model, tmp)
        else:
            backend().save_model(model, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        inject("save:before-replace")
        if path.is_dir():  # a folder cannot be renamed over: move the old one aside first
            os.replace(path, tmp.parent / "old")
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
