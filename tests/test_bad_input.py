"""Bad input, fuzzed: every verb refuses a malformed input in one line and changes nothing.

For any bad input, ``cases``, ``convert``, ``matrix``, ``validate``, ``docs``, ``pin --check``
and ``inspect`` print one line ``keras-harness: error: <problem naming the file>. Fix: <fix>.``
on stderr and exit 2, without a traceback and without hanging (``validate`` may instead report
one error finding that names the file and exit 1, its contract), and no file of the project tree
changes. Each example runs the CLI in-process on a fresh copy of a small project that every verb
accepts, with one of its files broken: JSON and TOML that do not parse, are not UTF-8 or hold
values of the wrong type; truncated or garbled HDF5, zip and ``.npz`` files; folders, FIFOs and
devices where a file belongs.

Where a refusal once failed (in the registry's reader, the pre-flight checks, the model-file
reader, ``inspect``, ``docs`` and ``pin``), the line it prints is asserted word for word.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import error_line, main
from harness.core.errors import HarnessError, ResultsError
from harness.core.files import read_text
from harness.core.results import Cell, write_results
from harness.report.matrix import baseline_from

ROOT = Path(__file__).parent.parent
SOURCE_MODEL = ROOT / "golden/dense_regression/model.2.13.keras"
SOURCE_H5 = ROOT / "tests/fixtures/dense_regression.2.13.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: seconds one command may take before the test calls it a hang
HANG = 5.0
#: the deadline where a FIFO may block (a FIFO is refused before it is opened: keep it short)
FIFO_HANG = 1.5

FUZZ = settings(
    max_examples=int(os.environ.get("BAD_INPUT_EXAMPLES", "25")),
    deadline=None,
    database=None,  # nothing written into the checkout
    # the same examples on every run; BAD_INPUT_EXAMPLES=N runs N random examples per test
    # instead, to explore
    derandomize="BAD_INPUT_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------- the project


#: the files of the project, by the name the tests use
FILES = {
    "config": "harness.toml",
    "limitations": "limitations.toml",
    "registry": "models/model_registry.json",
    "golden_json": "models/golden/dense/golden.json",
    "golden_npz": "models/golden/dense/golden.npz",
    "model_keras": "models/2.13.keras/dense.keras",  # with a golden
    "model_plain": "models/2.13.keras/plain.keras",  # without: validate judges the file alone
    "model_h5": "models/2.13.h5/dense.h5",
    "inputs": "models/inputs.npz",
    "results": "build/results/tf216-cpu-aaaaaaaa.json",
    "baseline": "golden/baseline.json",
    "readme": "docs/README.md",
    "requirements_in": "requirements/tf216.in",
}


@dataclass(frozen=True)
class Project:
    """A small project that every verb accepts: ``project.config`` and so on are the paths of
    :data:`FILES`."""

    root: Path

    def file(self, name: str) -> Path:
        return self.root / FILES[name]

    def __getattr__(self, name: str) -> Path:
        if name in FILES:
            return self.file(name)
        raise AttributeError(name)

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def docs(self) -> Path:
        return self.root / "docs"


def template_cells() -> list[Cell]:
    provenance = {
        "versions": {"tensorflow": "2.16.2", "keras": "3.15.1", "numpy": "1.26.4"},
        "hardware": {"id": "cpu-aaaaaaaa", "device": "cpu", "summary": "x86-64"},
        "lineage": [{"spec": "2.13.keras", "env": "tf213", "sha256": "ab" * 32}],
    }
    numbers = {"max_abs_diff": 0.0, "max_ulp": 0, "mismatches": 0, "total": 4}
    return [
        Cell(
            "dense",
            "tf216",
            "cpu",
            "chain",
            "2.16.keras",
            check,
            "pass",
            numbers=dict(numbers),
            provenance=provenance,
            fingerprint="cpu-aaaaaaaa",
        )
        for check in ("load", "predict")
    ]


def build_template(root: Path) -> Project:
    project = Project(root)
    for name in FILES:
        project.file(name).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "harness.toml", project.config)
    shutil.copy(ROOT / "limitations.toml", project.limitations)
    shutil.copy(SOURCE_MODEL, project.model_keras)
    shutil.copy(SOURCE_MODEL, project.model_plain)
    shutil.copy(SOURCE_H5, project.model_h5)
    meta = json.loads((ROOT / "golden/dense_regression/golden.json").read_text())
    meta["model"] = "dense"
    project.golden_json.write_text(json.dumps(meta, indent=2))
    shutil.copy(ROOT / "golden/dense_regression/golden.npz", project.golden_npz)
    with open(project.inputs, "wb") as handle:
        np.savez(handle, x=np.zeros((4, 8), "float32"), y=np.zeros((4, 1), "float32"))
    project.registry.write_text(
        json.dumps(
            {
                "golden_dir": "golden",
                "models": {
                    "dense": {
                        "paths": {"2.13.keras": "models/2.13.keras/dense.keras"},
                        "inputs": "models/inputs.npz",
                    },
                    "dense_h5": {
                        "paths": {"2.13.h5": "models/2.13.h5/dense.h5"},
                        "source": "2.13.h5",
                    },
                    "plain": {"paths": {"2.13.keras": "models/2.13.keras/plain.keras"}},
                },
            },
            indent=4,
        )
    )
    cells = template_cells()
    write_results(project.results, env="tf216", device="cpu", run={}, cells=cells)
    project.baseline.write_text(json.dumps(baseline_from(cells), indent=1))
    for name in ("README.md", "LIMITATIONS.md", "COMPAT.md"):
        shutil.copy(ROOT / name, project.docs / name)
    for name in ("tf216.in", "tf216.txt"):
        shutil.copy(ROOT / "requirements" / name, project.requirements_in.parent / name)
    return project


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return build_template(tmp_path_factory.mktemp("template").resolve())


@contextlib.contextmanager
def copy_of(template: Project) -> Iterator[Project]:
    """A fresh copy of the template project, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bad-input-")).resolve()
    try:
        shutil.copytree(template.root, folder / "p", symlinks=True)
        yield Project(folder / "p")
    finally:
        shutil.rmtree(folder)


