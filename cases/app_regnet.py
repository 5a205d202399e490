"""keras.applications RegNet (X blocks) from the module's generic builder, scaled down from
RegNetX002 (its group width 8, one block per stage, widths 16, 32, 64 and 128 instead of 24, 56,
152 and 368), 32x32 RGB, 4 classes, randomly initialised.

Exercises: the real RegNetX graph as TF 2.13 builds it: grouped 3x3 convolutions (Conv2D with
``groups`` = width / 8: 2, 4, 8 and 16 groups), the pre-stem ``Rescaling`` preprocessing,
strided 1x1 Conv2D shortcuts with their own BatchNormalization, and residual merges written as
``x + skip`` on KerasTensors, so TF 2.13 saves them as ``TFOpLambda`` layers
(``tf.__operators__.add``) that Keras 3 does not know, not as ``Add`` layers; ReLU layers and the
head (GlobalAveragePooling2D, Dense). TF 2.13's RegNet ignores ``classifier_activation``: its head
returns logits, so the loss is ``SparseCategoricalCrossentropy(from_logits=True)`` (a loss
object, saved by Keras 2 with its ``fn``), with ``accuracy`` on sparse labels; inputs are pixel
values in [0, 255).

Optimizer: SGD with momentum 0.9: one slot per trainable variable (the momentum, non-zero after
the seeded steps), so the optimizer state is real while the file stays about twice the weights
(Adam would triple it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.keras.formats import import_file

FAMILY = "keras.applications"
#: the family's measured train-step tolerance (cases/_applications.py)
TRAIN_STEP = import_file(Path(__file__).with_name("_applications.py")).TRAIN_STEP
TOLERANCES = {
    **TRAIN_STEP,
    "predict": {
        "max_abs": 5e-6,
        "reason": (
            "Keras 3 computes BatchNormalization with separate ops instead of TF 2.13's fused "
            "kernel. Measured on the repaired route (AMD Zen 5, oneDNN on), layer by layer against "
            "TF 2.15 reading the same .h5: bitwise up to the stem's BatchNormalization "
            "(regnetx_tiny_stem_bn: 76479 of 131072 values move, max 9.5e-7); the logits (this "
            "RegNet has no softmax): 61 of 64 differ, max abs 1.6e-6, which is up to 215 ULP for "
            "logits near zero, so the tolerance is absolute (Keras 3.3.3, 3.4.1, 3.15.1)."
        ),
    },
    "evaluate": {
        "max_ulp": 4,
        "reason": (
            "The same BatchNormalization arithmetic moves the loss by 2 ULP (2.4e-7) on the "
            "repaired route (Keras 3.3.3, 3.4.1, 3.15.1; AMD Zen 5); accuracy is unchanged."
        ),
    },
}
CLASSES = 4
SIZE = 32


def make_data(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 255.0, size=(16, SIZE, SIZE, 3)).astype("float32")
    y = rng.randint(0, CLASSES, size=(16,)).astype("int64")
    return [x], [y]


def build() -> Any:
    import tensorflow as tf
    from keras.src.applications import regnet

    tf.keras.utils.set_random_seed(0)
    model = regnet.RegNet(
        depths=[1, 1, 1, 1],
        widths=[16, 32, 64, 128],
        group_width=8,
        block_type="X",
        default_size=SIZE,
        model_name="regnetx_tiny",
        weights=None,
        input_shape=(SIZE, SIZE, 3),
        classes=CLASSES,
    )
    model.compile(
        optimizer=tf.keras.optimizers.SGD(0.01, momentum=0.9),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return model
