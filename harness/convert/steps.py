"""Run the conversion steps assigned to one environment, for every registered model.

One process handles all of an environment's steps, so TensorFlow is imported once. A model whose
step fails gets a step record with the exception, which its cells later show; the other models go
on. Every output is written atomically under the build folder (:mod:`harness.core.locations`);
the files the user registered are only read, and the registry is never written.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from harness.convert.records import (
    StepRecord,
    read_step_record,
    recorded_sha256,
    step_record_path,
)
from harness.convert.supervise import mark, session, unmark
from harness.core.atomic import write_json
from harness.core.config import Config, Step
from harness.core.errors import HarnessError, TransplantError, describe
from harness.core.faults import inject
from harness.core.golden import read_golden, sha256_of
from harness.core.lines import LINE_LIMIT, shorten
from harness.core.locations import converted_path, model_path
from harness.core.registry import Registry
from harness.core.repairs import DEFAULT_REPAIRS, Rule, load_repairs
from harness.keras import runtime
from harness.keras.opening import open_model


def run_step(
    step: Step, registry: Registry, model_id: str, build_dir: Path, rules: list[Rule] | None = None
) -> StepRecord:
    """Load ``step.source`` of one model (through the repair ``rules`` for a repair step),
    optionally recompile, save ``step.target`` under ``build_dir`` (never over a file the user
    registered)."""
    from harness.keras import formats

    record = StepRecord(
        model_id,
        step.name,
        step.env,
        "ok",
        recompile_metrics=step.recompile_metrics,
        versions=runtime.versions(),
    )
    try:
        source = model_path(registry, build_dir, model_id, step.source)
        if step.repair:
            from harness.keras.repairing import repair

            repaired = repair(registry, model_id, step.source, source, rules or [])
            model = repaired.model
            record.repair_rules, record.repair_layers = repaired.applied, repaired.layers
        else:
            model = open_model(registry, model_id, step.source, source)
        record.input_sha256 = sha256_of(source)
        if step.recompile_metrics:
            golden = read_golden(registry.golden_dir, model_id)
            formats.backend().recompile(model, golden.metrics)
        if step.transplant_optimizer:
            record.transplant = carry_optimizer(model, source)
        target = converted_path(build_dir, model_id, step.target)
        target.parent.mkdir(parents=True, exist_ok=True)
        formats.save(model, step.target, target)
        inject("step:after-save")
        stat = target.stat()
        record.output_sha256 = sha256_of(target)
        record.output = str(target)
        if target.is_file():  # a SavedModel folder's mtime says nothing of its files
            record.output_size, record.output_mtime_ns = stat.st_size, stat.st_mtime_ns
    except Exception as exc:  # one model's failure is its own: record it and go on
        record.status, record.exception, record.message = "error", type(exc).__name__, describe(exc)
    return record


def carry_optimizer(model: object, source: Path) -> dict[str, object]:
    """The optimizer state of ``source`` written into ``model`` (Keras 3), or why it was not:
    a refusal leaves the optimizer fresh and the model's file is still written."""
    from harness.keras.transplant import transplant

    try:
        return transplant(model, source)
    except TransplantError as exc:
        return {"refused": str(exc)}


def run_env_steps(
    config: Config,
    registry: Registry,
    env: str,
    build_dir: Path,
    *,
    models: list[str] | None = None,
) -> list[StepRecord]:
    environment = config.environment(env)
    runtime.check_environment(environment.version, env, environment.pins, environment.backend)
    records: list[StepRecord] = []
    steps = config.steps_for(env)
    repairs = config.path.parent / DEFAULT_REPAIRS
    rules = load_repairs(repairs) if any(s.repair for s in steps) else []
    digest = sha256_of(repairs) if rules else ""
    for step in steps:
        for model_id, entry in sorted(registry.models.items()):
            if models and model_id not in models:
                continue
            if config.lineage(step.target, entry.source, model_id) is None:
                continue  # this model's source does not lead to the step
            previous = read_step_record(build_dir, model_id, str(step.target))
            if up_to_date(previous, step, registry, model_id, build_dir) and (
                not step.repair or (previous is not None and previous.repair_digest == digest)
            ):
                assert previous is not None
                previous.status = "up-to-date"
                records.append(previous)
                report(env, previous)
                continue
            if previous is not None and previous.session and previous.session == session():
                records.append(previous)  # crashed or timed out earlier in this session
                continue
            upstream = read_step_record(build_dir, model_id, str(step.source))
            producer = config.producer(step.source) if step.source != entry.source else None
            if producer is not None and upstream is None:
                # the input is another environment's output that was never made
                record = StepRecord(
                    model_id,
                    step.name,
                    step.env,
                    "error",
                    "NotProduced",
                    f"its input {step.source} comes from {producer.name}, which has not run "
                    f"(run tox -e {producer.env} first)",
                    versions=runtime.versions(),
                )
            elif upstream is not None and upstream.status == "error":
                # the input was never written: report the first failure, not a missing path
                record = StepRecord(
                    model_id,
                    step.name,
                    step.env,
                    "error",
                    upstream.exception,
                    f"its input comes from {upstream.step}, which failed: {upstream.message}",
                    versions=runtime.versions(),
                )
            else:
                mark(build_dir, model_id, step.name, str(step.target))
                record = run_step(step, registry, model_id, build_dir, rules)
                record.repair_digest = digest if step.repair else ""
            write_json(step_record_path(build_dir, model_id, str(step.target)), asdict(record))
            unmark(build_dir)
            records.append(record)
            report(env, record)
    return records


def report(env: str, record: StepRecord) -> None:
    """Print one step's outcome as it happens (a crash later loses nothing printed), on one line
    of at most LINE_LIMIT characters (the step record keeps the whole message)."""
    outcome = (
        record.status
        if record.status in ("ok", "up-to-date")
        else f"{record.exception}: {record.message}"
    )
    print(shorten(f"{env}: {record.model}: {record.step}: {outcome}", LINE_LIMIT), flush=True)


def up_to_date(
    record: StepRecord | None, step: Step, registry: Registry, model_id: str, build_dir: Path
) -> bool:
    """A finished hop is not redone while its input, its output, its configuration and the
    environment's versions are what the step record says; a changed source changes the input
    hash of every hop after it, so everything downstream is redone."""
    if record is None or record.status != "ok" or record.step != step.name:
        return False
    if record.recompile_metrics != step.recompile_metrics or record.versions != runtime.versions():
        return False
    if bool(record.transplant) != step.transplant_optimizer:
        return False
    try:
        source = model_path(registry, build_dir, model_id, step.source)
        target = converted_path(build_dir, model_id, step.target)
    except HarnessError:
        return False
    if not source.exists() or not target.exists():
        return False
    if sha256_of(source) != record.input_sha256:
        return False
    return (recorded_sha256(record, target) or sha256_of(target)) == record.output_sha256
