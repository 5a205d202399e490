"""Keras 2 layers that Keras 3 removed, rebuilt for Keras 3 with the same weights and the same
computation, for the repaired route (``repairs.toml``, rule ``locally-connected-2d``).

A repaired file that uses one of these names it: its config says
``"module": "harness.keras.legacy_layers"`` and ``"registered_name":
"keras_harness>LocallyConnected2D"``. To load such a file in a plain Keras 3 environment,
install the harness and import this module first (Keras 3 imports only its own modules)::

    import harness.keras.legacy_layers  # registers keras_harness>LocallyConnected2D
    model = keras.saving.load_model("model.keras")

Only Keras 3 (``keras.ops``) is imported here, so the module serves every Keras 3 backend; the
harness imports it itself before loading any file under Keras 3
(:func:`harness.keras.formats.keras3.load_model`).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "keras_harness"


@keras.saving.register_keras_serializable(package=PACKAGE)
class LocallyConnected2D(keras.layers.Layer):  # type: ignore[misc]
    """Keras 2's ``LocallyConnected2D`` with ``implementation=1``, ``padding="valid"`` and
    ``channels_last`` (the rule refuses any other): unshared weights per output position.

    The weights are Keras 2's, same names, shapes and order: ``kernel`` of shape
    ``(rows * cols, kernel_rows * kernel_cols * channels, filters)`` and ``bias`` of shape
    ``(rows, cols, filters)``. The computation is Keras 2's ``local_conv`` step by step: every
    output position's input patch flattened to ``(1, batch, features)``, the patches
    concatenated to ``(positions, batch, features)``, one batched matmul with the kernel,
    reshaped to ``(rows, cols, batch, filters)`` and transposed to ``(batch, rows, cols,
    filters)``, then the bias added and the activation applied.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size)
        self.strides = _pair(strides)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def output_grid(self, input_shape: Any) -> tuple[int, int]:
        rows = (int(input_shape[1]) - self.kernel_size[0]) // self.strides[0] + 1
        cols = (int(input_shape[2]) - self.kernel_size[1]) // self.strides[1] + 1
        return rows, cols

    def build(self, input_shape: Any) -> None:
        rows, cols = self.output_grid(input_shape)
        features = self.kernel_size[0] * self.kernel_size[1] * int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(rows * cols, features, self.filters),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(rows, cols, self.filters), initializer=self.bias_initializer
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        rows, cols = self.output_grid(inputs.shape)
        (kernel_rows, kernel_cols), (step_rows, step_cols) = self.kernel_size, self.strides
        features = kernel_rows * kernel_cols * int(inputs.shape[-1])
        patches = []
        for row in range(rows):
            for col in range(cols):
                patch = inputs[
                    :,
                    row * step_rows : row * step_rows + kernel_rows,
                    col * step_cols : col * step_cols + kernel_cols,
                    :,
                ]
                patches.append(ops.reshape(patch, (1, -1, features)))
        output = ops.matmul(ops.concatenate(patches, axis=0), self.kernel)
        output = ops.reshape(output, (rows, cols, -1, self.filters))
        output = ops.transpose(output, (2, 0, 1, 3))
        if self.use_bias:
            output = output + ops.reshape(self.bias, (1, rows, cols, self.filters))
        return self.activation(output)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        rows, cols = self.output_grid(input_shape)
        return (input_shape[0], rows, cols, self.filters)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))
