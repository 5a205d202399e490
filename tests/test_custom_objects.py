"""Custom objects by file path, case registry entries, SavedModel folders (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.errors import HarnessError, UnsafeModelError
from harness.core.golden import sha256_of
from harness.core.registry import Registry
from harness.core.safety import check_safe
from harness.keras.formats import import_file, import_object
from harness.source.cases import registry_entry


def test_a_file_reference_resolves_against_the_registry_folder(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "layers.py").write_text("class Scale:\n    pass\n")
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir()
    entry = {
        "paths": {"2.13.keras": "m.keras"},
        "custom_objects": {"Scale": "../lib/layers.py:Scale"},
    }
    registry.write_text(json.dumps({"models": {"m": entry}}))
    references = Registry.load(registry).custom_objects("m")
    assert references == {"Scale": f"{(tmp_path / 'lib' / 'layers.py').resolve()}:Scale"}
    first = import_object(references["Scale"])
    assert first.__name__ == "Scale"
    assert import_object(references["Scale"]) is first  # imported once: the same class
    assert import_file(tmp_path / "lib" / "layers.py").Scale is first


def test_a_missing_file_reference_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    with pytest.raises(HarnessError) as info:
        import_object(f"{missing}:Scale")
    assert str(info.value) == (
        f"Cannot import {missing}: not a Python file. Fix: point the reference at an existing "
        f"'.py' file."
    )


def test_a_case_entry_carries_its_declarations(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    case = tmp_path / "cases" / "custom.py"
    case.write_text(
        'CUSTOM_OBJECTS = {"Scale": "cases/custom.py:Scale"}\nTRUSTED = True\n'
        'TOLERANCES = {"predict": {"max_ulp": 2, "reason": "r"}}\n'
        "def build(): pass\ndef make_data(seed): pass\nclass Scale: pass\n"
    )
    module = import_file(case)
    entry = registry_entry(
        module, "custom", "models/2.13.keras/custom.keras", tmp_path, tmp_path / "reg"
    )
    assert entry == {
        "paths": {"2.13.keras": "models/2.13.keras/custom.keras"},
        "case": "custom",
        "custom_objects": {"Scale": "../cases/custom.py:Scale"},
        "trusted": True,
        "tolerances": {"predict": {"max_ulp": 2, "reason": "r"}},
    }


def test_a_savedmodel_folder_is_hashed_and_needs_trust(tmp_path: Path) -> None:
    folder = tmp_path / "sm"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    digest = sha256_of(folder)
    (folder / "variables" / "variables.index").write_bytes(b"changed")
    assert sha256_of(folder) != digest
    with pytest.raises(UnsafeModelError) as info:
        check_safe(folder, model_id="m", trusted=False, allowed=set())
    assert str(info.value) == (
        f"Refusing to load {folder}: a SavedModel runs its TensorFlow graph when called, which "
        f"can read and write files (Keras 3.14+ refuses TFSMLayer in safe mode too). "
        f"Fix: if you trust model 'm', set \"trusted\": true in its registry entry."
    )
    check_safe(folder, model_id="m", trusted=True, allowed=set())
