"""Bad input: one line that names the file and the fix, a non-zero exit, nothing else lost."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from harness.cli import main
from harness.core.errors import HarnessError, ModelFileError
from harness.core.safety import read_config
from harness.core.specs import Spec
from harness.keras import formats

ROOT = Path(__file__).parents[2]
FIX = (
    "Fix: restore the file or re-save the model from its source; if it is the output of a "
    "step, delete it and rerun the step."
)


def test_malformed_registry_fails_the_command_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir()
    text = '{"models": {"a": {"paths": {"2.13.keras": "x.keras",}}}}'
    registry.write_text(text)
    assert (
        main(
            [
                "--build-dir",
                str(tmp_path / "b"),
                "convert",
                "--env",
                "tf216",
                "--registry",
                str(registry),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err == (
        f"keras-harness: error: Registry {registry} is not valid JSON: Expecting property name "
        "enclosed in double quotes at line 1 column 53. Fix: correct the JSON at that position.\n"
    )
    assert registry.read_text() == text and not (tmp_path / "b").exists()


def test_unknown_environment_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "models" / "r.json"
    registry.parent.mkdir()
    registry.write_text('{"models": {}}')
    assert main(["convert", "--env", "tf299", "--registry", str(registry)]) == 2
    assert capsys.readouterr().err.startswith(
        "keras-harness: error: Unknown environment 'tf299' in "
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.keras", b"", "is not a readable .keras archive (empty file)"),
        (
            "text.keras",
            b"not a zip",
            "is not a readable .keras archive (not a zip archive: truncated or corrupt)",
        ),
        ("empty.h5", b"", "is not a readable HDF5 file (empty file)"),
        ("text.h5", b"not hdf5 at all", "is not a readable HDF5 file (no HDF5 signature: "),
    ],
)
def test_empty_and_corrupt_model_files(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        read_config(path)
    message = str(info.value)
    assert message.startswith(f"{path} {expected}") and message.endswith(FIX)
    assert "\n" not in message


def test_truncated_keras_archive(tmp_path: Path) -> None:
    source = ROOT / "golden/dense_regression/model.2.13.keras"
    path = tmp_path / "truncated.keras"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(
        ModelFileError,
        match=r"truncated\.keras is not a readable \.keras "
        r"archive \(not a zip archive",
    ):
        read_config(path)


def test_corrupt_member_in_keras_archive(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential"}) * 50)
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF  # flip a byte inside the compressed member
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"corrupt\.keras is not a readable \.keras archive"):
        read_config(path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as info:
        read_config(tmp_path / "gone.h5")
    assert str(info.value) == (
        f"Model file not found: {tmp_path / 'gone.h5'}. Fix: correct its path in the registry, "
        "or run the step that writes it."
    )


def test_unknown_custom_object(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    with pytest.raises(HarnessError) as info:
        formats.load(
            Spec.parse("2.13.keras"),
            path,
            custom_objects={"Scale": "no_such_module:Scale"},
            trusted=False,
        )
    assert str(info.value) == (
        f"Custom object 'Scale' = 'no_such_module:Scale' for {path} cannot be imported "
        "(ModuleNotFoundError: No module named 'no_such_module'). Fix: install the module that "
        "defines it, or correct 'module:attr' in the registry's custom_objects."
    )
