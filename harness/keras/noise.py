"""TensorFlow's start-up noise, silenced in harness processes unless asked for.

Noise is log output that says nothing about a model: the CUDA plugins registering twice
(``Unable to register cuDNN factory``), the oneDNN and CPU-feature banners, absl's notice that it
logs to stderr before it is initialized, TF-TRT missing TensorRT, retracing and absl warnings of
the Python loggers, and the notes Keras and TensorFlow raise as Python warnings. Silenced by:

- ``TF_CPP_MIN_LOG_LEVEL=2`` where it is not set: TensorFlow's C++ INFO and WARNING logs (its
  ERROR logs still show);
- while TensorFlow is imported and lists its devices, a filter on file descriptor 2 that drops
  the lines matching :data:`STDERR_NOISE` (what TF 2.18-2.21 write before their logging is set
  up, whatever the log level) and passes every other line on as it comes;
- the Python loggers ``tensorflow`` and ``absl`` at ERROR;
- :data:`WARNING_FILTERS` (the pytest plugin gives pytest the same filters, which it applies
  per test).

Exceptions, error logs and every line not in the list still reach stderr. Verbose (``-v`` in
pytest, which the plugin passes on with :func:`set_verbose`, or ``HARNESS_VERBOSE=1`` for any
harness command) silences nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator

_ENV = "HARNESS_VERBOSE"
_verbose: bool | None = None

#: lines of TensorFlow's start-up that say nothing about a model
STDERR_NOISE = re.compile(
    r"Unable to register cu(DNN|FFT|BLAS) factory"
    r"|All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|computation placer already registered"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|TF-TRT Warning: Could not find TensorRT"
)
#: on a machine without an NVIDIA driver, CUDA cannot start: noise there, an error elsewhere
NO_DRIVER_NOISE = re.compile(r"failed call to cuInit")
_DRIVER = "/proc/driver/nvidia/version"
_NOISY_MODULES = r"(tensorflow|keras|tf_keras|absl)(\.|$)"
#: (message, category, module): regular expressions of Python's warnings filters
WARNING_FILTERS: tuple[tuple[str, type[Warning], str], ...] = (
    ("", UserWarning, _NOISY_MODULES),
    ("", DeprecationWarning, _NOISY_MODULES),
    ("", PendingDeprecationWarning, _NOISY_MODULES),
    ("", FutureWarning, _NOISY_MODULES),
    # numpy 2 asks TensorFlow's tensors for copy=; raised where the harness converts them
    ("__array__ implementation doesn't accept a copy keyword", DeprecationWarning, ""),
)
NOISY_LOGGERS = ("tensorflow", "absl")


def set_verbose(verbose: bool | None) -> None:
    """Show (True) or silence (False) the noise in this process; None: as ``HARNESS_VERBOSE``."""
    global _verbose
    _verbose = verbose


def verbose() -> bool:
    if _verbose is not None:
        return _verbose
    return os.environ.get(_ENV, "").strip().lower() not in ("", "0", "false", "no")


def pytest_filters() -> list[str]:
    """:data:`WARNING_FILTERS` as pytest's ``filterwarnings`` lines."""
    return [
        f"ignore:{message}:{kind.__name__}:{module}" for message, kind, module in WARNING_FILTERS
    ]


def silence_python() -> None:
    """The warnings filters and logger levels (nothing when verbose)."""
    if verbose():
        return
    for message, kind, module in WARNING_FILTERS:
        warnings.filterwarnings("ignore", message, kind, module)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def is_noise(line: str, *, driver: bool) -> bool:
    """Whether one line of stderr is start-up noise (``driver``: an NVIDIA driver is there)."""
    return bool(STDERR_NOISE.search(line) or (not driver and NO_DRIVER_NOISE.search(line)))


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """While inside, lines written to file descriptor 2 pass through :func:`is_noise`: noise is
    dropped, every other line goes on to the real stderr as it comes (nothing when verbose)."""
    if verbose():
        yield
        return
    try:
        saved = os.dup(2)
        reader, writer = os.pipe()
    except OSError:  # no stderr to filter
        yield
        return
    driver = os.path.exists(_DRIVER)
    forward = threading.Thread(target=_forward, args=(reader, saved, driver), daemon=True)
    forward.start()
    sys.stderr.flush()
    os.dup2(writer, 2)
    os.close(writer)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer closes: the thread reads to its end
        forward.join(timeout=10)
        if not forward.is_alive():  # else a child process holds the pipe: leave it the fd
            os.close(saved)


def _forward(reader: int, target: int, driver: bool) -> None:
    pending = b""
    with os.fdopen(reader, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            _write(target, [line + b"\n" for line in lines], driver)
    _write(target, [pending] if pending else [], driver)


def _write(target: int, lines: list[bytes], driver: bool) -> None:
    for line in lines:
        if not is_noise(line.decode("utf-8", "replace"), driver=driver):
            os.write(target, line)
