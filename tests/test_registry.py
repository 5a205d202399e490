from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.core.errors import RegistryError
from harness.core.registry import Registry

EXAMPLE = Path(__file__).parent.parent.parent / "shared" / "context" / "model_registry.example.json"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.skipif(not EXAMPLE.exists(), reason="needs ../shared beside the checkout")
def test_the_recipes_file_loads_and_round_trips_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "models" / "model_registry.json"
    path.parent.mkdir()
    shutil.copy(EXAMPLE, path)
    registry = Registry.load(path)
    assert sorted(registry.models) == ["run_0a1b2c", "run_3d4e5f"]
    assert registry.resolve("run_0a1b2c", "2.15.h5") == tmp_path / "models/2.15.h5/run_0a1b2c.h5"
    assert registry.to_json() == json.loads(EXAMPLE.read_text())  # nothing lost or added


def test_extra_keys_survive(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models/model_registry.json",
        json.dumps(
            {
                "models": {
                    "m1": {
                        "paths": {"2.13.keras": "/abs/m1.keras"},
                        "owner": "team-a",
                        "trusted": True,
                    }
                },
                "note": "kept",
            }
        ),
    )
    registry = Registry.load(path)
    assert registry.get("m1").trusted is True
    assert registry.to_json() == {
        "models": {
            "m1": {"paths": {"2.13.keras": "/abs/m1.keras"}, "owner": "team-a", "trusted": True}
        },
        "note": "kept",
    }
    assert Registry.load(path).resolve("m1", "2.13.keras") == Path("/abs/m1.keras")


def test_root_key_overrides_the_default_root(tmp_path: Path) -> None:
    path = write(
        tmp_path / "reg.json",
        '{"root": ".", "models": {"a": {"paths": {"2.13.keras": "a.keras"}}}}',
    )
    assert Registry.load(path).resolve("a", "2.13.keras") == tmp_path / "a.keras"


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "models/r.json", '{"models": {\n  "a": {"paths": }\n}}')
    with pytest.raises(RegistryError) as info:
        Registry.load(path)
    assert str(info.value) == (
        f"Registry {path} is not valid JSON: Expecting value at line 2 column 18. "
        "Fix: correct the JSON at that position."
    )


def test_duplicate_model_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "models/r.json", '{"models": {"a": {"paths": {}}, "a": {"paths": {}}}}')
    with pytest.raises(RegistryError) as info:
        Registry.load(path)
    assert str(info.value) == (
        f"Duplicate key 'a' in registry {path}. Received: the key twice in one object. "
        "Fix: keep one entry per model id and per spec."
    )


def test_unknown_spec_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "models/r.json", '{"models": {"a": {"paths": {"2.13.pb": "x"}}}}')
    with pytest.raises(RegistryError, match=r"Model 'a' in .*: Invalid spec: .*'2.13.pb'"):
        Registry.load(path)


def test_missing_paths_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path / "models/r.json", '{"models": {"a": {}}}')
    with pytest.raises(RegistryError, match=r'Model \'a\' in .* has no "paths" object'):
        Registry.load(path)
    with pytest.raises(RegistryError) as info:
        Registry.load(tmp_path / "nope.json")
    assert str(info.value).startswith(f"Registry not found: {tmp_path / 'nope.json'}. Fix:")


def test_resolve_unknown_spec_names_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "models/r.json", '{"models": {"a": {"paths": {"2.13.keras": "a"}}}}')
    with pytest.raises(RegistryError) as info:
        Registry.load(path).resolve("a", "2.15.h5")
    assert str(info.value) == (
        f"Model 'a' has no path for spec '2.15.h5' in {path}. Received specs: ['2.13.keras']. "
        "Fix: run the step that writes '2.15.h5' or add its path to the registry."
    )


def test_relative_paths_may_not_leave_the_root(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p/models/r.json",
        '{"models": {"a": {"paths": {"2.13.keras": "../../etc/a.keras"}}}}',
    )
    with pytest.raises(RegistryError) as info:
        Registry.load(path).resolve("a", "2.13.keras")
    assert str(info.value) == (
        f"Model 'a' in {path}: the relative path '../../etc/a.keras' for '2.13.keras' leaves the "
        f"registry's root {tmp_path / 'p'}. Fix: give an absolute path, move the file under the "
        'root, or set "allow_outside_root": true.'
    )
    data = json.loads(path.read_text())
    data["allow_outside_root"] = True
    path.write_text(json.dumps(data))
    assert Registry.load(path).resolve("a", "2.13.keras") == tmp_path / "p/../../etc/a.keras"


def test_values_of_the_wrong_type_are_ignored_in_the_safe_direction(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p/models/r.json",
        json.dumps(
            {
                "models": {
                    "a": {
                        "paths": {"2.13.keras": "../../etc/a.keras"},
                        "trusted": "yes",
                        "custom_objects": {"Scale": "my_layers:Scale", "Bad": 5},
                        "tolerances": {
                            "predict": "loose",
                            "evaluate": {"max_ulp": "4", "reason": "measured"},
                            "replay": {"max_abs": 1e-5, "reason": "measured"},
                        },
                        "trustd": True,
                    }
                },
                "allow_outside_root": "yes",
            }
        ),
    )
    registry = Registry.load(path)  # loads: validate reports these
    entry = registry.get("a")
    assert entry.trusted is False
    assert entry.custom_objects == {"Scale": "my_layers:Scale"}
    assert registry.custom_objects("a") == {"Scale": "my_layers:Scale"}
    assert entry.tolerances == {"replay": {"max_abs": 1e-5, "reason": "measured"}}
    assert registry.allow_outside_root is False
    with pytest.raises(RegistryError, match="leaves the registry's root"):
        registry.resolve("a", "2.13.keras")
    assert registry.to_json()["models"]["a"]["trustd"] is True  # kept


@pytest.mark.parametrize("key", ["root", "golden_dir"])
def test_a_root_or_golden_dir_that_is_not_a_path_is_refused(tmp_path: Path, key: str) -> None:
    path = write(
        tmp_path / "models/r.json",
        json.dumps({"models": {"a": {"paths": {"2.13.keras": "a.keras"}}}, key: 5}),
    )
    with pytest.raises(RegistryError) as info:
        Registry.load(path)
    example = ".." if key == "root" else "golden"
    assert str(info.value) == (
        f"Registry {path}: {key!r} must be a folder path, relative to the registry's folder "
        f'(got 5). Fix: write it as a string, e.g. "{key}": "{example}".'
    )