# ---------------------------------------------------------------------- the verbs


def argv(verb: str, project: Project) -> list[str]:
    common = ["--config", str(project.config), "--build-dir", str(project.build)]
    return {
        "cases": [
            *common,
            "cases",
            "--registry",
            str(project.root / "cases-build/models/model_registry.json"),
            "--golden-dir",
            str(project.root / "cases-golden"),
        ],
        "convert": [*common, "convert", "--env", "tf216", "--registry", str(project.registry)],
        "matrix": [
            *common,
            "matrix",
            "--baseline",
            str(project.baseline),
            "--limitations",
            str(project.limitations),
            "--out",
            str(project.root / "out"),
        ],
        "validate": [
            *common,
            "validate",
            "--registry",
            str(project.registry),
            "--limitations",
            str(project.limitations),
        ],
        "docs": [
            *common,
            "docs",
            "--limitations",
            str(project.limitations),
            "--baseline",
            str(project.baseline),
            "--root",
            str(project.docs),
        ],
        "pin": [*common, "pin", "--check"],
        "record": [
            *common,
            "record",
            "--env",
            "tf213",
            "--registry",
            str(project.registry),
            "--limitations",
            str(project.limitations),
        ],
        "inspect": [
            "inspect",
            str(project.model_h5),
            str(project.model_keras),
            str(project.model_plain),
        ],
    }[verb]


#: the files each verb reads, by Project attribute
READS = {
    "cases": ("config",),
    "convert": ("config", "registry"),
    "matrix": ("config", "limitations", "results", "baseline"),
    "validate": (
        "config",
        "limitations",
        "registry",
        "golden_json",
        "golden_npz",
        "model_keras",
        "model_h5",
        "model_plain",
        "inputs",
    ),
    "docs": ("config", "limitations", "baseline", "readme"),
    "pin": ("config", "requirements_in"),
    "record": ("config", "registry", "limitations"),
    "inspect": ("model_keras", "model_h5", "model_plain"),
}
VERBS = tuple(READS)
JSON_FILES = ("registry", "golden_json", "results", "baseline")
TOML_FILES = ("config", "limitations")


def targets(files: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(verb, name) for verb in VERBS for name in READS[verb] if name in files]


# ---------------------------------------------------------------------- running and checking


