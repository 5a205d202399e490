"""``keras-harness validate``: a pre-flight of the registry, goldens, chain configuration and
limitations catalogue, without TensorFlow, that reports every problem it finds (not only the
first) with the file, the line where there is one, and the fix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness.core.config import Config, load_config
from harness.core.errors import HarnessError
from harness.core.golden import exists as golden_exists
from harness.core.golden import read_golden, sha256_of
from harness.core.limitations import Catalogue, load_catalogue
from harness.core.registry import Registry
from harness.core.safety import check_safe


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
        registry = Registry.load(registry_path)
    except HarnessError as exc:
        findings.append(
            Finding("error", str(registry_path), _line_from_message(str(exc)), str(exc))
        )
        return findings
    findings.extend(_check_registry(registry, config))
    return findings


def _check_catalogue(config: Config, catalogue: Catalogue) -> list[Finding]:
    import fnmatch

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
                if pattern.startswith("@"):
                    generations = {f"@keras{env.keras}" for env in config.environments.values()}
                    matched = pattern in generations
                else:
                    matched = any(fnmatch.fnmatchcase(name, pattern) for name in known)
                if not matched:
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


def _check_registry(registry: Registry, config: Config | None) -> list[Finding]:
    findings = []
    file = str(registry.path)
    golden_dir = registry.golden_dir
    text = _read(registry.path)
    for model_id, entry in sorted(registry.models.items()):
        line = _line_of(text, f'"{model_id}"')

        def error(message: str, *, line: int | None = line, model_id: str = model_id) -> None:
            findings.append(Finding("error", file, line, f"model {model_id!r}: {message}"))

        source = str(entry.source)
        if source not in entry.paths:
            error(
                f'its source spec {source!r} has no path. Fix: add it under "paths" or set '
                f'"source" to one of {sorted(entry.paths)}.'
            )
            continue
        for name, reference in entry.custom_objects.items():
            if ":" not in reference:
                error(
                    f"custom object {name!r} = {reference!r} is not 'module:attr'. Fix: write "
                    f"it like 'my_layers:Scale'."
                )
        try:
            path = registry.resolve(model_id, source)
            check_safe(
                path, model_id=model_id, trusted=entry.trusted, allowed=set(entry.custom_objects)
            )
        except HarnessError as exc:
            error(str(exc))
            continue
        if entry.inputs:
            _check_inputs(registry, model_id, entry.inputs, findings, line)
        if config is not None and not any(
            config.lineage(route.spec, entry.source) is not None for route in config.routes.values()
        ):
            error(
                f"no route of {config.path.name} starts from its source {source!r}. Fix: "
                f"register a source spec that a step reads (e.g. 2.13.keras or 2.13.h5)."
            )
        if not golden_exists(golden_dir, model_id):
            findings.append(
                Finding(
                    "note",
                    file,
                    line,
                    f"model {model_id!r}: no golden yet in {golden_dir / model_id}; the source "
                    f"environment records it (its first run fails once, by design).",
                )
            )
            continue
        try:
            golden = read_golden(golden_dir, model_id)
        except HarnessError as exc:
            findings.append(
                Finding("error", str(golden_dir / model_id / "golden.json"), None, str(exc))
            )
            continue
        if golden.meta.get("source_sha256") != sha256_of(path):
            error(
                f"its source file {path} changed since the golden was recorded. Fix: restore "
                f"the file, or regenerate the golden with --golden-regen --model {model_id}."
            )
    return findings


def _check_inputs(
    registry: Registry, model_id: str, inputs: str, findings: list[Finding], line: int | None
) -> None:
    import numpy as np

    path = Path(inputs) if Path(inputs).is_absolute() else registry.root / inputs
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            keys = list(data.files)
            for key in keys:
                np.array(data[key])
    except Exception as exc:
        findings.append(
            Finding(
                "error",
                str(registry.path),
                line,
                f"model {model_id!r}: inputs file {path} cannot be read ({type(exc).__name__}: "
                f"{exc}). Fix: write it with numpy.savez(handle, x=..., y=...).",
            )
        )
        return
    if not any(key == "x" or (key.startswith("x") and key[1:].isdigit()) for key in keys):
        findings.append(
            Finding(
                "error",
                str(registry.path),
                line,
                f"model {model_id!r}: inputs file {path} has no 'x' array (keys: {keys}). "
                f"Fix: save the inputs as x (or x0, x1, ...) and the targets as y.",
            )
        )


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
