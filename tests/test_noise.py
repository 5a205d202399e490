"""TensorFlow's start-up noise is silenced in harness processes and shown when verbose; every
other line of stderr, and every error, still shows (no TensorFlow: the noise is written here)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator

import pytest

from harness.keras import noise

#: what TF 2.16-2.21 write to stderr on import on a machine without a GPU (log level 2)
STARTUP = [
    "2026-11-23 14:36:08.154256: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] "
    "Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one "
    "has already been registered",
    "E0000 00:00:1795444971.575183   21698 cuda_dnn.cc:8310] Unable to register cuDNN factory: "
    "Attempting to register factory for plugin cuDNN when one has already been registered",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795444915.126942   21029 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1795444915.127285   21029 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "W0000 00:00:1795444974.916041   21730 computation_placer.cc:177] computation placer already "
    "registered. Please check linkage and avoid linking the same target more than once.",
]
CUINIT = (
    "E0000 00:00:1795445011.366922   22094 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
REAL = "E0000 00:00:1795445011.366922   22094 op_kernel.cc:1] OOM when allocating tensor"


@pytest.fixture
def quiet() -> Iterator[None]:
    noise.set_verbose(False)
    yield
    noise.set_verbose(None)


def test_startup_noise_is_known_and_real_lines_are_not() -> None:
    assert all(noise.is_noise(line, driver=True) for line in STARTUP)
    assert not noise.is_noise(REAL, driver=False)
    assert not noise.is_noise("Traceback (most recent call last):", driver=False)
    # CUDA failing to start is noise only where no NVIDIA driver is installed
    assert noise.is_noise(CUINIT, driver=False)
    assert not noise.is_noise(CUINIT, driver=True)


def test_the_stderr_filter_drops_noise_and_passes_everything_else(
    quiet: None, capfd: pytest.CaptureFixture[str]
) -> None:
    with noise.quiet_stderr():
        os.write(
            2, ("\n".join([*STARTUP[:3], REAL, *STARTUP[3:], "no newline at the end"])).encode()
        )
    assert capfd.readouterr().err == f"{REAL}\nno newline at the end"


def test_verbose_shows_the_noise(capfd: pytest.CaptureFixture[str]) -> None:
    noise.set_verbose(True)
    try:
        with noise.quiet_stderr():
            os.write(2, (STARTUP[0] + "\n").encode())
    finally:
        noise.set_verbose(None)
    assert capfd.readouterr().err == STARTUP[0] + "\n"


def test_harness_verbose_in_the_environment_is_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    noise.set_verbose(None)
    monkeypatch.setenv("HARNESS_VERBOSE", "1")
    assert noise.verbose()
    monkeypatch.setenv("HARNESS_VERBOSE", "0")
    assert not noise.verbose()


def test_python_notes_of_tensorflow_and_keras_are_silenced_but_not_their_errors(
    quiet: None, caplog: pytest.LogCaptureFixture
) -> None:
    levels = {name: logging.getLogger(name).level for name in noise.NOISY_LOGGERS}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            noise.silence_python()
            for module in ("keras.src.saving.saving_lib", "tf_keras.src.engine", "tensorflow"):
                warnings.warn_explicit("a note", UserWarning, "f.py", 1, module=module)
            warnings.warn_explicit("deprecated", DeprecationWarning, "f.py", 1, module="keras")
            warnings.warn_explicit(
                "__array__ implementation doesn't accept a copy keyword, so passing copy=False "
                "failed.",
                DeprecationWarning,
                "f.py",
                1,
                module="harness.keras.formats.common",
            )
            warnings.warn_explicit("the user's own", UserWarning, "f.py", 1, module="cases.mine")
            warnings.warn_explicit("kerasy", UserWarning, "f.py", 1, module="kerasy")
        logging.getLogger("tensorflow").warning("5 out of the last 5 calls triggered retracing")
        logging.getLogger("absl").warning("Compiled the loaded model, but ...")
        logging.getLogger("tensorflow").error("a real error")
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert [str(w.message) for w in caught] == ["the user's own", "kerasy"]
    assert [r.getMessage() for r in caplog.records] == ["a real error"]


def test_pytest_gets_the_same_filters() -> None:
    assert noise.pytest_filters() == [
        r"ignore::UserWarning:(tensorflow|keras|tf_keras|absl)(\.|$)",
        r"ignore::DeprecationWarning:(tensorflow|keras|tf_keras|absl)(\.|$)",
        r"ignore::PendingDeprecationWarning:(tensorflow|keras|tf_keras|absl)(\.|$)",
        r"ignore::FutureWarning:(tensorflow|keras|tf_keras|absl)(\.|$)",
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning:",
    ]