class Hung(BaseException):
    """The command ran longer than its deadline (a BaseException: ``except Exception`` in the
    code under test does not swallow it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hung` in the main thread after ``seconds`` (a blocked open() of a FIFO is
    interrupted too)."""

    def expire(signum: int, frame: object) -> None:
        raise Hung(f"the command did not finish in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: its kind, and for a file its size, mtime and sha256 (special
    files are not opened)."""
    found: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[key] = ("file", info.st_size, info.st_mtime_ns, digest)
            else:
                found[key] = (stat.S_IFMT(info.st_mode), info.st_mtime_ns)
    return found


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HARNESS_* setting or GitHub summary reaches the CLI."""
    for name in list(os.environ):
        if name.startswith("HARNESS_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)


def run_cli(
    project: Project, verb: str, capfd: pytest.CaptureFixture[str], seconds: float = HANG
) -> tuple[int, str, str]:
    """``verb`` run in-process from the project's root (a stray relative write lands in the
    tree the tests compare); its exit code, stdout and stderr."""
    capfd.readouterr()
    with contextlib.chdir(project.root), deadline(seconds):
        code = main(argv(verb, project))
    out, err = capfd.readouterr()
    return code, out, err


def assert_refused(
    verb: str,
    project: Project,
    offending: Path,
    capfd: pytest.CaptureFixture[str],
    seconds: float = HANG,
) -> str:
    """Run ``verb`` on ``project`` and check that it refuses ``offending`` as the contract says
    (the file named absolute, or as the registry writes it); returns the error line."""
    before = snapshot(project.root)
    code, out, err = run_cli(project, verb, capfd, seconds)
    assert snapshot(project.root) == before, "the command changed the project tree"
    assert "Traceback" not in out + err
    if verb == "validate" and code == 1:
        errors = [line for line in out.splitlines() if ": error: " in line]
        assert len(errors) == 1, out
        assert err == ""
        line = errors[0]
    else:
        assert code == 2, (code, out, err)
        lines = err.splitlines()
        assert len(lines) == 1, err
        line = lines[0]
        assert line.startswith("keras-harness: error: "), line
    assert str(offending) in line or f"'{offending.relative_to(project.root)}'" in line, line
    assert " Fix: " in line, line
    return line


def cli_error(message: str) -> str:
    """The line a verb prints for a refused input."""
    return f"keras-harness: error: {message}"


def validate_error(project: Project, message: str, model: str | None = None) -> str:
    """``validate``'s line for an error in the registry: the file itself, or the entry of
    ``model`` (at its line)."""
    if model is None:
        return f"{project.registry}: error: {message}"
    text = project.registry.read_text(encoding="utf-8")
    line = text.count("\n", 0, text.index(f'"{model}":', text.index('"models":'))) + 1
    return f"{project.registry}:{line}: error: model {model!r}: {message}"


# ---------------------------------------------------------------------- writing bad files

FOLDER, FIFO, DEVICE = "<folder>", "<fifo>", "<device>"


def put(path: Path, content: Content | bytes | str) -> None:
    """Replace ``path`` with ``content``: bytes, or a folder, a FIFO or a device."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if content == FOLDER:
        path.mkdir()
    elif content == FIFO:
        os.mkfifo(path)
    elif content == DEVICE:
        path.symlink_to("/dev/null")
    else:
        path.write_bytes(content.make() if isinstance(content, Content) else content)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    pairs = (f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


def toml_document(document: dict[str, Any]) -> str:
    """A TOML document of ``document`` (inline tables only: enough to put any value
    anywhere)."""
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in document.items())


def parses(text: str, loads: Callable[[str], Any]) -> Any:
    try:
        return loads(text)
    except (ValueError, RecursionError):
        return None


# ---------------------------------------------------------------------- strategies

CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
TOML_SCALARS = (
    st.booleans()
    | st.integers(-1000, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(CHARS, max_size=8)
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(CHARS, max_size=5), children)
    ),
    max_leaves=5,
)
JSON_VALUES = st.recursive(
    st.none() | TOML_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(CHARS, max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: what a site holds: the values that fit it (anything else is a bad input)
FITS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "text": lambda v: isinstance(v, str) and v != "",
    "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "objects": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "count": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "int?": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "number": is_number,
    "number?": lambda v: v is None or is_number(v),
    "one": lambda v: v == 1,
}

_CELL = ("cells", 0)
_BASE = ("cells", "dense|tf216|cpu|chain|predict")
_ENTRY = ("models", "dense")
#: where each document holds a value of a fixed type: (path, kind)
SITES: dict[str, list[tuple[tuple[Any, ...], str]]] = {
    "registry": [
        ((), "object"),
        (("models",), "object"),
        (_ENTRY, "object"),
        ((*_ENTRY, "paths"), "object"),
        ((*_ENTRY, "paths", "2.13.keras"), "text"),
        ((*_ENTRY, "source"), "string"),
    ],
    "golden_json": [
        ((), "object"),
        (("schema",), "one"),
        (("arrays",), "object"),
        (("arrays", "x"), "count"),
        (("arrays", "slots"), "count"),
        (("batch_size",), "int"),
        (("evaluate",), "object"),
        (("evaluate", "loss"), "number"),
        (("compile",), "object"),
        (("compile", "metrics"), "strings"),
        (("optimizer",), "object"),
        (("optimizer", "iterations"), "int?"),
        (("source_sha256",), "string"),
        (("provenance",), "object"),
    ],
    "results": [
        ((), "object"),
        (("schema",), "one"),
        (("cells",), "array"),
        (_CELL, "object"),
        *(((*_CELL, name), "string") for name in ("model", "status", "detail", "fingerprint")),
        ((*_CELL, "numbers"), "object"),
        ((*_CELL, "numbers", "max_ulp"), "number?"),
        ((*_CELL, "numbers", "max_abs_diff"), "number?"),
        ((*_CELL, "numbers", "mismatches"), "number?"),
        ((*_CELL, "provenance"), "object"),
        ((*_CELL, "provenance", "versions"), "object"),
        ((*_CELL, "provenance", "hardware"), "object"),
        ((*_CELL, "provenance", "lineage"), "objects"),
    ],
    "baseline": [
        ((), "object"),
        (("schema",), "one"),
        (("cells",), "object"),
        (_BASE, "object"),
        ((*_BASE, "status"), "string"),
        ((*_BASE, "numbers"), "object"),
        ((*_BASE, "numbers", "max_ulp"), "number?"),
        ((*_BASE, "numbers", "max_abs_diff"), "number?"),
    ],
    "config": [
        (("routes",), "object"),
        (("routes", "chain"), "object"),
        (("routes", "chain", "spec"), "string"),
        (("environments",), "object"),
        (("environments", "tf216"), "object"),
        (("environments", "tf216", "tensorflow"), "string"),
        (("environments", "tf216", "verify"), "strings"),
        (("steps",), "array"),
        (("steps", 0), "object"),
        (("steps", 0, "env"), "string"),
        (("steps", 0, "from"), "string"),
        (("steps", 0, "recompile_metrics"), "bool"),
        (("steps", 0, "models"), "strings"),
        (("numerics",), "object"),
        (("numerics", "cross_hardware"), "object"),
    ],
    "limitations": [
        (("limitation",), "array"),
        (("limitation", 0), "object"),
        (("limitation", 0, "id"), "text"),
        (("limitation", 0, "title"), "text"),
        (("limitation", 0, "applies_to"), "object"),
        (("limitation", 0, "applies_to", "environments"), "strings"),
        (("limitation", 0, "evidence"), "object"),
        (("limitation", 0, "strict"), "bool"),
    ],
}


def set_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``document`` with the value at ``path`` replaced (or added) by ``value``."""
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


def load_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)


