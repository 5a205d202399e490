from __future__ import annotations

import pytest

from harness.core.errors import SpecError
from harness.core.specs import Spec


@pytest.mark.parametrize(
    ("text", "version", "fmt"),
    [
        ("2.13.keras", "2.13", "keras"),
        ("2.15.h5", "2.15", "h5"),
        ("2.16.weights.h5", "2.16", "weights.h5"),
        ("2.17.savedmodel", "2.17", "savedmodel"),
    ],
)
def test_parse(text: str, version: str, fmt: str) -> None:
    spec = Spec.parse(text)
    assert (spec.version, spec.format, str(spec)) == (version, fmt, text)


def test_parse_rejects_unknown_format() -> None:
    with pytest.raises(SpecError) as info:
        Spec.parse("2.13.pb")
    assert str(info.value) == (
        "Invalid spec: expected '<major>.<minor>[-<writer>].<format>' with format one of h5, "
        "keras, savedmodel, weights.h5. Received: '2.13.pb'. Fix: write it like '2.13.keras' "
        "or '2.15.h5'."
    )
