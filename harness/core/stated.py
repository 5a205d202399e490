"""The ``expected`` check's verdict: what the user stated (the model's ``expected`` file, as its
golden recorded it) against what the source environment's load produced (the golden's
predictions and evaluate results). Pure: no TensorFlow, no state; files only to see whether the
``expected`` file is still the one the golden recorded.

Training-time values were computed on another machine, or at least in another process, so they
are compared under the cross-hardware tolerance of ``harness.toml`` unless the model declares an
``expected`` tolerance. Evaluate values are compared by metric name: a name stated and not
produced, or produced and not stated, is a difference of its own (``expected-metric-renamed``),
and a name whose output prefix the source load repeated (``out_mae`` stated, ``out_out_mae``
produced) is paired with it, so its value is compared too. Values beyond the tolerance, or
predictions of another count or shape, are ``expected-mismatch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.compare import Comparison, Tolerance, compare_outputs, compare_values
from harness.core.errors import ExpectedError
from harness.core.expected import Statement, expected_path, read_expected, recorded
from harness.core.golden import Golden, sha256_of
from harness.core.limitations import Observation
from harness.core.registry import Registry

#: a check's result: an observation (None when it passed), its detail and its numbers
Outcome = tuple[Observation | None, str, dict[str, Any]]
RENAMED = "metric names re-prefixed by the source load"


def renamed(missing: list[str], extra: list[str]) -> dict[str, str]:
    """Stated names the source load reported with their output prefix repeated: ``out_mae`` ->
    ``out_out_mae`` (stated name -> produced name)."""
    pairs: dict[str, str] = {}
    for name in missing:
        for other in extra:
            if other in pairs.values() or not other.endswith(f"_{name}"):
                continue
            prefix = other[: -len(name) - 1]
            if name.startswith(f"{prefix}_"):
                pairs[name] = other
                break
    return pairs


def name_differences(
    stated: list[str], produced: list[str], word: str = "stated"
) -> tuple[str, dict[str, str], int]:
    """``(text, renamed pairs, count)`` of the differences between two sets of metric names
    (``word`` says where the first set comes from); the text starts with :data:`RENAMED` when
    every difference is a repeated output prefix."""
    missing = sorted(set(stated) - set(produced))
    extra = sorted(set(produced) - set(stated))
    pairs = renamed(missing, extra)
    renames = [f"{name!r} {word}, {pairs[name]!r} produced" for name in sorted(pairs)]
    if len(pairs) == len(missing) == len(extra):
        return (f"{RENAMED}: {'; '.join(renames)}" if pairs else ""), pairs, len(pairs)
    items = [f"{name!r} {word}, not produced" for name in missing if name not in pairs]
    items += [f"{name!r} produced, not {word}" for name in extra if name not in pairs.values()]
    items += [f"{text} (output prefix repeated)" for text in renames]
    return f"metric names differ: {'; '.join(items)}", pairs, len(items)


def _as_produced(stated: list[Any], produced: list[Any]) -> list[Any]:
    """The stated arrays in the dtype of the produced ones where that cast keeps their kind
    (float64 from JSON or numpy to the model's float32)."""
    import numpy as np

    arrays = []
    for index, value in enumerate(stated):
        if index < len(produced):
            target = np.asarray(produced[index]).dtype
            if value.dtype != target and np.can_cast(value.dtype, target, "same_kind"):
                value = value.astype(target)
        arrays.append(value)
    return arrays


def judge(
    statement: Statement,
    predict: list[Any],
    evaluate: dict[str, float],
    tolerance: Tolerance,
    basis: str,
) -> Outcome:
    """``statement`` against the produced ``predict`` and ``evaluate``; ``basis`` ends the
    detail (which file, which tolerance)."""
    total = Comparison()
    parts: list[str] = []
    differences = 0
    if statement.predict:
        result = compare_outputs(_as_produced(statement.predict, predict), predict, tolerance)
        parts.append(f"predict {result.summary()}")
        total.merge(result)
    if statement.evaluate is not None:
        stated = statement.evaluate
        names, pairs, differences = name_differences(list(stated), list(evaluate))
        common = sorted(set(stated) & set(evaluate))
        want = {name: stated[name] for name in [*common, *pairs]}
        got = {name: evaluate[pairs.get(name, name)] for name in want}
        if want:
            result = compare_values(want, got, tolerance=tolerance)
            paired = " (re-prefixed names by their stated name)" if pairs else ""
            parts.append(f"evaluate {result.summary()}{paired}")
            total.merge(result)
        else:
            parts.append("evaluate: no metric name in common")
        if names:
            parts.insert(0, names)
    detail = f"{'; '.join(parts)} ({basis})"
    numbers = {**total.numbers(), "metric_name_differences": differences}
    if not total.ok:
        return Observation("expected-mismatch", "", detail), detail, numbers
    if differences:
        return Observation("expected-metric-renamed", "", detail), detail, numbers
    return None, detail, numbers


def verdict(
    registry: Registry, model: str, golden: Golden, cross_hardware: Tolerance, *, regenerate: str
) -> Outcome:
    """The ``expected`` check of ``model``: the statement its golden recorded against the
    golden's own outputs, once the registered file is known to be the one recorded."""
    path = expected_path(registry, model)
    if path is None:
        raise ExpectedError(
            f"Model {model!r} names no expected file in {registry.path}. Fix: add "
            f'"expected": "expected/{model}.json" to its entry, or do not run its expected check.'
        )
    record = recorded(golden)
    if record is None:
        message = (
            f"the golden of {model!r} was recorded without its expected file {path}. Fix: "
            f"record it: {regenerate}."
        )
        return Observation("expected-not-recorded", "", message), message, {}
    actual = sha256_of(path) if path.is_file() else None
    if actual != record.sha256:
        now = f"sha256 {actual[:12]}" if actual else "now missing"
        message = (
            f"the expected file {path} changed since the golden was recorded ({now}, golden "
            f"{record.sha256[:12]}). Fix: restore the file, or record it again: {regenerate}."
        )
        return Observation("expected-changed", "", message), message, {}
    declared = registry.get(model).tolerances.get("expected")
    tolerance = Tolerance.from_json(declared) if declared else cross_hardware
    which = "the model's expected" if declared else "cross-hardware"
    basis = f"stated in {record.file}; {which} tolerance {tolerance.describe()}"
    return judge(record.statement, golden.predict, golden.evaluate, tolerance, basis)


def statement_for(registry: Registry, model: str) -> tuple[Statement, str, Path] | None:
    """What to record in ``model``'s golden: its statement, the file as registered and its
    path (None when it names no expected file); :class:`ExpectedError` when it cannot be read."""
    path = expected_path(registry, model)
    if path is None:
        return None
    try:
        statement = read_expected(path)
    except ExpectedError as exc:
        raise ExpectedError(f"Model {model!r}: {exc}") from None
    return statement, str(registry.get(model).expected), path


# ------------------------------------------------------------------ keras-harness validate
def problems(registry: Registry, model: str, *, goldens: bool = True) -> list[str]:
    """Why ``model``'s expected file cannot be used, without TensorFlow: it does not read, it
    needs inputs it has not got, or its predictions do not fit the golden (or, before there is
    one, the inputs); ``goldens``: whether the golden may be read (its folder is allowed)."""
    try:
        path = expected_path(registry, model)
        if path is None:
            return []
        statement = read_expected(path)
    except ExpectedError as exc:
        return [str(exc)]
    golden = _golden(registry, model) if goldens else None
    found = _inputs_problems(registry, model, path, statement, rows=golden is None)
    if golden is not None:
        found += _golden_problems(model, path, statement, golden)
    return found


def _golden(registry: Registry, model: str) -> Golden | None:
    from harness.core.errors import HarnessError
    from harness.core.golden import exists, read_golden

    if not exists(registry.golden_dir, model):
        return None
    try:
        return read_golden(registry.golden_dir, model)
    except HarnessError:
        return None  # reported by the golden's own check


def _inputs_problems(
    registry: Registry, model: str, path: Path, statement: Statement, *, rows: bool
) -> list[str]:
    import numpy as np

    entry = registry.get(model)
    if entry.case is not None:
        return []
    if entry.inputs is None:
        return [
            f"its expected file {path} states values computed on the golden's inputs, but the "
            f'model has no "inputs" file, so its golden\'s inputs are seeded noise. Fix: add '
            f'"inputs": an .npz with the x (and y) that the expected values were computed on.'
        ]
    inputs = Path(entry.inputs)
    inputs = inputs if inputs.is_absolute() else registry.root / inputs
    try:
        with open(inputs, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            shapes = {key: tuple(np.array(data[key]).shape) for key in data.files}
    except Exception:
        return []  # reported by the inputs file's own check
    found = []
    if statement.evaluate is not None and not any(_numbered(key, "y") for key in shapes):
        found.append(
            f"its expected file {path} states evaluate values, but its inputs file {inputs} has "
            f"no targets (keys: {sorted(shapes)}). Fix: save the targets the values were "
            f"computed on as y (or y0, y1, ...) in the inputs file."
        )
    xs = [shape for key, shape in sorted(shapes.items()) if _numbered(key, "x")]
    if rows and xs and xs[0]:
        for index, value in enumerate(statement.predict):
            if value.shape[0] != xs[0][0]:
                found.append(
                    f"its expected file {path}: the predictions of output {index} have "
                    f"{value.shape[0]} rows, the inputs file {inputs} has {xs[0][0]}. Fix: save "
                    f"the predictions of exactly these inputs, one row per input, in their order."
                )
    return found


def _numbered(key: str, letter: str) -> bool:
    return key == letter or (key.startswith(letter) and key[1:].isdigit())


def _golden_problems(model: str, path: Path, statement: Statement, golden: Golden) -> list[str]:
    record = recorded(golden)
    regen = f"--golden-regen --model {model}"
    if record is None:
        return [
            f"its golden was recorded without its expected file {path}. Fix: record it with "
            f"{regen}."
        ]
    found = []
    if record.sha256 != sha256_of(path):
        found.append(
            f"its expected file {path} changed since the golden was recorded. Fix: restore the "
            f"file, or record it again with {regen}."
        )
    stated, produced = statement.predict, golden.predict
    if stated and len(stated) != len(produced):
        shapes = ", ".join(str(tuple(p.shape)) for p in produced)
        found.append(
            f"its expected file {path} states {_outputs(len(stated))}, the golden has "
            f"{len(produced)} (shapes {shapes}). Fix: save one array per model output, y0, y1, "
            f"... in output order."
        )
    elif stated:
        for index, (want, got) in enumerate(zip(stated, produced, strict=True)):
            if tuple(want.shape) != tuple(got.shape):
                found.append(
                    f"its expected file {path}: the predictions of output {index} have shape "
                    f"{tuple(want.shape)}, the golden's have {tuple(got.shape)}. Fix: save what "
                    f"model.predict returned on the golden's inputs."
                )
    return found


def _outputs(count: int) -> str:
    return f"{count} output{'s' if count != 1 else ''}"