@st.composite
def non_utf8(draw: st.DrawFn) -> bytes:
    """Text with one byte sequence that is not UTF-8 somewhere in it."""
    before = draw(st.text(CHARS, max_size=20)).encode()
    bad = draw(st.sampled_from([b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2"]))
    after = draw(st.text(CHARS, max_size=20)).encode()
    return before + bad + after


def json_garbage() -> st.SearchStrategy[bytes]:
    """Bytes that do not hold a JSON object: invalid JSON, other JSON values, empty."""
    texts = st.text(CHARS, max_size=60) | st.sampled_from(['{"a": 1', "[1, 2]", "null", '"x"'])
    return texts.filter(lambda t: not isinstance(parses(t, json.loads), dict)).map(str.encode)


def toml_garbage() -> st.SearchStrategy[bytes]:
    """Bytes that are not valid TOML."""
    texts = st.text(CHARS, min_size=1, max_size=60) | st.sampled_from(["[a", "x = ", "a = [1,"])
    return texts.filter(lambda t: parses(t, tomllib.loads) is None).map(str.encode)


# ---------------------------------------------------------------------- the template is accepted


def test_the_template_project_is_accepted(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        for verb in ("validate", "matrix", "docs", "pin", "inspect"):
            code, out, err = run_cli(project, verb, capfd)
            assert "error" not in err, (verb, err)
            assert code == (1 if verb == "pin" else 0), (verb, code, out, err)
        for name in TOML_FILES:  # the fuzz writes TOML with toml_document
            document = load_document(project.file(name))
            assert tomllib.loads(toml_document(document)) == document


# ---------------------------------------------------------------------- JSON and TOML


@FUZZ
@given(data=st.data())
def test_json_that_does_not_parse_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    verb, name = data.draw(st.sampled_from(targets(JSON_FILES)), label="target")
    content = data.draw(json_garbage() | non_utf8())
    with copy_of(template) as project:
        put(project.file(name), content)
        assert_refused(verb, project, project.file(name), capfd)


@FUZZ
@given(data=st.data())
def test_toml_that_does_not_parse_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    verb, name = data.draw(st.sampled_from(targets(TOML_FILES)), label="target")
    content = data.draw(toml_garbage() | non_utf8())
    with copy_of(template) as project:
        put(project.file(name), content)
        assert_refused(verb, project, project.file(name), capfd)


@st.composite
def mutation(draw: st.DrawFn, files: tuple[str, ...]) -> tuple[str, str, tuple[Any, ...], Any]:
    """A verb, one of the files it reads, a site in it and a value that does not fit there."""
    verb, name = draw(st.sampled_from(targets(files)), label="target")
    path, kind = draw(st.sampled_from(SITES[name]), label="site")
    values = TOML_VALUES if name in TOML_FILES else JSON_VALUES
    value = draw(values.filter(lambda v: not FITS[kind](v)), label="value")
    return verb, name, path, value


@FUZZ
@given(case=mutation(JSON_FILES))
def test_json_of_the_wrong_types_is_refused(
    template: Project,
    capfd: pytest.CaptureFixture[str],
    case: tuple[str, str, tuple[Any, ...], Any],
) -> None:
    verb, name, site, value = case
    with copy_of(template) as project:
        path = project.file(name)
        document = set_at(load_document(path), site, value)
        put(path, json.dumps(document).encode())
        assert_refused(verb, project, path, capfd)


@FUZZ
@given(case=mutation(TOML_FILES))
def test_toml_of_the_wrong_types_is_refused(
    template: Project,
    capfd: pytest.CaptureFixture[str],
    case: tuple[str, str, tuple[Any, ...], Any],
) -> None:
    verb, name, site, value = case
    with copy_of(template) as project:
        path = project.file(name)
        document = set_at(load_document(path), site, value)
        put(path, toml_document(document).encode())
        assert_refused(verb, project, path, capfd)


DEEP = 100_000
#: why the parser gives up on each document of beyond_the_parser
GAVE_UP = {
    "deep": "it nests too deeply",
    "long": "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
}


def beyond_the_parser(name: str) -> list[Any]:
    toml = name in TOML_FILES
    return [
        pytest.param(b"a = " + b"[" * DEEP if toml else b'{"a": ' + b"[" * DEEP, id="deep"),
        pytest.param(b"a = " + b"1" * 5000 if toml else b'{"a": ' + b"1" * 5000 + b"}", id="long"),
    ]


@pytest.mark.parametrize(
    ("verb", "name", "content"),
    [
        pytest.param(
            verb,
            name,
            *case.values,
            id=f"{verb}-{name}-{case.id}",
        )
        for verb, name in targets((*JSON_FILES, *TOML_FILES))
        for case in beyond_the_parser(name)
    ],
)
def test_a_document_the_parser_gives_up_on_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, name: str, content: bytes
) -> None:
    """Nesting deeper than the recursion limit; an integer longer than Python converts."""
    with copy_of(template) as project:
        put(project.file(name), content)
        line = assert_refused(verb, project, project.file(name), capfd)
        if name == "registry":
            why = GAVE_UP["deep" if content.endswith(b"[") else "long"]
            message = (
                f"Registry {project.registry} cannot be read as JSON: {why}. Fix: correct it (a "
                "registry is a few levels of objects, strings and small numbers) or restore it "
                "from git."
            )
            assert line == (
                validate_error(project, message) if verb == "validate" else cli_error(message)
            )


# ---------------------------------------------------------------------- folders, FIFOs, devices

README_NOT_A_FILE = (
    "put the project's README there (a regular file), or pass --root with the folder that holds it."
)
REPIN = "delete it and rewrite it with tox -e pin -- tf216."
#: what the common reader (core/files.py) calls each kind of special file
KIND_NAMES = {FOLDER: "a folder", FIFO: "a FIFO (named pipe)", DEVICE: "a character device"}


def not_a_file(what: str, path: Path, kind: str, fix: str) -> str:
    return f"{what} {path} is {KIND_NAMES[kind]}, not a file. Fix: {fix}"


#: (verb, file, kind) -> the exact line of its refusal, for the readers that once failed here
SPECIAL_LINES: dict[tuple[str, str, str], Callable[[Project, str], str]] = {
    **{
        ("validate", "registry", kind): lambda p, k: validate_error(
            p, not_a_file("Registry", p.registry, k, "give the path of a regular file.")
        )
        for kind in KIND_NAMES
    },
    **{
        ("convert", "registry", kind): lambda p, k: cli_error(
            not_a_file("Registry", p.registry, k, "give the path of a regular file.")
        )
        for kind in KIND_NAMES
    },
    **{
        ("validate", "inputs", kind): lambda p, k: validate_error(
            p,
            not_a_file("inputs file", p.inputs, k, 'make its "inputs" the path of an .npz file.'),
            "dense",
        )
        for kind in KIND_NAMES
    },
    **{
        ("docs", "readme", kind): lambda p, k: cli_error(
            not_a_file("README", p.readme, k, README_NOT_A_FILE)
        )
        for kind in KIND_NAMES
    },
    **{
        ("pin", "requirements_in", kind): lambda p, k: cli_error(
            not_a_file("Requirements file", p.requirements_in, k, REPIN)
        )
        for kind in KIND_NAMES
    },
    **{
        ("inspect", name, FIFO): lambda p, k, name=name: cli_error(
            f"{p.file(name)} is a FIFO, not a regular file. Fix: pass the model file itself (a "
            ".keras zip, an .h5 file or a SavedModel folder)."
        )
        for name in READS["inspect"]
    },
}


def special_cases() -> Iterator[Any]:
    for verb, name in targets(tuple({n for names in READS.values() for n in names})):
        for kind in (FOLDER, FIFO, DEVICE):
            yield pytest.param(verb, name, kind, id=f"{verb}-{name}-{kind[1:-1]}")


@pytest.mark.parametrize(("verb", "name", "kind"), list(special_cases()))
def test_a_folder_fifo_or_device_instead_of_a_file_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, name: str, kind: str
) -> None:
    with copy_of(template) as project:
        put(project.file(name), kind)
        seconds = FIFO_HANG if kind == FIFO else HANG
        line = assert_refused(verb, project, project.file(name), capfd, seconds)
        expected = SPECIAL_LINES.get((verb, name, kind))
        if expected is not None:
            assert line == expected(project, kind)


# ---------------------------------------------------------------------- HDF5, zip, npz


@dataclass(frozen=True, repr=False)
class Content:
    """A broken file's bytes, made when written; its repr (what Hypothesis reports) is short."""

    label: str
    make: Callable[[], bytes]

    def __repr__(self) -> str:
        return self.label


def raw(data: bytes) -> Content:
    return Content(repr(data), lambda: data)


def truncated(source: Path) -> st.SearchStrategy[Content]:
    data = source.read_bytes()
    return st.integers(0, len(data) - 1).map(
        lambda size: Content(f"{source.name}[:{size}]", lambda: data[:size])
    )


def h5_with_attribute(name: str, value: Any) -> bytes:
    """The source .h5 with attribute ``name`` set to ``value``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.h5"
        shutil.copy(SOURCE_H5, path)
        with h5py.File(path, "r+") as handle:
            handle.attrs[name] = value
        return path.read_bytes()


def h5_attribute(name: str, value: Any) -> Content:
    return Content(
        f"{SOURCE_H5.name} with {name}={value!r}", lambda: h5_with_attribute(name, value)
    )


#: values of a JSON attribute or member (model_config, config.json) that are not a config
BAD_CONFIG_TEXT = (
    JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(json.dumps)
    | st.text(CHARS, max_size=30).filter(lambda t: not isinstance(parses(t, json.loads), dict))
).map(str.encode)
BAD_ATTRIBUTE = (
    BAD_CONFIG_TEXT
    | non_utf8()
    | st.integers(-5, 5)
    | st.lists(st.integers(0, 9), min_size=1, max_size=4).map(np.array)
)


def broken_hdf5() -> st.SearchStrategy[Content]:
    """A truncated HDF5 file, or the signature and garbage."""
    return truncated(SOURCE_H5) | st.binary(max_size=300).map(
        lambda tail: raw(HDF5_SIGNATURE + tail)
    )


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def keras_zip_with(member: str, data: bytes) -> Content:
    """The source .keras archive with ``member`` replaced by ``data``."""

    def make() -> bytes:
        with zipfile.ZipFile(SOURCE_MODEL) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        return zip_of({**members, member: data})

    return Content(f"{SOURCE_MODEL.name} with {member}={data!r}", make)


#: model configs that are objects whose parts have the wrong types, and what is wrong
BAD_CONFIG_PARTS = [
    (
        {"class_name": 5, "config": {}},
        "the model has a class_name that is a JSON number, not a string",
    ),
    (
        {"class_name": "Sequential", "config": [1, 2]},
        "layer 0 of the model's config (a legacy array of layers) is a JSON number, not an object",
    ),
    (
        {"class_name": "Sequential", "config": {"layers": "dense"}},
        "the model (Sequential) has layers that are a JSON string, not an array",
    ),
    (
        {"class_name": "Sequential", "config": {"layers": [1, None]}},
        "layer 0 of the model is a JSON number, not an object",
    ),
    (
        {"class_name": "Functional", "config": {"layers": [{"class_name": None}]}},
        "layer 0 of the model has a class_name that is a JSON null, not a string",
    ),
    (
        {"class_name": "Sequential", "compile_config": [1]},
        "compile_config is a JSON array, not an object",
    ),
    (
        {
            "class_name": "Sequential",
            "config": {
                "name": "s",
                "layers": [
                    {"class_name": "Dense", "config": {"name": "d"}},
                    {
                        "class_name": "Bidirectional",
                        "config": {"name": "bi", "layer": {"class_name": "LSTM", "config": "x"}},
                    },
                ],
            },
        },
        "the layer of model/s/bi (LSTM) has a config that is a JSON string, not an object",
    ),
]


def broken_keras_zip() -> st.SearchStrategy[Content]:
    """Files that are not a zip archive, or a truncated one."""
    return (
        truncated(SOURCE_MODEL)
        | st.binary(max_size=300).filter(lambda data: not data.startswith(HDF5_SIGNATURE)).map(raw)
        | st.binary(max_size=300).map(lambda tail: raw(b"PK\x03\x04" + tail))
    )


def npz_of(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_of(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


OBJECTS = np.array([{"a": 1}, None], dtype=object)
#: .npz files that are not: each with a name for the report
NOT_NPZ = {
    "object arrays (pickled)": lambda: npz_of(x=OBJECTS, y=OBJECTS, x0=OBJECTS),
    "a .npy": lambda: npy_of(np.zeros(3)),
    "a pickle": lambda: pickle.dumps({"x": [1, 2]}),
    "no arrays it needs": lambda: npz_of(nothing=np.zeros(2)),
}


def broken_npz(source: Path) -> st.SearchStrategy[Content]:
    return (
        truncated(source)
        | st.binary(max_size=300).map(raw)
        | st.binary(max_size=300).map(lambda tail: raw(b"PK\x03\x04" + tail))
        | st.sampled_from([Content(label, make) for label, make in NOT_NPZ.items()])
    )


UNREADABLE_FIX = (
    "Fix: restore the file or re-save the model from its source; if it is the output of a step, "
    "delete it and rerun the step."
)
#: the model files of the project, by the model validate reports them for
MODELS = {"model_keras": "dense", "model_h5": "dense_h5", "model_plain": "plain"}


def model_error(verb: str, project: Project, name: str, message: str) -> str:
    """The line ``verb`` prints when it refuses the model file ``name`` with ``message``."""
    if verb == "validate":
        return validate_error(project, message, MODELS[name])
    return cli_error(message)


def unreadable(path: Path, what: str, detail: str) -> str:
    """modelfile.py's message for a file it cannot read."""
    return f"{path} is not a readable {what} ({detail}). {UNREADABLE_FIX}"


@pytest.mark.parametrize("verb", ["validate", "inspect"])
@FUZZ
@given(content=broken_hdf5())
def test_broken_hdf5_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, content: Content
) -> None:
    with copy_of(template) as project:
        put(project.model_h5, content)
        line = assert_refused(verb, project, project.model_h5, capfd)
        # every word but h5py's own, after "OSError: "
        pattern = re.escape(
            model_error(verb, project, "model_h5", unreadable(project.model_h5, "HDF5 file", "@"))
        )
        details = r"(empty file|no HDF5 signature: truncated or not HDF5|OSError: .+)"
        assert re.fullmatch(pattern.replace("@", details), line), line


@pytest.mark.parametrize(
    ("verb", "attribute"),
    [("validate", "model_config"), ("inspect", "model_config"), ("inspect", "training_config")],
)
@FUZZ
@given(value=BAD_ATTRIBUTE)
def test_an_hdf5_config_attribute_that_is_not_a_config_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, attribute: str, value: Any
) -> None:
    with copy_of(template) as project:
        put(project.model_h5, h5_attribute(attribute, value))
        assert_refused(verb, project, project.model_h5, capfd)


