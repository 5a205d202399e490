"""Recording goldens in the source environment, with pytest-regressions' contract.

- a missing golden is written and its test FAILS (review it, commit it, rerun);
- ``--golden-regen`` rewrites goldens and still fails; ``--golden-regen-all`` rewrites and passes;
- a golden whose source file changed since it was recorded fails with the fix;
- a model's ``expected`` file (the values the user stated) is recorded in its golden beside what
  the source load produced (:mod:`harness.core.expected`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Protocol

from harness.core import synthetic
from harness.core.config import Config, Environment
from harness.core.errors import GoldenError, HarnessError, describe
from harness.core.expected import attach
from harness.core.golden import (
    GOLDEN_SCHEMA,
    Golden,
    exists,
    read_golden,
    sha256_of,
    write_golden,
)
from harness.core.hardware import Fingerprint
from harness.core.metric_names import compiled_names
from harness.core.registry import Registry
from harness.core.specs import Spec
from harness.core.stated import statement_for
from harness.keras import formats
from harness.source import cases


class Session(Protocol):
    """What recording a golden needs of the verification session (its Verifier)."""

    registry: Registry
    config: Config
    env: Environment
    golden_dir: Path

    @property
    def fingerprint(self) -> Fingerprint: ...

    def open(self, model: str, spec: Spec) -> Any: ...

    def forget_golden(self, model: str) -> None: ...


def golden_inputs(
    verifier: Session, model_id: str, model: Any
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """The fixed inputs and targets: the case's data, the registry's ``inputs`` file, or
    generated from the model's inputs and their consumers (:mod:`harness.core.synthetic`); and
    where they come from, as the golden records it (``meta["inputs"]``)."""
    import numpy as np

    entry = verifier.registry.get(model_id)
    if entry.case:
        cases_dir = verifier.config.path.parent / "cases"
        xs, ys = cases.case_data(cases_dir, entry.case)
        return xs, ys, {"source": "case", "case": entry.case}
    if entry.inputs:
        path = Path(entry.inputs)
        path = path if path.is_absolute() else verifier.registry.root / path
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                arrays = {key: np.array(data[key]) for key in data.files}
        except Exception as exc:
            raise GoldenError(
                f"Inputs file {path} of model {model_id!r} cannot be read: "
                f"{type(exc).__name__}: {exc}. Fix: write it with numpy.savez(x=..., y=...)."
            ) from None
        xs, ys = _numbered(arrays, "x"), _numbered(arrays, "y")
        if not xs:
            raise GoldenError(
                f"Inputs file {path} of model {model_id!r} has no 'x' array. Received keys: "
                f"{sorted(arrays)}. Fix: save the inputs as x (or x0, x1, ...) and targets as y."
            )
        _check_shapes(path, model_id, model, xs)
        origin: dict[str, Any] = {"source": "file", "file": str(entry.inputs)}
        return xs, ys or _targets_from_predictions(model, xs), origin
    xs, hows = synthetic.generate_inputs(formats.backend().input_specs(model))
    origin = {"source": "generated", "seed": synthetic.SEED, "inputs": hows}
    return xs, _targets_from_predictions(model, xs), origin


def _numbered(arrays: dict[str, Any], prefix: str) -> list[Any]:
    """``x`` alone, or ``x0``, ``x1``, ... in numeric order (``x10`` after ``x9``)."""
    if prefix in arrays:
        return [arrays[prefix]]
    keys = [k for k in arrays if k.startswith(prefix) and k[1:].isdigit()]
    return [arrays[k] for k in sorted(keys, key=lambda k: int(k[1:]))]


def _check_shapes(path: Path, model_id: str, model: Any, xs: list[Any]) -> None:
    expected = [tuple(tensor.shape) for tensor in model.inputs]
    if len(expected) != len(xs):
        raise GoldenError(
            f"Inputs file {path} of model {model_id!r} holds {len(xs)} input arrays, the model "
            f"has {len(expected)} inputs. Fix: save one array per model input (x0, x1, ...)."
        )
    for index, (x, shape) in enumerate(zip(xs, expected, strict=True)):
        fits = len(x.shape) == len(shape) and all(
            want is None or want == got for want, got in zip(shape[1:], x.shape[1:], strict=True)
        )
        if not fits:
            raise GoldenError(
                f"Inputs file {path} of model {model_id!r}: input {index} has shape "
                f"{tuple(x.shape)}, the model expects {shape}. Fix: save inputs that match the "
                f"model's input shape."
            )


def _targets_from_predictions(model: Any, xs: list[Any]) -> list[Any]:
    import numpy as np

    outputs: list[Any] = formats.backend().predict(model, xs, len(xs[0]))
    loss = str(getattr(model, "loss", ""))
    if "sparse" in loss:
        return [np.argmax(out, axis=-1) for out in outputs]
    return outputs


def check_golden(verifier: Session, model_id: str, mode: str | None) -> tuple[bool, str]:
    """Record or confirm the golden of one model. Returns ``(ok, message)``."""
    golden_dir = verifier.golden_dir
    entry = verifier.registry.get(model_id)
    source = verifier.registry.resolve(model_id, entry.source)
    if exists(golden_dir, model_id) and mode is None:
        golden = read_golden(golden_dir, model_id)
        if not source.exists():
            raise HarnessError(
                f"Source model of {model_id!r} not found: {source}. Fix: restore it or correct "
                f"its path in {verifier.registry.path}."
            )
        actual = sha256_of(source)
        if golden.meta["source_sha256"] != actual:
            return False, (
                f"The source model {source} changed since its golden was recorded (sha256 "
                f"{actual[:12]}, golden {golden.meta['source_sha256'][:12]}). Fix: restore the "
                f"file, or regenerate: tox -e {verifier.env.name} -- --golden-regen "
                f"--model {model_id}."
            )
        return True, "golden present and matches its source file"
    stated = statement_for(verifier.registry, model_id)  # refused before any load if unusable
    model = verifier.open(model_id, entry.source)
    xs, ys, origin = golden_inputs(verifier, model_id, model)
    golden = record_golden(
        model,
        model=model_id,
        source_spec=str(entry.source),
        source_path=source,
        x=xs,
        y=ys,
        batch_size=len(xs[0]),
        command=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        hardware=verifier.fingerprint.to_json(),
    )
    golden.meta["inputs"] = origin
    # the names training reported, from the file's compile config, beside the names the source
    # load's evaluate reported (golden.meta["evaluate"]): the names check compares them
    golden.meta["compiled_metric_names"] = compiled_names(source, len(golden.predict))
    if stated is not None:
        statement, file, path = stated
        attach(golden, statement, file=file, path=path)
    write_golden(golden_dir, golden)
    verifier.forget_golden(model_id)
    where = golden_dir / model_id
    if mode == "regen-all":
        return True, f"golden regenerated: {where}"
    verb = "regenerated" if mode == "regen" else "was missing and has been written"
    if origin["source"] == "generated":  # how: golden.json's "inputs"
        return False, (
            f"The golden of {model_id!r} {verb}: {where}, on generated inputs. Fix: review it, "
            f"commit it, and rerun; register real inputs for a meaningful evaluate."
        )
    return False, (
        f"The golden of {model_id!r} {verb}: {where}. Fix: review it, commit it, and rerun "
        f"(a written golden fails once by design)."
    )


def record_golden(
    model_obj: Any,
    *,
    model: str,
    source_spec: str,
    source_path: Path,
    x: list[Any],
    y: list[Any],
    batch_size: int,
    command: str,
    hardware: dict[str, Any] | None = None,
) -> Golden:
    """Run the source model in the source environment and capture what it does (TensorFlow)."""
    from harness.keras import formats, runtime

    backend = formats.backend()
    predictions = backend.predict(model_obj, x, batch_size)
    evaluate = backend.evaluate(model_obj, x, y, batch_size)
    iterations, slots = backend.optimizer_variables(model_obj)
    device_kind, device_name = runtime.device()
    meta: dict[str, Any] = {
        "schema": GOLDEN_SCHEMA,
        "model": model,
        "source_spec": source_spec,
        "source_sha256": sha256_of(source_path),
        "batch_size": batch_size,
        "evaluate": evaluate,
        "compile": backend.compile_summary(model_obj),
        "optimizer": {
            "class_name": type(getattr(model_obj, "optimizer", None)).__name__,
            "iterations": iterations,
            "slots": [{"name": name, "shape": list(value.shape)} for name, value in slots],
        },
        "provenance": {
            **runtime.versions(),
            "device": device_kind,
            "device_name": device_name,
            "command": command,
            **({"hardware": hardware} if hardware else {}),
        },
    }
    meta["train_step"], trained = record_train_step(backend, model_obj, x, y)
    return Golden(
        model, meta, list(x), list(y), predictions, [value for _, value in slots], trained=trained
    )


def record_train_step(
    backend: Any, model_obj: Any, x: list[Any], y: list[Any]
) -> tuple[dict[str, Any], list[Any]]:
    """One train step of the source model on the golden batch (the ``train-step`` check's
    reference): what it reported, the weights' names and the iteration count after it; or why
    it could not be taken (``{"refused": ...}``)."""
    if getattr(model_obj, "optimizer", None) is None:
        return {"refused": "the model has no optimizer (not compiled)"}, []
    try:
        metrics, after, iterations, off = backend.train_step(model_obj, x, y)
    except Exception as exc:
        return {"refused": f"{type(exc).__name__}: {describe(exc)}"}, []
    meta = {
        "metrics": metrics,
        "weights": [name for name, _ in after],
        "iterations": iterations,
        "randomness_off": off,
    }
    return meta, [value for _, value in after]
