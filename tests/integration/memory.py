"""What a verification process gives back after each model (:func:`harness.keras.formats.release`),
checked with the real TensorFlow of the environment under test: a traced train step's graph is
held by TensorFlow's gradient registry until the harness drops the custom gradient it registered;
what the first collection freezes out of the collector is not the models that come after it.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np

#: what a traced graph leaves in Python: TF 2.16 keeps the FuncGraph with its operations and
#: symbolic tensors; TF 2.13 only the graph tensors the closure holds (``Tensor``)
GRAPH_TYPES = {"FuncGraph", "Operation", "SymbolicTensor", "Tensor"}


def graph_objects() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ in GRAPH_TYPES)


def custom_gradients() -> list[str]:
    from tensorflow.python.framework import ops

    from harness.keras.formats import CUSTOM_GRADIENT_PREFIX

    registry = ops._gradient_registry._registry
    return [n for n in registry if str(n).startswith(CUSTOM_GRADIENT_PREFIX)]


def trained(keras: Any) -> float:
    """One small model, compiled with Adam and trained one step, then let go of; its loss."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.linspace(0.0, 1.0, 32, dtype="float32").reshape(8, 4)
    loss = model.train_on_batch(x, x[:, :1])
    return float(np.asarray(loss).reshape(-1)[0])


def check_release(keras: Any) -> None:
    """Without the purge every trained model's graph stays; with it none does, and the next
    model still trains (its gradients are registered anew)."""
    from harness.keras.formats import forget_custom_gradients, release

    trained(keras)  # Keras' own global graphs (Keras 2 keeps one per session) exist from here
    release()
    # the first collection froze what was alive (TensorFlow, Keras): full collections skip it
    assert gc.get_freeze_count() > 0
    before = graph_objects()  # gc.get_objects() leaves frozen objects out: the models' are not
    for _ in range(3):
        trained(keras)
    assert len(custom_gradients()) >= 3  # TensorFlow's own behaviour: one per traced train step
    assert graph_objects() >= before + 3 * 8  # ... and each holds its step's graph
    release()
    assert custom_gradients() == []
    assert graph_objects() <= before
    assert np.isfinite(trained(keras))  # training after the purge still works
    assert forget_custom_gradients() >= 1