@pytest.mark.parametrize(
    ("verb", "attribute", "value", "detail"),
    [
        ("validate", "model_config", 0, "its model config is an integer (int64), not JSON text"),
        (
            "inspect",
            "model_config",
            np.array([1, 2]),
            "its model config is an array (int64, shape (2,)), not JSON text",
        ),
        ("validate", "model_config", "[1, 2]", "its model config is a JSON array, not an object"),
        ("inspect", "model_config", "[1, 2]", "its model config is a JSON array, not an object"),
        (
            "inspect",
            "training_config",
            b"null",
            "its training_config is a JSON null, not an object",
        ),
        (
            "validate",
            "training_config",
            '"x"',
            "its training_config is a JSON string, not an object",
        ),
        (
            "inspect",
            "training_config",
            True,
            "its training_config is a boolean (bool), not JSON text",
        ),
    ],
)
def test_an_hdf5_config_attribute_that_is_not_a_config_exactly(
    template: Project,
    capfd: pytest.CaptureFixture[str],
    verb: str,
    attribute: str,
    value: Any,
    detail: str,
) -> None:
    with copy_of(template) as project:
        put(project.model_h5, h5_attribute(attribute, value))
        line = assert_refused(verb, project, project.model_h5, capfd)
        message = unreadable(project.model_h5, "model file", detail)
        assert line == model_error(verb, project, "model_h5", message)


