"""A small Conv/Dense regressor whose hidden layers use the per-layer ``mixed_float16`` policy.

Exercises: per-layer dtype policies (TF 2.13 saves ``dtype`` as a serialized ``Policy`` object,
``{"class_name": "Policy", "config": {"name": "mixed_float16"}}``; Keras 3 uses
``DTypePolicy``); float16 compute with float32 variables (outputs quantised to float16
precision, so arithmetic differences surface as large relative jumps); a ``float32`` output
layer that casts back; and a plain Adam optimizer: the global policy stays ``float32``, so the
model's own policy is float32 and Keras 2.13's ``compile`` does NOT wrap the optimizer in a
``LossScaleOptimizer`` (no loss scaling despite float16 layers). Loss ``mse``, metric ``mae``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAMILY = "mixed precision"
SIZE = 8
POLICY = "mixed_float16"
_FLOAT16_MATMUL = (
    "TensorFlow 2.16 changed its CPU float16 MatMul (an Eigen kernel, the same with oneDNN off): "
    "TF 2.13-2.15 accumulate the products in float16, rounding after every addition; TF 2.16-2.21 "
    "accumulate in float32 and round once. Measured with tf.matmul alone on the inputs and "
    "kernel of the Dense layer 'hidden' (128 products per output): 652 of 768 results differ "
    "between TF 2.15 and 2.16, each equal to a sequential float16 sum in TF 2.13/2.15 and to "
    "TensorFlow's float32 MatMul of the same operands rounded once in TF 2.16/2.17/2.21 "
    "(tests/integration/tf216/test_float16_matmul.py). The model computes the same ops in tf_keras "
    "2.16 and Keras 3.3.3/3.4.1/3.15.1 (every layer's output and weight bitwise equal between "
    "them, TF 2.16); Conv2D (9 products), pooling and Flatten stay bitwise against TF 2.13, and "
    "the drift starts at 'hidden'. "
)
TOLERANCES = {
    "train-step": {
        "max_abs": 1e-3,
        "reason": "The step's forward and backward passes run in float16, where TF 2.16+'s CPU "
        "float16 MatMul accumulates in float32 and rounds once (the predict tolerance's "
        "cause): one Adam step moves 1904 of 2162 weights by up to 3.1e-4 against TF 2.13 "
        "(Keras 3.3.3 and 3.15.1, AMD Zen 5). 1e-3 is Adam's learning rate here, the size of "
        "one step.",
    },
    "predict": {
        "max_abs": 0.008,
        "reason": _FLOAT16_MATMUL
        + "Outputs against TF 2.13 on the same hardware (AMD Zen 5, defaults and oneDNN capped "
        "at AVX2 alike): 42 of 48 values differ, max abs diff 3.9e-3 (a few float16 steps at "
        "outputs up to 1.4), in tf_keras 2.16 and Keras 3.3.3/3.4.1/3.6.0/3.15.1 alike.",
    },
    "evaluate": {
        "max_abs": 0.001,
        "reason": _FLOAT16_MATMUL
        + "evaluate() against TF 2.13 on the same hardware: loss 0.19186 -> 0.19155 (3.1e-4), "
        "mae by 1.9e-4, in tf_keras 2.16 and Keras 3.3.3/3.4.1/3.6.0/3.15.1 alike.",
    },
}


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(48, SIZE, SIZE, 1)).astype("float32")
    y = (x.mean(axis=(1, 2)) + 0.5 * x[:, :4, :4, :].std(axis=(1, 2))).astype("float32")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(SIZE, SIZE, 1), name="grid")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", dtype=POLICY, name="conv")(inputs)
    x = layers.MaxPooling2D(dtype=POLICY, name="pool")(x)
    x = layers.Flatten(dtype=POLICY, name="flatten")(x)
    x = layers.Dense(16, activation="relu", dtype=POLICY, name="hidden")(x)
    x = layers.Dense(1, dtype=POLICY, name="value_fp16")(x)
    outputs = layers.Activation("linear", dtype="float32", name="value")(x)
    model = tf.keras.Model(inputs, outputs, name="mixed_precision")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model
