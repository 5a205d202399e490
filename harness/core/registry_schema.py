"""What a registry may say beyond ``paths``: its known keys and the type of each value.

The registry keeps keys it does not know through a round trip, and its readers ignore a value of
the wrong type in the safe direction (``"trusted": "yes"`` trusts nothing, a malformed tolerance
is no tolerance: the comparison stays exact). ``keras-harness validate`` reports both, with the
key to use or the value to write. Whatever makes the registry unusable (no ``paths``, an invalid
spec, ``root`` that is not a path) is refused when it is loaded, by :mod:`harness.core.registry`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

#: the keys of a model's entry
ENTRY_KEYS = (
    "paths",
    "source",
    "custom_objects",
    "inputs",
    "expected",
    "tolerances",
    "trusted",
    "case",
)
#: the keys at the top level
TOP_KEYS = ("models", "root", "golden_dir", "allow_outside_root")
#: the checks a tolerance can be declared for; predict and evaluate also per device kind
CHECKS = ("predict", "evaluate", "train-step", "replay", "expected")
DEVICE_CHECKS = tuple(
    f"{check}@{kind}" for check in ("predict", "evaluate") for kind in ("cpu", "gpu")
)
TOLERANCE_KEYS = ("max_abs", "max_ulp", "reason")
TOLERANCE_FIX = (
    "give max_abs (a number >= 0) and/or max_ulp (an integer >= 0) and a reason that says how "
    "they were measured"
)


@dataclass(frozen=True)
class Issue:
    """One problem found in the registry's data: ``model`` is None at the top level; ``where`` is
    the path of JSON keys that locates it (for its line)."""

    message: str
    model: str | None = None
    where: tuple[str, ...] = ()


def shown(value: Any, limit: int = 60) -> str:
    """A value as the JSON the user wrote, on one line, cut at ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unknown_key(key: str, known: tuple[str, ...], what: str = "key") -> str:
    """``unknown key 'trustd'. Fix: did you mean 'trusted'?`` (the known keys when none is
    close)."""
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown {what} {key!r}. Fix: did you mean {close[0]!r}?"
    names = ", ".join(repr(name) for name in known)
    return f"unknown {what} {key!r}. Fix: remove it or use one of {names}."


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def tolerance_problems(check: str, value: Any) -> list[str]:
    """What is wrong with one declared tolerance (empty when it can be used)."""
    name = f"tolerance {check!r}"
    if not isinstance(value, dict):
        return [
            f'{name} must be an object like {{"max_ulp": 4, "reason": "..."}} '
            f"(got {shown(value)}). Fix: {TOLERANCE_FIX}."
        ]
    problems = [
        f"{name}: {unknown_key(key, TOLERANCE_KEYS)}" for key in value if key not in TOLERANCE_KEYS
    ]
    if "max_abs" in value and not _is_number(value["max_abs"]):
        problems.append(
            f"{name}: max_abs must be a number >= 0 (got {shown(value['max_abs'])}). "
            f'Fix: write a number >= 0 without quotes, e.g. "max_abs": 1e-05.'
        )
    if "max_ulp" in value and not _is_count(value["max_ulp"]):
        problems.append(
            f"{name}: max_ulp must be an integer >= 0 (got {shown(value['max_ulp'])}). "
            f'Fix: write an integer >= 0 without quotes, e.g. "max_ulp": 4.'
        )
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        got = shown(reason) if "reason" in value else 'no "reason"'
        problems.append(
            f'{name} has no reason (got {got}). Fix: add a "reason" that says how the '
            f"tolerance was measured."
        )
    return problems


def usable_tolerances(value: Any) -> dict[str, dict[str, Any]]:
    """The tolerances that can be used (the others leave their check exact)."""
    if not isinstance(value, dict):
        return {}
    return {
        check: dict(tolerance)
        for check, tolerance in value.items()
        if not tolerance_problems(check, tolerance)
    }


