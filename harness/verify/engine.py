"""What the pytest plugin asks for, as library calls: open the session of one environment, and
perform one item's check (pytest-regressions' ``perform_regression_check`` is the model: one
function owns golden recording, checks of models whose worker died, in-flight markers and the
shard the cell is written to)."""

from __future__ import annotations

from pathlib import Path

from harness.core.config import load_config
from harness.core.errors import HarnessError
from harness.core.limitations import load_catalogue
from harness.core.registry import Registry
from harness.core.results import Cell
from harness.keras import runtime
from harness.source.recorder import check_golden
from harness.verify import shards
from harness.verify.session import Item, Verifier


def open_session(
    *,
    env: str | None,
    config: Path,
    registry: Path,
    limitations: Path,
    build_dir: Path,
    models: list[str],
) -> Verifier:
    """The verification session of ``env`` (None: the one environment matching the installed
    TensorFlow and Keras), with every named model checked to exist."""
    harness_config = load_config(config)
    if not env:
        env = runtime.infer_environment(
            {e.name: (e.version, e.keras) for e in harness_config.environments.values()}
        )
    if not env:
        raise HarnessError(
            "no environment given and none matches the installed TensorFlow. Fix: run through "
            "tox (tox -e tf216) or pass --harness-env NAME (or set HARNESS_ENV)."
        )
    loaded = Registry.load(registry)
    catalogue = load_catalogue(limitations)
    harness_config.environment(env)
    for model in models:
        loaded.get(model)
    return Verifier(
        config=harness_config, registry=loaded, catalogue=catalogue, env=env, build_dir=build_dir
    )


def perform_check(
    verifier: Verifier, item: Item, *, golden_mode: str | None, timeout: float | None
) -> tuple[bool, str, Cell | None]:
    """Run one item; returns ``(ok, message, cell)``. The golden item records or confirms the
    golden (``golden_mode``: None, ``regen`` or ``regen-all``) and has no cell; every other
    item's cell is appended to this process's shard as soon as it is made."""
    if item.check == "golden":
        verifier.hold(item)
        try:
            ok, message = check_golden(verifier, item.model, golden_mode)
        except HarnessError as exc:
            ok, message = False, str(exc)
        return ok, message, None
    results_dir = verifier.build_dir / "results"
    failed_before = shards.poisoned(results_dir, verifier.env.name).get(item.model)
    if failed_before:
        cell = verifier.cell(item, failed_before, shards.not_run_detail(failed_before), {})
        shards.add_cell(results_dir, cell)
        return False, f"{item.id}: {cell.status}: {cell.detail}", cell
    device, device_name = verifier.device
    shards.mark_inflight(
        results_dir,
        {
            "id": item.id,
            "model": item.model,
            "route": item.route,
            "spec": item.spec,
            "check": item.check,
        },
        env=verifier.env.name,
        device=device,
        device_name=device_name,
        versions=runtime.versions(),
        timeout=timeout,
        hardware=verifier.fingerprint.to_json(),
    )
    verdict = verifier.run(item)
    shards.add_cell(results_dir, verdict.cell)
    shards.clear_inflight(results_dir, verifier.env.name)
    return verdict.ok, verdict.message, verdict.cell


def record_goldens(verifier: Verifier, models: list[str]) -> list[tuple[str, bool, str]]:
    """``keras-harness record``: the golden of every model (``models``: of these) that has none,
    written; each one that has a golden, confirmed against its source file. Returns one
    ``(model, ok, line)`` per model; a model that fails is reported and the others go on."""
    from harness.core.golden import read_golden

    report = []
    for model in sorted(models or verifier.registry.models):
        if model not in verifier.registry.models:
            verifier.registry.get(model)  # raises with the known ids
        if not verifier.is_source_env(model):
            source = verifier.registry.get(model).source
            line = f"{model}: not recorded here: its source {source} is another environment's"
            report.append((model, False, line))
            continue
        existed = (verifier.golden_dir / model / "golden.json").exists()
        try:
            ok, message = check_golden(verifier, model, None)
        except HarnessError as exc:
            report.append((model, False, f"{model}: not recorded: {exc}"))
            continue
        except Exception as exc:  # one model that Keras cannot take fails its own line
            report.append((model, False, f"{model}: not recorded: {type(exc).__name__}: {exc}"))
            continue
        if existed:
            report.append((model, ok, f"{model}: kept: {message}" if ok else f"{model}: {message}"))
            continue
        golden = read_golden(verifier.golden_dir, model)
        origin = golden.meta.get("inputs", {})
        inputs = origin.get("source", "?") if isinstance(origin, dict) else "?"
        names = ", ".join(golden.evaluate)
        report.append(
            (
                model,
                True,
                f"{model}: recorded {verifier.golden_dir / model} ({len(golden.x)} input(s), "
                f"{len(golden.x[0])} rows, {inputs}; evaluate reports {names})",
            )
        )
    return report
