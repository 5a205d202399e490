"""``keras-harness validate``: a pre-flight of the registry, goldens, chain configuration and
limitations catalogue, without TensorFlow, that reports every problem it finds (not only the
first) with the file, the line where there is one, and the fix."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.config import DEFAULT_CONFIG, Config, Step, load_config
from harness.core.errors import HarnessError
from harness.core.files import open_regular
from harness.core.golden import golden_files, read_golden, sha256_of
from harness.core.limitations import Catalogue, load_catalogue
from harness.core.registry import ModelEntry, Registry, parse_entry, read_data
from harness.core.registry_schema import entry_issues, shown, top_issues
from harness.core.safety import check_safe
from harness.core.specs import Spec
from harness.core.stated import problems as expected_problems


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "note"
    file: str
    line: int | None
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _line_of(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else None


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def validate(config_path: Path, catalogue_path: Path, registry_path: Path) -> list[Finding]:
    findings: list[Finding] = []
    config: Config | None = None
    try:
        config = load_config(config_path)
    except HarnessError as exc:
        findings.append(Finding("error", str(config_path), _line_from_message(str(exc)), str(exc)))
    catalogue: Catalogue | None = None
    try:
        catalogue = load_catalogue(catalogue_path)
    except HarnessError as exc:
        findings.append(
            Finding("error", str(catalogue_path), _line_from_message(str(exc)), str(exc))
        )
    if config is not None and catalogue is not None:
        findings.extend(_check_catalogue(config, catalogue))
    try:
        data = read_data(registry_path.absolute())
    except HarnessError as exc:
        findings.append(
            Finding("error", str(registry_path), _line_from_message(str(exc)), str(exc))
        )
        return findings
    findings.extend(_RegistryCheck(registry_path.absolute(), data, config).run())
    return findings


def matches_some(config: Config, scope: str, pattern: str) -> bool:
    """Whether an ``applies_to.environments`` / ``routes`` pattern selects anything of
    ``config``: a name pattern some environment or route matches, or a ``@`` selector (a Keras
    generation, a backend) one environment has."""
    import fnmatch

    if scope == "environments" and pattern.startswith("@"):
        selected = {f"@keras{env.keras}" for env in config.environments.values()}
        selected |= {f"@{env.backend}" for env in config.environments.values()}
        return pattern in selected
    known = config.environments if scope == "environments" else config.routes
    return any(fnmatch.fnmatchcase(name, pattern) for name in known)


def _check_catalogue(config: Config, catalogue: Catalogue) -> list[Finding]:
    findings = []
    names = {
        "environments": list(config.environments),
        "routes": list(config.routes),
    }
    text = _read(catalogue.path)
    for entry in catalogue.entries:
        line = _line_of(text, f'id = "{entry.id}"')
        for scope, known in names.items():
            for pattern in entry.applies_to[scope]:
                if not matches_some(config, scope, pattern):
                    findings.append(
                        Finding(
                            "error",
                            str(catalogue.path),
                            line,
                            f"limitation {entry.id!r}: applies_to.{scope} pattern {pattern!r} "
                            f"matches no {scope[:-1]} of {config.path.name} ({', '.join(known)}). "
                            f"Fix: correct the pattern or add the {scope[:-1]}.",
                        )
                    )
    return findings


class _RegistryCheck:
    """The registry's findings: its data first (unknown keys, types), then each model's files
    and golden. An entry that cannot be parsed is reported and skipped, not the whole registry."""

    def __init__(self, path: Path, data: dict[str, Any], config: Config | None):
        self.path = path
        self.data = data
        self.config = config
        self.text = _read(path)
        self.findings: list[Finding] = []

    def line(self, *keys: str) -> int | None:
        """The line of the JSON key path ``keys`` (of the last of them found)."""
        offset: int | None = None
        for key in keys:
            match = re.compile(rf'"{re.escape(key)}"\s*:').search(self.text, offset or 0)
            if match is None:
                break
            offset = match.start()
        return None if offset is None else self.text.count("\n", 0, offset) + 1

    def add(self, severity: str, message: str, model: str | None = None, *where: str) -> None:
        """A finding about ``model`` (None: the top level), at the line of its keys ``where``."""
        keys = ("models", model, *where) if model is not None else where
        prefix = f"model {model!r}: " if model is not None else ""
        self.findings.append(Finding(severity, str(self.path), self.line(*keys), prefix + message))

    def run(self) -> list[Finding]:
        models: dict[str, ModelEntry] = {}
        broken: dict[str, str] = {}
        for model_id, raw in self.data["models"].items():
            try:
                models[model_id] = parse_entry(self.path, model_id, raw)
            except HarnessError as exc:
                broken[model_id] = str(exc)
        registry: Registry | None = None
        try:
            registry = Registry.from_data(self.path, self.data, models)
        except HarnessError as exc:
            wrong = [k for k in ("root", "golden_dir") if not isinstance(self.data.get(k, ""), str)]
            self.add("error", str(exc), None, *wrong[:1])
        for issue in top_issues(self.data):
            self.add("error", issue.message, None, *issue.where)
        goldens = registry is not None and self.golden_dir_ok(registry)
        for model_id, raw in sorted(self.data["models"].items()):
            if model_id in broken:
                self.add("error", broken[model_id], None, "models", model_id)
            for issue in entry_issues(model_id, raw) if isinstance(raw, dict) else []:
                self.add("error", issue.message, model_id, *issue.where)
            if registry is not None and model_id in models:
                _ModelCheck(self, registry, models[model_id]).run(goldens=goldens)
        return self.findings

    def golden_dir_ok(self, registry: Registry) -> bool:
        """``golden_dir`` stays under the root (or in the project's ``golden/``, beside the
        harness configuration) unless ``allow_outside_root`` is true."""
        if "golden_dir" not in registry.extra or registry.allow_outside_root:
            return True
        golden, root = registry.golden_dir.resolve(), registry.root.resolve()
        allowed = [root]
        if self.config is not None:
            allowed.append((self.config.path.parent / "golden").resolve())
        if any(golden.is_relative_to(folder) for folder in allowed):
            return True
        places = "the registry's root" + (" and the project's golden folder" if self.config else "")
        where = " and ".join(str(folder) for folder in allowed)
        self.add(
            "error",
            f'"golden_dir" resolves to {golden}, outside {places} ({where}) (got '
            f"{shown(registry.extra['golden_dir'])}). Fix: keep the "
            f'goldens under the root (e.g. "golden_dir": "golden"), or set '
            f'"allow_outside_root": true if they belong there.',
            None,
            "golden_dir",
        )
        return False


class _ModelCheck:
    """One parsed model's findings: its specs' versions, its files, its inputs, its golden."""

    def __init__(self, report: _RegistryCheck, registry: Registry, entry: ModelEntry):
        self.report = report
        self.config = report.config
        self.registry = registry
        self.entry = entry

    def error(self, message: str, *where: str) -> None:
        self.report.add("error", message, self.entry.id, *where)

    def note(self, message: str, *where: str) -> None:
        self.report.add("note", message, self.entry.id, *where)

    def run(self, *, goldens: bool) -> None:
        entry = self.entry
        unknown = self.check_versions()
        source = str(entry.source)
        if source not in entry.paths:
            self.error(
                f'its source spec {source!r} has no path. Fix: add it under "paths" or set '
                f'"source" to one of {sorted(entry.paths)}.'
            )
            return
        for name, reference in entry.custom_objects.items():
            if ":" not in reference:
                self.error(
                    f"custom object {name!r} = {reference!r} is not 'module:attr'. Fix: write "
                    f"it like 'my_layers:Scale'.",
                )
        path = self.model_file(entry.source)
        if path is None:
            return
        if entry.inputs:
            self.check_inputs(entry.inputs)
        for problem in expected_problems(self.registry, entry.id, goldens=goldens):
            self.error(problem, "expected")
        self.check_route()
        for spec in sorted(set(entry.paths) - {source} - unknown):
            self.check_converted(Spec.parse(spec))
        if goldens:
            self.check_golden(path)

    def check_versions(self) -> set[str]:
        """Specs whose version no environment of the configuration runs (reported)."""
        if self.config is None:
            return set()
        known = sorted(
            {env.version for env in self.config.environments.values() if env.tensorflow},
            key=lambda version: tuple(int(part) for part in version.split(".")),
        )
        unknown = {spec for spec in self.entry.paths if Spec.parse(spec).version not in known}
        for spec in sorted(unknown):
            version = Spec.parse(spec).version
            self.error(
                f"spec version {version} is not the TensorFlow version of any environment in "
                f"{self.config.path.name} (got {spec!r}). Fix: use one of {', '.join(known)}, or "
                f"add an environment that runs TensorFlow {version}.",
                "paths",
                spec,
            )
        return unknown

    def resolve(self, spec: Spec) -> Path | None:
        try:
            return self.registry.resolve(self.entry.id, spec)
        except HarnessError as exc:
            self.error(str(exc))
            return None

    def model_file(self, spec: Spec) -> Path | None:
        """The path of ``spec``, when it resolves to a usable model file (else reported)."""
        path = self.resolve(spec)
        return path if path is not None and self.usable(spec, path) else None

    def usable(self, spec: Spec, path: Path) -> bool:
        """Whether ``path`` is a model file of ``spec``'s format that is safe to load (else
        reported): a file of another format never reaches the golden's hash."""
        problem = format_problem(path, spec) if path.exists() else None
        if problem is not None:
            self.error(problem)
            return False
        try:
            check_safe(
                path,
                model_id=self.entry.id,
                trusted=self.entry.trusted,
                allowed=set(self.entry.custom_objects),
            )
        except HarnessError as exc:
            self.error(str(exc))
            return False
        return True

    def check_converted(self, spec: Spec) -> None:
        """A registered form other than the source (verified as given, read-only): a missing
        file is left out, a note when a step writes the harness's own file of that spec, an
        error otherwise."""
        path = self.resolve(spec)
        if path is None:
            return
        if path.exists():
            self.usable(spec, path)
            return
        step = self.writer(spec)
        if step is not None:
            self.note(
                f"its registered {spec} file {path} does not exist, so only the harness's own "
                f"{spec} (step {step.name} of {self.config_name}, under the build folder) is "
                f"verified; restore the file to have yours verified too."
            )
            return
        self.error(
            f"its {spec} file {path} does not exist, and no step of {self.config_name} writes "
            f"{spec} for it (got {shown(self.entry.paths[str(spec)])}). Fix: correct the path, "
            f"restore the file, or remove {str(spec)!r} from its paths."
        )

    @property
    def config_name(self) -> str:
        return self.config.path.name if self.config is not None else DEFAULT_CONFIG

    def writer(self, spec: Spec) -> Step | None:
        """The step that writes ``spec`` for this model from its source, if any."""
        if self.config is None:
            return None
        if self.config.lineage(spec, self.entry.source, self.entry.id) is None:
            return None
        return self.config.producer(spec)

    def check_route(self) -> None:
        config, source = self.config, self.entry.source
        if config is not None and not any(
            config.lineage(route.spec, source) is not None for route in config.routes.values()
        ):
            self.error(
                f"no route of {config.path.name} starts from its source {str(source)!r}. Fix: "
                f"register a source spec that a step reads (e.g. 2.13.keras or 2.13.h5)."
            )

    def check_inputs(self, inputs: str) -> None:
        problem = inputs_problem(self.registry.root, inputs)
        if problem is not None:
            self.error(problem)

    def check_golden(self, source: Path) -> None:
        model_id = self.entry.id
        golden_dir = self.registry.golden_dir
        files = golden_files(golden_dir, model_id)
        present = [path for path in files if path.exists()]
        if not present:
            self.note(
                f"no golden yet in {golden_dir / model_id}; the source environment records it "
                f"(its first run fails once, by design)."
            )
            return
        if len(present) < len(files):
            (missing,) = set(files) - set(present)
            self.error(
                f"its golden is half there: {present[0]} exists but {missing} does not (got "
                f"{present[0].name} only). Fix: restore {missing.name} from git, or regenerate "
                f"the golden with --golden-regen --model {model_id}."
            )
            return
        try:
            golden = read_golden(golden_dir, model_id)
        except HarnessError as exc:
            self.report.findings.append(Finding("error", str(files[0]), None, str(exc)))
            return
        if golden.meta.get("source_sha256") != sha256_of(source):
            self.error(
                f"its source file {source} changed since the golden was recorded. Fix: restore "
                f"the file, or regenerate the golden with --golden-regen --model {model_id}."
            )


