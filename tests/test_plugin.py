"""pytester tests of the plugin's options (collection only: no TensorFlow needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(
        ".toml",
        harness=(ROOT / "harness.toml").read_text(),
        limitations=(ROOT / "limitations.toml").read_text(),
    )
    registry = pytester.path / "models" / "model_registry.json"
    registry.parent.mkdir()
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "dense_regression": {
                        "paths": {"2.13.keras": "models/2.13.keras/dense_regression.keras"}
                    },
                    "run_0a1b2c": {
                        "paths": {"2.13.h5": "models/2.13.h5/run_0a1b2c.h5"},
                        "source": "2.13.h5",
                    },
                }
            }
        )
    )
    pytester.makepyfile(test_compat=(ROOT / "compat" / "test_compat.py").read_text())
    return pytester


def ids(result: pytest.RunResult) -> list[str]:
    return [
        line.split("[", 1)[1].rstrip("]") for line in result.outlines if "::test_compat[" in line
    ]


def test_parametrized_over_models_routes_and_checks(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--collect-only", "-q", "--harness-env", "tf216", "--registry", "models/model_registry.json"
    )
    collected = ids(result)
    assert collected[:5] == [
        "dense_regression-2.13.keras-load",
        "dense_regression-2.13.keras-predict",
        "dense_regression-2.13.keras-evaluate",
        "dense_regression-2.13.keras-metrics",
        "dense_regression-2.13.keras-optimizer-state",
    ]
    assert "dense_regression-2.16.keras-metrics" in collected
    # a model whose source is 2.13.h5 has no 2.13.keras route
    assert not any(i.startswith("run_0a1b2c-2.13.keras") for i in collected)
    assert "run_0a1b2c-2.16.keras-predict" in collected
    assert "dense_regression-2.16-repaired.keras-load" in collected  # written by tf216-keras33
    assert "dense_regression-2.16.keras-train-step" in collected
    assert len(collected) == 5 * 6 + 4 * 6


def test_model_option_selects_one_model(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--collect-only",
        "-q",
        "--harness-env",
        "tf213",
        "--registry",
        "models/model_registry.json",
        "--model",
        "dense_regression",
    )
    collected = ids(result)
    assert collected[:3] == [
        "dense_regression-2.13.keras-golden",
        "dense_regression-2.13.keras-replay",
        "dense_regression-2.13.keras-names",
    ]
    assert all(i.startswith("dense_regression-") for i in collected)
    assert len(collected) == 3 + 2 * 6


def test_environment_from_the_environment_variable(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ENV", "tf215")
    monkeypatch.setenv("HARNESS_REGISTRY", "models/model_registry.json")
    result = project.runpytest("--collect-only", "-q")
    assert "dense_regression-2.15.h5-predict" in ids(result)


def test_no_environment_is_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_ENV", raising=False)
    result = project.runpytest("--registry", "models/model_registry.json")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "E   pytest.UsageError: keras-harness: no environment given and none matches the "
            "installed TensorFlow. Fix: run through tox (tox -e tf216) or pass --harness-env NAME "
            "(or set HARNESS_ENV)."
        ]
    )


def test_unknown_model_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--harness-env", "tf216", "--registry", "models/model_registry.json", "--model", "nope"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # one line, before any collection
    result.stderr.fnmatch_lines(["ERROR: keras-harness: Unknown model 'nope' in *"])


def test_wrong_python_environment_is_refused_before_running(project: pytest.Pytester) -> None:
    result = project.runpytest("--harness-env", "tf216", "--registry", "models/model_registry.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: keras-harness: Environment tf216 expects TensorFlow "
            "2.16.x. Received: TensorFlow ?*Fix: run it through tox*"
        ]
    )


def test_golden_regen_options_exist(project: pytest.Pytester) -> None:
    result = project.runpytest("--help")
    result.stdout.fnmatch_lines(["*--model=ID*", "*--golden-regen *", "*--golden-regen-all*"])


def test_shards_split_the_models_and_together_cover_every_item(project: pytest.Pytester) -> None:
    from harness.core.sharding import shard_of

    base = ("--collect-only", "-q", "--harness-env", "tf216", "--registry")
    whole = ids(project.runpytest(*base, "models/model_registry.json"))
    parts = []
    for index in (1, 2):
        result = project.runpytest(*base, "models/model_registry.json", "--shard", f"{index}/2")
        parts.append(ids(result))
        assert {i.split("-2.1", 1)[0] for i in parts[-1]} <= {
            m for m in ("dense_regression", "run_0a1b2c") if shard_of(m, 2) == index
        }
    assert sorted(parts[0] + parts[1]) == sorted(whole)
    assert not set(parts[0]) & set(parts[1])


def test_the_shard_comes_from_the_environment_too_and_shows_in_the_header(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_SHARD", "2/2")
    result = project.runpytest(
        "--collect-only", "--harness-env", "tf216", "--registry", "models/model_registry.json"
    )
    result.stdout.fnmatch_lines(["keras-harness: environment tf216, shard 2/2"])


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_bad_shard_is_one_line_naming_the_fix(project: pytest.Pytester, text: str) -> None:
    result = project.runpytest(
        "--collect-only",
        "--harness-env",
        "tf216",
        "--registry",
        "models/model_registry.json",
        "--shard",
        text,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: keras-harness: Bad shard '{text}': expected K/N with 1 <= K <= N. Fix: pass "
            "e.g. --shard 2/3 (the second of three shards; run 1/3, 2/3 and 3/3 to cover every "
            "model)."
        ]
    )
