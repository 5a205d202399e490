"""A dry run of the CI workflow's job graph against the tox environments of ``harness.toml``.

The workflow (``.github/workflows/compat.yml``) is what users copy to gate upgrades, and GitHub is
the only place it really runs. This reads it as data (a parsed YAML mapping) and checks what a
run would do, without running anything:

- every tox environment is run by some job (the ``plan`` job's matrix resolved as it would be,
  from ``python -m harness.toxenvs --label ...``);
- a job runs an environment only after the environments it depends on (earlier in the same job,
  or in a job it needs, directly or not);
- a job that downloads an artifact needs the job that uploads it;
- the merge job (``tox -e matrix``) needs every job that runs an environment, and downloads
  every results artifact they upload.

Standard library only: it runs in the fast tests without TensorFlow.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.toxenvs import ToxEnv

GATE = "matrix"
_TOX = re.compile(r"\btox\s+(?:-\w+\s+)*-e\s+(\S+)([^&|;]*)")
_PLAN = re.compile(r"python -m harness\.toxenvs(?:\s+--label\s+([\w.-]+))?")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Job:
    """What one job of the workflow does: the tox environments it runs, in order, and the
    artifacts it uploads and downloads (names or patterns, with ``${{ }}`` made ``*``)."""

    name: str
    needs: tuple[str, ...]
    envs: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _pattern(text: str) -> str:
    return _EXPRESSION.sub("*", text)


def plan_outputs(workflow: dict[str, Any], envs: list[ToxEnv]) -> dict[str, list[str]]:
    """``needs.<job>.outputs.<name>`` -> the environment list that job's step prints."""
    outputs: dict[str, list[str]] = {}
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            found = _PLAN.search(str(step.get("run", "")))
            if found is None:
                continue
            label = found.group(1)
            names = [e.name for e in envs if label is None or label in e.labels]
            for output in (job.get("outputs") or {}).keys():
                outputs[f"needs.{job_id}.outputs.{output}"] = names
    return outputs


def _resolve(
    argument: str, step: dict[str, Any], job: dict[str, Any], plans: dict[str, list[str]]
) -> list[str]:
    """The environments one ``tox -e ARG`` names, through ``$VAR`` and ``${{ matrix.x }}``."""
    argument = argument.strip("\"'")
    variable = re.fullmatch(r"\$\{?(\w+)\}?", argument)
    if variable:
        argument = str((step.get("env") or {}).get(variable.group(1), argument))
    expression = _EXPRESSION.fullmatch(argument)
    if expression:
        key = expression.group(1)
        if key.startswith("matrix."):
            values = ((job.get("strategy") or {}).get("matrix") or {}).get(key[len("matrix.") :])
            if isinstance(values, list):
                return [str(v) for v in values]
            wrapped = _EXPRESSION.fullmatch(str(values))
            inner = re.fullmatch(r"fromJSON\((.*)\)", wrapped.group(1) if wrapped else "")
            if inner and inner.group(1) in plans:
                return list(plans[inner.group(1)])
        return [argument]
    return [name for name in argument.split(",") if name]


def jobs(workflow: dict[str, Any], envs: list[ToxEnv]) -> dict[str, Job]:
    """Every job of the workflow, with what it runs, uploads and downloads."""
    plans = plan_outputs(workflow, envs)
    found: dict[str, Job] = {}
    for job_id, job in (workflow.get("jobs") or {}).items():
        record = Job(job_id, _names(job.get("needs")))
        for step in job.get("steps") or []:
            uses = str(step.get("uses", ""))
            args = step.get("with") or {}
            if "upload-artifact" in uses:
                record.uploads.append(_pattern(str(args.get("name", "artifact"))))
            elif "download-artifact" in uses:
                record.downloads.append(_pattern(str(args.get("name") or args.get("pattern", "*"))))
            for command in _TOX.finditer(str(step.get("run", ""))):
                rest = shlex.split(command.group(2)) if command.group(2).strip() else []
                if "-k" in rest:  # a filtered run (the replay of the source model) is no run
                    continue
                record.envs.extend(_resolve(command.group(1), step, job, plans))
        found[job_id] = record
    return found


def _ancestors(graph: dict[str, Job], job: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[job].needs)
    while todo:
        name = todo.pop()
        if name in seen or name not in graph:
            continue
        seen.add(name)
        todo.extend(graph[name].needs)
    return seen


def check(workflow: dict[str, Any], envs: list[ToxEnv]) -> list[str]:
    """Every way the workflow's job graph would not run the environments as tox does."""
    graph = jobs(workflow, envs)
    problems: list[str] = []
    runs = {name: [job for job in graph.values() if name in job.envs] for name in _all(envs)}
    known = {e.name for e in envs} | {GATE}
    for job in graph.values():
        for name in job.envs:
            if name not in known:
                problems.append(f"job {job.name} runs {name!r}, which is no tox environment")
    by_name = {e.name: e for e in envs}
    for name in _all(envs):
        if not runs[name]:
            problems.append(f"environment {name} is run by no job")
        for job in runs[name]:
            before = set(job.envs[: job.envs.index(name)])
            upstream = {e for other in _ancestors(graph, job.name) for e in graph[other].envs}
            for needed in by_name[name].depends:
                if needed not in before and needed not in upstream:
                    problems.append(
                        f"job {job.name} runs {name} without {needed} before it (tox depends "
                        f"on it): run it earlier in the job or in a job that {job.name} needs"
                    )
    for job in graph.values():
        for wanted in job.downloads:
            makers = [o.name for o in graph.values() if any(_matches(u, wanted) for u in o.uploads)]
            if not makers:
                problems.append(f"job {job.name} downloads {wanted!r}, which no job uploads")
            elif not set(makers) & (_ancestors(graph, job.name) | {job.name}):
                problems.append(
                    f"job {job.name} downloads {wanted!r} without needing {', '.join(makers)}"
                )
    gates = [job for job in graph.values() if GATE in job.envs]
    if len(gates) != 1:
        problems.append(f"expected one job that runs tox -e {GATE}, found {len(gates)}")
        return problems
    gate = gates[0]
    upstream = _ancestors(graph, gate.name)
    for job in graph.values():
        if job is gate or not (set(job.envs) - {GATE}):
            continue
        if job.name not in upstream:
            problems.append(f"the merge job {gate.name} does not need job {job.name}")
        results = [u for u in job.uploads if u.startswith("results-")]
        if not results:
            problems.append(f"job {job.name} uploads no results-* artifact")
        for upload in results:
            if not any(_matches(upload, wanted) for wanted in gate.downloads):
                problems.append(f"the merge job {gate.name} does not download {upload!r}")
    return problems


def _all(envs: Iterable[ToxEnv]) -> list[str]:
    return [e.name for e in envs]


def _matches(upload: str, wanted: str) -> bool:
    """Whether an uploaded name (``*`` where an expression was) fits a download name/pattern."""
    return fnmatch.fnmatchcase(upload, wanted) or fnmatch.fnmatchcase(wanted, upload)