def usable_custom_objects(value: Any) -> dict[str, str]:
    """The custom object references that are strings (the others are not passed on)."""
    if not isinstance(value, dict):
        return {}
    return {name: reference for name, reference in value.items() if isinstance(reference, str)}


def top_issues(data: dict[str, Any]) -> list[Issue]:
    """Unknown keys and wrongly typed values at the registry's top level (``root`` and
    ``golden_dir`` of the wrong type are refused at load)."""
    issues = [
        Issue(unknown_key(key, TOP_KEYS, "top-level key"), where=(key,))
        for key in data
        if key not in TOP_KEYS
    ]
    if "allow_outside_root" in data and not is_bool(data["allow_outside_root"]):
        issues.append(
            Issue(
                f'"allow_outside_root" must be true or false (got '
                f"{shown(data['allow_outside_root'])}); anything but true keeps paths inside "
                f"the root. Fix: write true or false without quotes, or remove the key.",
                where=("allow_outside_root",),
            )
        )
    return issues


def entry_issues(model: str, entry: dict[str, Any]) -> list[Issue]:
    """Unknown keys and wrongly typed optional values of one model's entry (``paths`` and
    ``source`` are refused at load)."""
    issues = [
        Issue(unknown_key(key, ENTRY_KEYS), model, (key,)) for key in entry if key not in ENTRY_KEYS
    ]
    if "trusted" in entry and not is_bool(entry["trusted"]):
        issues.append(
            Issue(
                f'"trusted" must be true or false (got {shown(entry["trusted"])}); anything but '
                f'true is not trusted. Fix: write "trusted": true without quotes to let its '
                f"file execute code, or remove the key.",
                model,
                ("trusted",),
            )
        )
    for key, example in (
        ("inputs", "inputs/model.npz"),
        ("expected", "expected/model.json"),
        ("case", "dense_regression"),
    ):
        if key in entry and not isinstance(entry[key], str):
            issues.append(
                Issue(
                    f'"{key}" must be a string (got {shown(entry[key])}). Fix: write it like '
                    f'"{key}": "{example}".',
                    model,
                    (key,),
                )
            )
    issues.extend(_custom_object_issues(model, entry))
    issues.extend(_tolerance_issues(model, entry))
    return issues


def _custom_object_issues(model: str, entry: dict[str, Any]) -> list[Issue]:
    if "custom_objects" not in entry:
        return []
    value = entry["custom_objects"]
    if not isinstance(value, dict):
        return [
            Issue(
                f"\"custom_objects\" must be an object of names and 'module:attr' strings (got "
                f'{shown(value)}). Fix: write it like {{"Scale": "my_layers:Scale"}}.',
                model,
                ("custom_objects",),
            )
        ]
    return [
        Issue(
            f"custom object {name!r} must be a 'module:attr' string (got {shown(reference)}). "
            f'Fix: write it like "{name}": "my_layers:{name}".',
            model,
            ("custom_objects", name),
        )
        for name, reference in value.items()
        if not isinstance(reference, str)
    ]


def _tolerance_issues(model: str, entry: dict[str, Any]) -> list[Issue]:
    if "tolerances" not in entry:
        return []
    value = entry["tolerances"]
    if not isinstance(value, dict):
        return [
            Issue(
                f'"tolerances" must be an object of checks and tolerances (got {shown(value)}). '
                f'Fix: write it like {{"predict": {{"max_ulp": 4, "reason": "..."}}}}.',
                model,
                ("tolerances",),
            )
        ]
    issues = []
    for check, tolerance in value.items():
        if check not in CHECKS + DEVICE_CHECKS:
            message = unknown_key(check, CHECKS + DEVICE_CHECKS, "check")
            issues.append(Issue(f"tolerances: {message}", model, ("tolerances", check)))
        issues.extend(
            Issue(problem, model, ("tolerances", check))
            for problem in tolerance_problems(check, tolerance)
        )
    return issues