@pytest.mark.parametrize("verb", ["validate", "inspect"])
def test_a_model_config_that_is_not_utf8(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, keras_zip_with("config.json", b"{\xff}"))
        line = assert_refused(verb, project, project.model_plain, capfd)
        message = (
            f"The model config in {project.model_plain} is not valid JSON ('utf-8' codec can't "
            "decode byte 0xff in position 1: invalid start byte). Fix: re-save the model with "
            "Keras, or replace the file."
        )
        assert line == model_error(verb, project, "model_plain", message)


@pytest.mark.parametrize("verb", ["validate", "inspect"])
@FUZZ
@given(content=broken_keras_zip())
def test_broken_keras_archive_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, content: Content
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, content)
        assert_refused(verb, project, project.model_plain, capfd)


@pytest.mark.parametrize("verb", ["validate", "inspect"])
@FUZZ
@given(data=BAD_CONFIG_TEXT | non_utf8())
def test_a_keras_config_json_that_is_not_an_object_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, data: bytes
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, keras_zip_with("config.json", data))
        assert_refused(verb, project, project.model_plain, capfd)


@pytest.mark.parametrize(
    ("verb", "data", "kind"),
    [("validate", b"[1]", "array"), ("inspect", b"null", "null"), ("inspect", b'"x"', "string")],
)
def test_a_keras_config_json_that_is_not_an_object_exactly(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, data: bytes, kind: str
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, keras_zip_with("config.json", data))
        line = assert_refused(verb, project, project.model_plain, capfd)
        detail = f"its model config is a JSON {kind}, not an object"
        message = unreadable(project.model_plain, "model file", detail)
        assert line == model_error(verb, project, "model_plain", message)


@pytest.mark.parametrize(
    ("verb", "name", "config", "detail"),
    [
        pytest.param(verb, name, config, detail, id=f"{verb}-{name}-{index}")
        for verb in ("validate", "inspect")
        for name in ("model_plain", "model_h5")
        for index, (config, detail) in enumerate(BAD_CONFIG_PARTS)
    ],
)
def test_a_model_config_whose_parts_have_the_wrong_types_is_refused(
    template: Project,
    capfd: pytest.CaptureFixture[str],
    verb: str,
    name: str,
    config: dict[str, Any],
    detail: str,
) -> None:
    with copy_of(template) as project:
        path = project.file(name)
        if name == "model_h5":
            put(path, h5_attribute("model_config", json.dumps(config)))
        else:
            put(path, keras_zip_with("config.json", json.dumps(config).encode()))
        line = assert_refused(verb, project, path, capfd)
        message = unreadable(path, "model file", f"its model config: {detail}")
        assert line == model_error(verb, project, name, message)


@FUZZ
@given(
    member=st.sampled_from(["metadata.json", "model.weights.h5"]),
    data=BAD_CONFIG_TEXT | non_utf8() | st.binary(max_size=100),
)
def test_broken_members_of_a_keras_archive_are_refused_by_inspect(
    template: Project, capfd: pytest.CaptureFixture[str], member: str, data: bytes
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, keras_zip_with(member, data))
        assert_refused("inspect", project, project.model_plain, capfd)


