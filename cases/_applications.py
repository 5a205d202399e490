"""What the keras.applications cases share (not a case: its name starts with ``_``)."""

from __future__ import annotations

from typing import Any

#: one measurement across the family: the train step through other TensorFlow releases' kernels
TRAIN_STEP: dict[str, dict[str, Any]] = {
    "train-step": {
        "max_abs": 1e-5,
        "reason": "Other TensorFlow releases' kernels compute the training step's convolution "
        "and BatchNormalization gradients a few ULP apart from TF 2.13's (the same Keras 2 "
        "code): measured on AMD Zen 5, tf_keras 2.16 on TF 2.16 (app_densenet 1.2e-7, "
        "app_nasnet 7.2e-7) and, with oneDNN capped at AVX2, TF 2.14 and 2.15 (app_efficientnet "
        "2.9e-6, app_mobilenet and app_mobilenet_v3_small 1.2e-7, app_resnet 6e-8). In Keras 3 "
        "the step also differs by keras3-batchnorm-biased-moving-variance.",
    },
}
