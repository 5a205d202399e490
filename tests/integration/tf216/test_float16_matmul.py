"""Why the mixed_precision case declares a float16-sized tolerance (tox -e tests-tf216): from TF
2.16 on, TensorFlow's CPU float16 MatMul accumulates in float32 and rounds once, where TF 2.13-2.15
rounded the running sum to float16 after every addition (measured on the case's Dense layer
'hidden', see ``cases/mixed_precision.py``). A canary for that reason: if TensorFlow changes the
kernel again, this fails and the tolerance has to be measured again."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow", minversion="2.16")

#: the shape of the case's 'hidden' layer: 48 samples, 128 inputs (flattened float16 ReLU
#: activations), 16 units
SAMPLES, INPUTS, UNITS = 48, 128, 16


def operands() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    x = rng.uniform(0.0, 2.0, size=(SAMPLES, INPUTS)).astype(np.float16)
    w = (rng.normal(size=(INPUTS, UNITS)) * 0.1).astype(np.float16)
    return x, w


def float16_running_sum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = np.zeros((x.shape[0], w.shape[1]), dtype=np.float16)
    for k in range(x.shape[1]):
        total = (total + (x[:, k : k + 1] * w[k : k + 1, :]).astype(np.float16)).astype(np.float16)
    return total


def test_cpu_float16_matmul_accumulates_in_float32_and_rounds_once() -> None:
    x, w = operands()
    with tf.device("/CPU:0"):
        got = tf.matmul(tf.constant(x), tf.constant(w)).numpy()
        in_float32 = tf.matmul(tf.constant(x, tf.float32), tf.constant(w, tf.float32))
        rounded_once = tf.cast(in_float32, tf.float16).numpy()
    assert got.dtype == np.float16
    assert np.array_equal(got, rounded_once)
    # what TF 2.13-2.15 computed: most results differ from it
    assert np.mean(got != float16_running_sum(x, w)) > 0.5