@pytest.mark.parametrize(
    ("member", "data", "message"),
    [
        (
            "metadata.json",
            b"[1]",
            "{path} is not a readable model file (its metadata.json is a JSON array, not an "
            "object). " + UNREADABLE_FIX,
        ),
        (
            "metadata.json",
            b"{bad",
            "The metadata.json in {path} is not valid JSON (Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)). Fix: re-save the model with Keras, or "
            "replace the file.",
        ),
        (
            "model.weights.h5",
            b"junk",
            "{path} is not a readable .keras archive (member 'model.weights.h5' is not HDF5). "
            + UNREADABLE_FIX,
        ),
    ],
)
def test_broken_members_of_a_keras_archive_exactly(
    template: Project, capfd: pytest.CaptureFixture[str], member: str, data: bytes, message: str
) -> None:
    with copy_of(template) as project:
        put(project.model_plain, keras_zip_with(member, data))
        line = assert_refused("inspect", project, project.model_plain, capfd)
        assert line == cli_error(message.format(path=project.model_plain))


@FUZZ
@given(data=st.data())
def test_broken_npz_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["golden_npz", "inputs"]), label="file")
    with copy_of(template) as project:
        path = project.file(name)
        put(path, data.draw(broken_npz(path), label="content"))
        assert_refused("validate", project, path, capfd)


# ---------------------------------------------------------------------- the other readers


def not_utf8(what: str, path: Path, fix: str) -> str:
    """The common reader's message for the bytes test_a_file_that_is_not_utf8_is_refused
    writes."""
    return (
        f"{what} {path} is not UTF-8 text: byte 0xff at offset 13 (invalid start byte). Fix: {fix}"
    )


REGISTRY_NOT_UTF8 = "save it as UTF-8 JSON in the recipe's format, or restore it from git."
#: (verb, file) -> the exact line of its refusal
NOT_UTF8_LINES: dict[tuple[str, str], Callable[[Project], str]] = {
    ("validate", "registry"): lambda p: validate_error(
        p, not_utf8("Registry", p.registry, REGISTRY_NOT_UTF8)
    ),
    ("convert", "registry"): lambda p: cli_error(
        not_utf8("Registry", p.registry, REGISTRY_NOT_UTF8)
    ),
    ("docs", "readme"): lambda p: cli_error(
        not_utf8("README", p.readme, "save it as UTF-8 text, or restore it from git.")
    ),
    ("pin", "requirements_in"): lambda p: cli_error(
        not_utf8("Requirements file", p.requirements_in, REPIN)
    ),
}


@pytest.mark.parametrize(
    ("verb", "name"),
    [
        ("validate", "registry"),
        ("convert", "registry"),
        ("docs", "readme"),
        ("pin", "requirements_in"),
    ],
)
def test_a_file_that_is_not_utf8_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str, name: str
) -> None:
    """Files that core/files.py's common reader reads for another module."""
    with copy_of(template) as project:
        put(project.file(name), b'{"models": {"\xff": 1}}')
        line = assert_refused(verb, project, project.file(name), capfd)
        assert line == NOT_UTF8_LINES[verb, name](project)


def test_docs_without_a_readme_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        project.readme.unlink()
        line = assert_refused("docs", project, project.readme, capfd)
        assert line == cli_error(
            f"README not found: {project.readme}. Fix: pass --root with the folder that holds "
            "README.md (with its generated routes block: the two lines '<!-- routes:begin "
            "(generated by keras-harness docs) -->' and '<!-- routes:end -->')."
        )


