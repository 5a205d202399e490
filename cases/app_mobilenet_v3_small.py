"""keras.applications.MobileNetV3Small, alpha 0.25 (below the published 0.75 and 1.0, which
only ImageNet weights require: it keeps the file small), 32x32 RGB, 4 classes, randomly
initialised.

Exercises: the real MobileNetV3Small graph as TF 2.13 builds it: hard-swish and hard-sigmoid
written as TensorFlow ops on KerasTensors (``x + 3.0`` and ``* (1.0 / 6.0)`` are saved as
``TFOpLambda`` layers, which Keras 3 does not know), squeeze-and-excite blocks
(GlobalAveragePooling2D with ``keepdims``, 1x1 Conv2D, ``Multiply``), DepthwiseConv2D with 3x3
and 5x5 kernels (saved with ``groups: 1``), the built-in ``Rescaling`` preprocessing layer,
residual ``Add`` merges, and the application's convolutional head (1x1 Conv2D, Dropout, Flatten,
softmax Activation). Compiled with ``accuracy`` on sparse labels; inputs are pixel values in
[0, 255) because the model rescales them itself.

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
        "max_ulp": 4,
        "reason": (
            "TF 2.16 (tf_keras 2.16.0) computes this graph with other CPU kernels than TF 2.13 "
            "on the same hardware: 1 of 64 softmax outputs differs, max 1 ULP, max abs diff "
            "1.5e-8 (AMD Zen 5, oneDNN on; routes direct-h5, chain-h5, tf-keras); TF 2.14 and "
            "2.15 are bitwise."
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

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.MobileNetV3Small(
        input_shape=(SIZE, SIZE, 3), alpha=0.25, weights=None, classes=CLASSES
    )
    model.compile(
        optimizer=tf.keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    (x_train,), (y_train,) = make_data(0)
    model.fit(x_train, y_train, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return model
