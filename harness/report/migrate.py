"""``keras-harness migrate``: the user's deliverable. The verified file of one model for one
target environment, copied to a folder of the user's choice, with a JSON certificate beside it:
the source file's hash, the steps and repair rules that made the file, and every check's cell in
that environment (status, detail, numbers, versions, hardware).

Reads what a run measured (``build/results``, the step records, the harness's conversions); runs
no TensorFlow. A file is delivered only when its ``load`` and ``predict`` cells in that
environment are accepted (pass, or a documented limitation) and none of its cells fails; the
certificate records every cell either way.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.convert.records import read_step_record
from harness.core.atomic import write_json
from harness.core.config import Config
from harness.core.errors import HarnessError
from harness.core.golden import sha256_of
from harness.core.locations import model_path
from harness.core.registry import Registry
from harness.core.results import Cell

CERTIFICATE_SCHEMA = 1
ACCEPTED = ("pass", "limitation")


def certificate(
    config: Config,
    registry: Registry,
    build_dir: Path,
    cells: list[Cell],
    model: str,
    env: str,
    route: str,
) -> dict[str, Any]:
    """The certificate of ``model``'s ``route`` file in ``env`` (raises when it is not verified)."""
    if route not in config.routes:
        raise HarnessError(
            f"Unknown route {route!r}. Fix: use one of {sorted(config.routes)} (harness.toml)."
        )
    spec = config.routes[route].spec
    mine = sorted(
        (c for c in cells if (c.model, c.env, c.route) == (model, env, route)),
        key=lambda c: (c.fingerprint, c.check),
    )
    if not mine:
        raise HarnessError(
            f"No cells of model {model!r}, route {route!r} in {env} in the results. Fix: run "
            f"tox -e {env} (after the environments its route comes from), then migrate again."
        )
    kinds = {c.check: c.kind for c in mine}
    failing = sorted({c.check for c in mine if c.kind not in ACCEPTED})
    if kinds.get("load") not in ACCEPTED or kinds.get("predict") not in ACCEPTED or failing:
        raise HarnessError(
            f"Model {model!r} is not verified on route {route!r} in {env}: "
            + ", ".join(f"{c.check} {c.status}" for c in mine if c.kind not in ACCEPTED)
            + ". Fix: look at these cells (keras-harness routes, build/matrix/matrix.html); "
            "nothing was written."
        )
    entry = registry.get(model)
    steps = []
    for step in config.lineage(spec, entry.source, model) or []:
        record = read_step_record(build_dir, model, str(step.target))
        steps.append(
            {
                "step": step.name,
                "output_sha256": record.output_sha256 if record else "",
                "versions": record.versions if record else {},
                "repair_rules": record.repair_rules if record else {},
                "repair_layers": record.repair_layers if record else {},
            }
        )
    file = model_path(registry, build_dir, model, spec)
    return {
        "schema": CERTIFICATE_SCHEMA,
        "model": model,
        "environment": env,
        "route": route,
        "spec": str(spec),
        "file_sha256": sha256_of(file),
        "source": {
            "spec": str(entry.source),
            "sha256": sha256_of(registry.resolve(model, entry.source)),
        },
        "steps": steps,
        "import_before_loading": helper_modules(file),
        "cells": [asdict(c) for c in mine],
    }


def helper_modules(path: Path) -> list[str]:
    """The harness modules a file's classes come from (``harness.keras.legacy_layers`` for a
    rebuilt removed layer): Keras 3 imports only its own modules, so whoever loads the file
    imports these first. Read without TensorFlow."""
    from harness.core.modelfile import read_document
    from harness.core.safety import walk

    document = read_document(path)
    found = {
        str(obj.get("module"))
        for _, obj in walk(document.model or {})
        if str(obj.get("module", "")).startswith("harness.")
    }
    return sorted(found)


def migrate(
    config: Config,
    registry: Registry,
    build_dir: Path,
    cells: list[Cell],
    model: str,
    env: str,
    route: str,
    out: Path,
) -> tuple[Path, Path]:
    """Copy the verified file and write its certificate into ``out``; returns both paths."""
    document = certificate(config, registry, build_dir, cells, model, env, route)
    spec = config.routes[route].spec
    source = model_path(registry, build_dir, model, spec)
    if sha256_of(source) != document["file_sha256"]:
        raise HarnessError(
            f"{source} changed since it was verified. Fix: rerun tox -e {env} and migrate again."
        )
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{model}.{env}{spec.suffix or ''}"
    if source.is_dir():
        raise HarnessError(
            f"Route {route!r} of {model!r} is a SavedModel folder. Fix: migrate a route whose "
            f"file is a .keras or .h5."
        )
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    written = out / f"{model}.{env}.certificate.json"
    write_json(written, document)
    if sha256_of(target) != document["file_sha256"]:  # the copy is the file that was verified
        raise HarnessError(f"The copy {target} differs from {source}. Fix: check the disk.")
    return target, written


def summary(path: Path) -> str:
    """One line about a written certificate: each check's status (several when runners differ)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    by_check: dict[str, list[str]] = {}
    for cell in document["cells"]:
        statuses = by_check.setdefault(cell["check"], [])
        if cell["status"] not in statuses:
            statuses.append(cell["status"])
    runners = len({cell["fingerprint"] for cell in document["cells"]})
    checks = ", ".join(f"{check} {'/'.join(s)}" for check, s in sorted(by_check.items()))
    return (
        f"{document['model']} ({document['route']} in {document['environment']}, "
        f"{runners} runner{'s' if runners != 1 else ''}): {checks}"
    )