def test_a_custom_object_reference_that_is_not_a_string_is_refused(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    """registry_schema.py reports it; the entry passes on only the references that are strings
    (the pre-flight's 'module:attr' check never sees it)."""
    with copy_of(template) as project:
        data = json.loads(project.registry.read_text())
        data["models"]["dense"]["custom_objects"] = {"Scale": 5}
        project.registry.write_text(json.dumps(data))
        line = assert_refused("validate", project, project.registry, capfd)
        assert line == validate_error(
            project,
            "custom object 'Scale' must be a 'module:attr' string (got 5). Fix: write it like "
            '"Scale": "my_layers:Scale".',
            "dense",
        )


# ---------------------------------------------------------------------- the known failures, exactly


def test_a_golden_that_is_a_json_array(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        put(project.golden_json, b"[1, 2]")
        line = assert_refused("validate", project, project.golden_json, capfd)
    assert line == (
        f"{project.golden_json}: error: Golden {project.golden_json} is a JSON array, not an "
        "object of schema 1: tainted. Fix: regenerate it with tox -e tf213 -- --golden-regen "
        "--model dense."
    )


def test_a_golden_that_is_not_utf8(template: Project, capfd: pytest.CaptureFixture[str]) -> None:
    with copy_of(template) as project:
        put(project.golden_json, b'{"schema": 1, "model": "d\xe9nse"}')
        line = assert_refused("validate", project, project.golden_json, capfd)
    assert line == (
        f"{project.golden_json}: error: Golden {project.golden_json} is not UTF-8 text: byte "
        "0xe9 at offset 25 (invalid continuation byte). Fix: restore it from git or regenerate "
        "it: tox -e tf213 -- --golden-regen --model dense."
    )


def test_a_configuration_that_is_not_utf8(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        put(project.config, b'[routes.chain]\nspec = "2.16.keras"\n# \xff\n')
        line = assert_refused("pin", project, project.config, capfd)
    assert line == (
        f"keras-harness: error: Harness configuration {project.config} is not UTF-8 text: byte "
        "0xff at offset 37 (invalid start byte). Fix: correct it (UTF-8 TOML) or restore it "
        "from git."
    )


def test_a_results_file_that_is_not_utf8(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        put(project.results, b"\xff\xfe{}")
        line = assert_refused("matrix", project, project.results, capfd)
    assert line == (
        f"keras-harness: error: Results file {project.results} is not UTF-8 text: byte 0xff at "
        "offset 0 (invalid start byte). Fix: delete it and rerun its environment."
    )


def test_matrix_without_a_results_folder(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        shutil.rmtree(project.results.parent)
        line = assert_refused("matrix", project, project.results.parent, capfd)
    assert line == (
        f"keras-harness: error: Results not found: {project.results.parent}. Fix: run the "
        "verification environments first (e.g. tox -e tf213,tf215,tf216), or pass --results "
        "with the results files or the folders that hold them."
    )


def test_matrix_with_an_output_folder_that_is_a_file(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        out = project.root / "out"
        put(out, b"not a folder")
        line = assert_refused("matrix", project, out, capfd)
    assert line == (
        f"keras-harness: error: Output folder {out} is a file. Fix: pass --out with a folder "
        "(it is created)."
    )


def test_a_catalogue_that_is_a_fifo(template: Project, capfd: pytest.CaptureFixture[str]) -> None:
    with copy_of(template) as project:
        put(project.limitations, FIFO)
        line = assert_refused("docs", project, project.limitations, capfd, FIFO_HANG)
    assert line == (
        f"keras-harness: error: Limitations catalogue {project.limitations} is a FIFO (named "
        "pipe), not a file. Fix: give the path of a regular file."
    )


@pytest.mark.parametrize("verb", ["docs", "pin"])
def test_a_lock_file_that_is_a_fifo(
    template: Project, capfd: pytest.CaptureFixture[str], verb: str
) -> None:
    """``docs`` reads the versions COMPAT.md shows from it, ``pin --check`` its pins."""
    with copy_of(template) as project:
        lock = project.requirements_in.with_suffix(".txt")
        put(lock, FIFO)
        line = assert_refused(verb, project, lock, capfd, FIFO_HANG)
    assert line == cli_error(not_a_file("Lock file", lock, FIFO, REPIN))


def test_a_generated_doc_that_is_a_folder(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    with copy_of(template) as project:
        doc = project.docs / "LIMITATIONS.md"
        put(doc, FOLDER)
        line = assert_refused("docs", project, doc, capfd)
    assert line == cli_error(
        f"Generated doc {doc} is a folder, not a file. Fix: delete it: `keras-harness docs` "
        "writes it again."
    )


def test_a_generated_doc_that_is_not_utf8_is_rewritten(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    """A generated copy is compared by its bytes: one that is not UTF-8 is stale, not refused."""
    with copy_of(template) as project:
        doc = project.docs / "COMPAT.md"
        put(doc, b"# Compat\n\xff\n")
        code, out, err = run_cli(project, "docs", capfd)
        assert (code, err) == (0, "")
        assert f"wrote {doc}\n" in out
        assert doc.read_bytes().decode("utf-8").startswith("# ")


def test_a_case_module_that_is_not_python(
    template: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    """``docs`` reads each embedded case's FAMILY from its source."""
    with copy_of(template) as project:
        case = project.root / "cases" / "broken.py"
        case.parent.mkdir()
        put(case, b"FAMILY = (\n")
        line = assert_refused("docs", project, case, capfd)
    assert line == cli_error(
        f"Case module {case} is not valid Python ('(' was never closed (broken.py, line 1)). "
        "Fix: correct it or restore it from git."
    )


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None, reason="TensorFlow is installed here"
)
def test_cases_without_tensorflow(template: Project, capfd: pytest.CaptureFixture[str]) -> None:
    with copy_of(template) as project:
        before = snapshot(project.root)
        code, out, err = run_cli(project, "cases", capfd)
        assert snapshot(project.root) == before
    assert (code, out) == (2, "")
    assert err == (
        f"keras-harness: error: TensorFlow is not installed in {sys.prefix}, and `keras-harness "
        f"cases` needs it: it builds and imports the embedded cases in {project.root / 'cases'}. "
        "Fix: run it in the source environment: tox -e tf213.\n"
    )


def test_the_common_reader_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def message(path: Path) -> str:
        with pytest.raises(ResultsError) as info:
            read_text(path, what="Results file", fix="rerun it.", error=ResultsError, missing="m.")
        return str(info.value)

    path = tmp_path / "r.json"
    assert message(path) == f"Results file not found: {path}. Fix: m."
    put(path, FOLDER)
    assert message(path) == (
        f"Results file {path} is a folder, not a file. Fix: give the path of a regular file."
    )
    put(path, b"ok \xc3")
    assert message(path) == (
        f"Results file {path} is not UTF-8 text: byte 0xc3 at offset 3 (unexpected end of "
        "data). Fix: rerun it."
    )

    def denied(*args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    assert message(path) == (
        f"Results file {path} cannot be read: permission denied. Fix: make it readable "
        "(chmod u+r) or run as a user who may read it."
    )


def test_a_message_of_several_lines_is_printed_as_one() -> None:
    error = HarnessError("Golden g.json is bad:\n  the detail\n\nFix: regenerate it.")
    assert error_line(error) == (
        "keras-harness: error: Golden g.json is bad: the detail Fix: regenerate it."
    )


# ---------------------------------------------------------------------- one real process per verb

#: each verb with one bad input, run as `python -m harness` (the console script's code path)
SMOKE = {
    "cases": ("config", b"[environments\n"),
    "convert": ("registry", b'{"models": [}'),
    "matrix": ("results", b"[1, 2]"),
    "validate": ("golden_json", b"\xff"),
    "docs": ("baseline", FOLDER),
    "pin": ("config", FIFO),
    "inspect": ("model_h5", b"not a model"),
    "record": ("limitations", b"\xfe\xff not utf-8"),
}


@pytest.mark.parametrize("verb", VERBS)
def test_one_bad_input_per_verb_in_a_real_process(template: Project, verb: str) -> None:
    name, content = SMOKE[verb]
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HARNESS_") and key != "GITHUB_STEP_SUMMARY"
    }
    environ["PYTHONPATH"] = str(ROOT)
    with copy_of(template) as project:
        put(project.file(name), content)
        before = snapshot(project.root)
        result = subprocess.run(
            [sys.executable, "-m", "harness", *argv(verb, project)],
            capture_output=True,
            text=True,
            env=environ,
            cwd=project.root,
            timeout=120,
            check=False,
        )
        assert snapshot(project.root) == before
    offending = str(project.file(name))
    assert "Traceback" not in result.stdout + result.stderr
    if verb == "validate":
        assert result.returncode == 1 and result.stderr == ""
        errors = [line for line in result.stdout.splitlines() if ": error: " in line]
        assert len(errors) == 1 and offending in errors[0], result.stdout
    else:
        assert result.returncode == 2, result
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("keras-harness: error: ") and offending in lines[0]
        assert ". Fix: " in lines[0]
