"""Expected values from the user: what a model did at training time, stated in a file.

A registry entry may name an ``expected`` file (relative to the registry's root, like its other
paths) holding values the user kept from training, computed on the model's golden inputs (its
``inputs`` file):

- ``.npz``: the predictions as ``y`` (one output) or ``y0``, ``y1``, ... (one array per output,
  in the model's output order), and/or evaluate values as scalars named ``evaluate/<metric>``;
- ``.json``: ``{"evaluate": {"loss": 0.12, "out_mae": 0.3}, "predict": {"y0": [[...]], ...}}``,
  either key optional (``evaluate`` is what ``model.evaluate(x, y, return_dict=True)`` returned).

The golden records a copy of what was stated (``golden.json``'s ``expected``: the file as
registered, its sha256 and the evaluate values; ``golden.npz``'s ``e0``, ``e1``, ...: the stated
predictions), beside what the source environment's load produced. The ``expected`` check
(:mod:`harness.core.stated`) compares the two. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.errors import ExpectedError
from harness.core.golden import Golden, sha256_of
from harness.core.registry_schema import shown, unknown_key

if TYPE_CHECKING:
    from harness.core.registry import Registry

PREDICTION_RE = re.compile(r"^y(0|[1-9][0-9]*)?$")
EVALUATE_PREFIX = "evaluate/"
JSON_KEYS = ("evaluate", "predict")
FORMAT_FIX = (
    "save the predictions with numpy.savez (y for one output, or y0, y1, ... in output order) "
    'and/or write the evaluate values as JSON {"evaluate": {"loss": ...}}'
)


@dataclass
class Statement:
    """What the user stated: predictions per output (empty: none) and evaluate values by metric
    name (None: none)."""

    predict: list[Any] = field(default_factory=list)
    evaluate: dict[str, float] | None = None


@dataclass(frozen=True)
class Recorded:
    """The copy of a statement that a golden holds: the file as registered and its sha256."""

    file: str
    sha256: str
    statement: Statement


def expected_path(registry: Registry, model_id: str) -> Path | None:
    """The absolute path of a model's ``expected`` file (None when it names none), resolved like
    its model files: against the registry's root, refused when it leaves the root."""
    raw = registry.get(model_id).expected
    if raw is None:
        return None
    path = Path(raw)
    if path.is_absolute():
        return path
    resolved = (registry.root / path).resolve()
    if not resolved.is_relative_to(registry.root.resolve()) and not registry.allow_outside_root:
        raise ExpectedError(
            f"Model {model_id!r} in {registry.path}: the expected file {raw!r} leaves the "
            f"registry's root {registry.root}. Fix: give an absolute path, move the file under "
            f'the root, or set "allow_outside_root": true.'
        )
    return registry.root / path


def read_expected(path: Path) -> Statement:
    """The statement of an ``expected`` file, or :class:`ExpectedError` saying what to fix."""
    if path.suffix not in (".npz", ".json"):
        raise ExpectedError(
            f"expected file {path} is neither .npz nor .json (got {path.name!r}). Fix: "
            f"{FORMAT_FIX}."
        )
    if not path.is_file():
        raise ExpectedError(
            f'expected file {path} does not exist. Fix: correct the model\'s "expected" path '
            f"(relative paths start at the registry's root) or restore the file."
        )
    statement = _read_npz(path) if path.suffix == ".npz" else _read_json(path)
    if not statement.predict and statement.evaluate is None:
        raise ExpectedError(
            f"expected file {path} states nothing (no predictions, no evaluate values). Fix: "
            f"{FORMAT_FIX}."
        )
    return statement


def _unreadable(path: Path, exc: Exception) -> ExpectedError:
    return ExpectedError(
        f"expected file {path} cannot be read ({type(exc).__name__}: {exc}). Fix: {FORMAT_FIX}."
    )


def _read_npz(path: Path) -> Statement:
    import numpy as np

    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {key: np.array(data[key]) for key in data.files}
    except Exception as exc:  # zipfile/ValueError/OSError: not an archive, or pickled arrays
        raise _unreadable(path, exc) from None
    unknown = [
        key
        for key in arrays
        if not PREDICTION_RE.match(key) and not key.startswith(EVALUATE_PREFIX)
    ]
    if unknown:
        raise ExpectedError(
            f"expected file {path} has arrays the harness does not read: "
            f"{', '.join(repr(k) for k in sorted(unknown))} (keys: {sorted(arrays)}). Fix: name "
            f"the predictions y (one output) or y0, y1, ... (one per output, in output order) "
            f"and the evaluate values evaluate/<metric name>."
        )
    evaluate = {
        key[len(EVALUATE_PREFIX) :]: _number(path, key[len(EVALUATE_PREFIX) :], value)
        for key, value in arrays.items()
        if key.startswith(EVALUATE_PREFIX)
    }
    predictions = {key: value for key, value in arrays.items() if PREDICTION_RE.match(key)}
    return Statement(_outputs(path, predictions), evaluate or None)


