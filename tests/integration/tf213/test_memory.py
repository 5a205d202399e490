"""A verification process gives back each model's traced graphs (Keras 2 on TF 2.13)."""

from __future__ import annotations

import pytest

from tests.integration.memory import check_release

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras", minversion="2.13")


def test_release_drops_the_graphs_the_gradient_registry_held() -> None:
    check_release(keras)
