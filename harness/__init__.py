"""keras-migration-harness: prove that trained Keras models survive TensorFlow/Keras upgrades.

The library (registry, golden, convert, compare, limitations, results, matrix) runs without
TensorFlow; TensorFlow and Keras are imported lazily in ``formats/``, ``runtime``, ``convert``
and the golden recorder.
"""

from __future__ import annotations

__version__ = "0.1.0"