def _read_json(path: Path) -> Statement:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExpectedError(
            f"expected file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}. Fix: correct the JSON at that position."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from None
    if not isinstance(data, dict):
        raise ExpectedError(
            f'expected file {path} must hold a JSON object with "evaluate" and/or "predict" '
            f'(got {shown(data)}). Fix: write it like {{"evaluate": {{"loss": 0.12}}}}.'
        )
    for key in data:
        if key not in JSON_KEYS:
            raise ExpectedError(f"expected file {path}: {unknown_key(key, JSON_KEYS)}")
    evaluate = None
    if "evaluate" in data:
        values = data["evaluate"]
        if not isinstance(values, dict) or not values:
            raise ExpectedError(
                f'expected file {path}: "evaluate" must be a non-empty object of metric names '
                f"and numbers (got {shown(values)}). Fix: write the dict that "
                f"model.evaluate(x, y, return_dict=True) returned."
            )
        evaluate = {str(name): _number(path, str(name), value) for name, value in values.items()}
    predictions: dict[str, Any] = {}
    if "predict" in data:
        raw = data["predict"]
        if not isinstance(raw, dict) or not raw:
            raise ExpectedError(
                f'expected file {path}: "predict" must be an object of y (or y0, y1, ...) and '
                f"nested lists of numbers (got {shown(raw)}). Fix: write it like "
                f'{{"predict": {{"y0": [[0.5], [0.25]]}}}}, or save the predictions in an .npz.'
            )
        predictions = {str(key): _array(path, str(key), value) for key, value in raw.items()}
    return Statement(_outputs(path, predictions), evaluate)


def _array(path: Path, name: str, value: Any) -> Any:
    import numpy as np

    try:
        return np.array(value)
    except ValueError:
        raise ExpectedError(
            f"expected file {path}: {name!r} must be an array of numbers with one row per input "
            f"(got nested lists of unequal lengths). Fix: save what model.predict returned on "
            f"the golden's inputs."
        ) from None


def _outputs(path: Path, predictions: dict[str, Any]) -> list[Any]:
    """The predictions in output order, refused unless named y, or y0..yN without gaps, and
    numeric arrays with a row dimension."""
    if not predictions:
        return []
    names = sorted(predictions)
    if all(PREDICTION_RE.match(name) for name in names):
        names.sort(key=lambda key: int(key[1:] or -1))
    if names != ["y"] and names != [f"y{index}" for index in range(len(names))]:
        raise ExpectedError(
            f"expected file {path}: the predictions must be y (one output) or y0, y1, ... "
            f"numbered from 0 without gaps (got {', '.join(repr(n) for n in names)}). Fix: save "
            f"one array per model output, in output order."
        )
    outputs = []
    for name in names:
        value = predictions[name]
        if value.dtype.kind not in "iuf" or value.ndim == 0:
            raise ExpectedError(
                f"expected file {path}: {name!r} must be an array of numbers with one row per "
                f"input (got dtype {value.dtype}, shape {tuple(value.shape)}). Fix: save what "
                f"model.predict returned on the golden's inputs."
            )
        outputs.append(value)
    return outputs


def _number(path: Path, name: str, value: Any) -> float:
    import numpy as np

    if isinstance(value, np.ndarray):
        usable = value.dtype.kind in "iuf" and value.size == 1
        got = f"dtype {value.dtype}, shape {tuple(value.shape)}"
    else:
        usable = isinstance(value, int | float) and not isinstance(value, bool)
        got = shown(value)
    if not usable:
        raise ExpectedError(
            f"expected file {path}: the evaluate value {name!r} must be a number (got {got}). "
            f"Fix: write the number that model.evaluate(..., return_dict=True) returned for it."
        )
    return float(np.asarray(value).reshape(()))


# ---------------------------------------------------------------------------- in the golden
def attach(golden: Golden, statement: Statement, *, file: str, path: Path) -> None:
    """Record ``statement`` (read from ``path``, registered as ``file``) in ``golden``."""
    meta: dict[str, Any] = {"file": file, "sha256": sha256_of(path)}
    if statement.evaluate is not None:
        meta["evaluate"] = dict(statement.evaluate)
    golden.meta["expected"] = meta
    golden.stated = list(statement.predict)


def recorded(golden: Golden) -> Recorded | None:
    """The statement a golden recorded (None: recorded without one, like every older golden)."""
    meta = golden.meta.get("expected")
    if not isinstance(meta, dict):
        return None
    evaluate = meta.get("evaluate")
    return Recorded(
        str(meta.get("file", "")),
        str(meta.get("sha256", "")),
        Statement(list(golden.stated), dict(evaluate) if isinstance(evaluate, dict) else None),
    )