def inputs_problem(root: Path, inputs: str) -> str | None:
    """Why the ``inputs`` file (relative to the registry's root) cannot be used, if it cannot."""
    import numpy as np

    path = Path(inputs) if Path(inputs).is_absolute() else root / inputs
    fix = "write it with numpy.savez(handle, x=..., y=...)."
    try:
        # a FIFO, a folder or a device is refused before anything reads it (a FIFO would block)
        with (
            open_regular(
                path,
                what="inputs file",
                fix=fix,
                error=HarnessError,
                missing=f'correct its "inputs" path, or {fix}',
                not_a_file='make its "inputs" the path of an .npz file.',
            ) as handle,
            np.load(handle, allow_pickle=False) as data,
        ):
            keys = list(data.files)
            for key in keys:
                np.array(data[key])
    except HarnessError as exc:
        return str(exc)
    except Exception as exc:
        return f"inputs file {path} cannot be read ({type(exc).__name__}: {exc}). Fix: {fix}"
    if not any(key == "x" or (key.startswith("x") and key[1:].isdigit()) for key in keys):
        return (
            f"inputs file {path} has no 'x' array (keys: {keys}). Fix: save the inputs as x "
            f"(or x0, x1, ...) and the targets as y."
        )
    return None


def format_problem(path: Path, spec: Spec) -> str | None:
    """Why the existing ``path`` is not a model file of ``spec``'s format by its kind and name
    (a SavedModel folder, a ``.keras``/``.h5`` file), if it is not. What a file of the right name
    holds is :func:`harness.core.safety.read_config`'s to check: it refuses a ``.keras`` that is
    not a zip archive and an ``.h5`` that is not HDF5, but reads nothing of another name."""
    if spec.format == "savedmodel":
        if (path / "saved_model.pb").is_file():
            return None
        what, got = "a SavedModel folder", "a folder without saved_model.pb"
        if not path.is_dir():
            got = _kind(path)
    else:
        if path.is_file() and path.name.endswith(spec.suffix):
            return None
        what, got = f"a {spec.suffix} model file", "a folder" if path.is_dir() else _kind(path)
    return (
        f"its {spec} file {path} is not {what} (got {got}). Fix: point {str(spec)!r} at "
        f"{what.replace('a ', 'the ', 1)} that TensorFlow {spec.version} saved for this model."
    )


def _kind(path: Path) -> str:
    """What a path that is not a folder is, for a message."""
    if not path.is_file():
        return "a special file, not a regular file"
    named = f"a file named {path.name!r}"
    if zipfile.is_zipfile(path):
        return f"{named}, a zip archive"
    import h5py

    if h5py.is_hdf5(str(path)):
        return f"{named}, an HDF5 file"
    return f"{named}, neither a zip archive nor an HDF5 file"


def render(findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    notes = len(findings) - errors
    lines = [finding.render() for finding in findings]
    lines.append(
        f"{errors} error{'s' if errors != 1 else ''}, {notes} note{'s' if notes != 1 else ''}"
    )
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([f.__dict__ for f in findings], indent=2)
