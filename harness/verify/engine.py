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
    shards.clear_inflight(results_dir)
    return verdict.ok, verdict.message, verdict.cell
