"""The running TensorFlow environment: lazy import, versions, device.

TensorFlow is imported here (and in ``formats/``) only, and only when a function needs it, without
its start-up noise unless verbose (:mod:`harness.keras.noise`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
import sys
from typing import Any

from harness.core.errors import EnvironmentMismatchError
from harness.keras import noise


@functools.cache
def import_tensorflow() -> Any:
    """Import TensorFlow once, without its start-up noise (see :mod:`harness.keras.noise`; its
    devices are listed here, inside the filter, since that is when CUDA starts)."""
    if not noise.verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    noise.silence_python()
    with noise.quiet_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    return tf


def keras_backend() -> str:
    """The Keras 3 backend this process runs (``KERAS_BACKEND``, which the tox plugin sets from
    the environment's ``backend``; TensorFlow when unset, as Keras itself defaults)."""
    return os.environ.get("KERAS_BACKEND", "") or "tensorflow"


@functools.cache
def import_keras() -> Any:
    """What the models load with, imported once, quietly: on the TensorFlow backend TensorFlow
    (:func:`import_tensorflow`: Keras 2, tf_keras and Keras 3 alike, each imported by the
    module that uses it), on jax or torch Keras 3 alone (their environments have no
    TensorFlow)."""
    if keras_backend() == "tensorflow":
        return import_tensorflow()
    if not noise.verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # jaxlib logs through absl too
    noise.silence_python()
    with noise.quiet_stderr():
        import keras
    return keras


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def legacy_keras() -> bool:
    return os.environ.get("TF_USE_LEGACY_KERAS", "") in {"1", "true", "True"}


@functools.cache
def keras_version() -> str:
    """The version of the Keras that ``tf.keras`` is in this environment (read once per
    process: every backend call asks for the generation)."""
    tf_version = _dist_version("tensorflow") or _dist_version("tensorflow-cpu") or "0.0"
    major_minor = tuple(int(p) for p in tf_version.split(".")[:2])
    if major_minor >= (2, 16) and legacy_keras():
        return _dist_version("tf-keras") or "?"
    return _dist_version("keras") or "?"


def keras_generation() -> int:
    return int(keras_version().split(".")[0]) if keras_version()[0].isdigit() else 2


@functools.cache
def _versions() -> dict[str, str]:
    found = {
        "tensorflow": _dist_version("tensorflow") or _dist_version("tensorflow-cpu") or "?",
        "keras": keras_version(),
        "numpy": _dist_version("numpy") or "?",
        "h5py": _dist_version("h5py") or "?",
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
    }
    backend = keras_backend()
    if backend != "tensorflow":  # a result names the backend that computed it, and its version
        found["backend"] = backend
        found[backend] = _dist_version(backend) or "?"
    return found


def versions() -> dict[str, str]:
    """Versions that a result depends on, read once per process from package metadata (no
    TensorFlow import); a copy, so callers may change it."""
    return dict(_versions())


def device() -> tuple[str, str]:
    """``("gpu", name)`` when TensorFlow sees a GPU, else ``("cpu", processor)``. On jax or
    torch the CPU (their environments install CPU builds)."""
    if keras_backend() != "tensorflow":
        return "cpu", cpu_model()
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return "gpu", str(details.get("device_name", gpus[0].name))
    return "cpu", cpu_model()


def gpu_details() -> dict[str, str] | None:
    """The first GPU's name, compute capability and driver, and the CUDA/cuDNN versions of
    this TensorFlow build; None without a GPU (or TensorFlow)."""
    if keras_backend() != "tensorflow":
        return None
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    build = tf.sysconfig.get_build_info()
    driver = "?"
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8") as handle:
            words = handle.readline().split()
            driver = next((w for w in words if w[:1].isdigit() and "." in w), "?")
    except OSError:
        pass
    capability = details.get("compute_capability")
    return {
        "name": str(details.get("device_name", gpus[0].name)),
        "compute_capability": ".".join(str(p) for p in capability) if capability else "?",
        "driver": driver,
        "cuda": str(build.get("cuda_version", "?")),
        "cudnn": str(build.get("cudnn_version", "?")),
    }


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def infer_environment(environments: dict[str, tuple[str, int]]) -> str | None:
    """The one configured environment matching the installed TensorFlow and Keras generation.

    ``environments`` maps a name to ``(tf major.minor, keras generation)``; None when zero or
    several match (then the user must name it).
    """
    installed = ".".join(versions()["tensorflow"].split(".")[:2])
    generation = keras_generation()
    matches = [
        name
        for name, (version, keras) in environments.items()
        if version == installed and keras == generation
    ]
    return matches[0] if len(matches) == 1 else None


def check_environment(
    expected_version: str,
    env: str,
    pins: tuple[tuple[str, str], ...] = (),
    backend: str = "tensorflow",
) -> None:
    """Refuse to run when the installed TensorFlow is not the environment's, or when a
    distribution that ``harness.toml`` pins for it is installed in another version. A jax or
    torch environment must have no TensorFlow at all (what it proves is TF-free loading) and
    run that backend."""
    if backend != "tensorflow":
        check_backend(env, backend)
        check_pins(env, pins)
        return
    installed = versions()["tensorflow"]
    if ".".join(installed.split(".")[:2]) != expected_version:
        raise EnvironmentMismatchError(
            f"Environment {env} expects TensorFlow {expected_version}.x. Received: TensorFlow "
            f"{installed} in {sys.prefix}. Fix: run it through tox (tox -e {env}) or set "
            f"HARNESS_ENV to the environment you are in."
        )
    check_pins(env, pins)


def check_pins(env: str, pins: tuple[tuple[str, str], ...]) -> None:
    """Refuse to run when a distribution pinned for ``env`` is installed in another version
    (a stale lock file or a virtualenv that predates a pin change)."""
    for dist, pinned in pins:
        found = _dist_version(dist)
        if found != pinned:
            raise EnvironmentMismatchError(
                f"Environment {env} pins {dist}=={pinned} in harness.toml. Received: {dist} "
                f"{found or 'not installed'} in {sys.prefix}. Fix: tox -e pin -- {env}, then "
                f"recreate the environment (tox -r -e {env})."
            )


def check_backend(env: str, backend: str) -> None:
    """Refuse to run a jax/torch environment where TensorFlow is importable or Keras would pick
    another backend."""
    if importlib.util.find_spec("tensorflow") is not None:
        raise EnvironmentMismatchError(
            f"Environment {env} runs Keras on {backend} without TensorFlow. Received: "
            f"TensorFlow importable in {sys.prefix}. Fix: recreate the environment from its "
            f"lock file (tox -r -e {env}); nothing in it may install tensorflow."
        )
    if keras_backend() != backend:
        raise EnvironmentMismatchError(
            f"Environment {env} runs Keras on {backend}. Received: KERAS_BACKEND="
            f"{os.environ.get('KERAS_BACKEND', '')!r}. Fix: run it through tox (tox -e {env}), "
            f"which sets KERAS_BACKEND={backend}."
        )
