"""One screen: a failing cell is one line of at most 250 characters (the cell id, its status, what
was observed and the nearest catalogue entry), its full explanation goes to -v (no TensorFlow)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from harness.convert.records import StepRecord
from harness.core.config import load_config
from harness.core.errors import describe
from harness.core.limitations import Observation, load_catalogue
from harness.core.lines import LINE_LIMIT, shorten
from harness.core.registry import Registry
from harness.core.specs import Spec
from harness.pytest_plugin import screen_message
from harness.verify.classify import Scope, classify, compose, nearest
from harness.verify.loading import NotProduced
from harness.verify.session import Item, Verifier

ROOT = Path(__file__).parent.parent
CATALOGUE = load_catalogue(ROOT / "limitations.toml")
LSTM = "Unrecognized keyword arguments passed to LSTM: {'time_major': False}"
#: what Keras 3 says of a Keras 2 Conv3DTranspose (the config is cut short here)
SEPARABLE = (
    "Error when deserializing class 'Conv3DTranspose' using config={'name': 'block1_up', "
    "'trainable': True, 'dtype': 'float32', 'kernel_size': [3, 3], 'strides': [1, 1], 'padding': "
    "'same', 'data_format': 'channels_last', 'dilation_rate': [1, 1], 'groups': 1, "
    "'activation': 'linear', 'use_bias': False}.\n\nException encountered: Unrecognized keyword "
    "arguments passed to Conv3DTranspose: {'groups': 1}"
)
REFUSAL = (
    "Refusing to load /tmp/pytest-of-root/pytest-12/test_a_lambda0/models/2.13.h5/evil.h5: it "
    "can execute code (Lambda layer at model/outer/inner/canary). Fix: if you trust model "
    "'evil', set \"trusted\": true in its registry entry."
)


def line(env: str, route: str, check: str, observation: Observation, keras: int = 3) -> str:
    """The failure line of ``observation`` in a cell of model ``m`` under the real catalogue."""
    scope = Scope(env, route, "m", check, keras)
    applicable = CATALOGUE.applicable(env=env, route=route, model="m", check=check, keras=keras)
    result = classify(
        f"m-{check}",
        observation,
        "",
        applicable,
        CATALOGUE.path,
        entries=CATALOGUE.entries,
        scope=scope,
    )
    assert not result.ok
    return result.message


def test_an_entry_whose_message_differs_is_the_nearest(tmp_path: Path) -> None:
    changed = tmp_path / "limitations.toml"
    changed.write_text(
        (ROOT / "limitations.toml").read_text().replace("\"{'time_major'\"", '"time_major is gone"')
    )
    catalogue = load_catalogue(changed)
    scope = Scope("tf216", "chain-h5", "m", "load", 3)
    applicable = catalogue.applicable(
        env="tf216", route="chain-h5", model="m", check="load", keras=3
    )
    result = classify(
        "m-2.15.h5-load",
        Observation("error", "ValueError", LSTM),
        "",
        applicable,
        changed,
        entries=catalogue.entries,
        scope=scope,
    )
    assert result.message == (
        "m-2.15.h5-load: error:ValueError: Unrecognized keyword arguments passed to LSTM: "
        "{'time_major': False} [nearest: rnn-time-major-refused (message differs)]"
    )
    assert result.explanation.splitlines()[:4] == [
        f"  observed: ValueError: {LSTM}",
        f"  limitations of {changed} that apply here (environment tf216, route chain-h5, model m, "
        "check load): 11",
        "    - depthwise-conv-groups-refused: exception='TypeError', message=\"Error when "
        "deserializing class 'DepthwiseConv2D'\" (exception and message differ)",
        "    - rnn-time-major-refused: exception='ValueError', message='time_major is gone' "
        "(message differs)",
    ]
    assert len(result.explanation.splitlines()) == 13  # observed, the count, 11 entries


def test_an_entry_that_would_explain_it_elsewhere_is_the_nearest() -> None:
    assert line(
        "tf216-legacy", "chain-h5", "load", Observation("error", "ValueError", LSTM), 2
    ) == (
        "m-load: error:ValueError: Unrecognized keyword arguments passed to LSTM: {'time_major': "
        "False} [nearest: rnn-time-major-refused (applies_to excludes environment tf216-legacy)]"
    )


def test_an_entry_whose_exception_differs_is_near() -> None:
    assert line("tf216", "chain-h5", "load", Observation("error", "TypeError", LSTM)) == (
        "m-load: error:TypeError: Unrecognized keyword arguments passed to LSTM: {'time_major': "
        "False} [nearest: rnn-time-major-refused (exception differs: expects ValueError)]"
    )


def test_an_entry_whose_outcome_differs_is_near() -> None:
    observation = Observation("metrics-missing", "", "accuracy expected 0.5, got 0.25")
    assert line("tf213", "direct-h5", "evaluate", observation, 2) == (
        "m-evaluate: mismatch: accuracy expected 0.5, got 0.25 [nearest: "
        "h5-accuracy-becomes-categorical (outcome differs: expects evaluate-mismatch or "
        "metrics-mismatch)]"
    )


def test_entries_of_another_kind_of_observation_are_never_near() -> None:
    # eight entries apply to a Keras 3 load; none shares a part of a KeyError's evidence
    assert line("tf216", "chain-h5", "load", Observation("error", "KeyError", "'x'")) == (
        "m-load: error:KeyError: 'x' [11 limitations apply here, none matches]"
    )
    assert line("tf213", "savedmodel", "load", Observation("error", "KeyError", "'x'"), 2) == (
        "m-load: error:KeyError: 'x' [no limitation applies]"
    )
    # optimizer-state-lost names only an outcome: another outcome shares nothing with it
    scope = Scope("tf216", "chain", "m", "optimizer-state", 3)
    changed = Observation("optimizer-state-changed", "", "1/12 slot variables differ")
    assert nearest(changed, CATALOGUE.entries, scope, []) is None


def test_a_long_observation_gives_way_in_the_middle() -> None:
    text = line("tf216", "chain-h5", "load", Observation("error", "TypeError", SEPARABLE))
    assert text == (
        "m-load: error:TypeError: Error when deserializing class 'Conv3DTranspose' using "
        "config={'name': 'bloc…assed to Conv3DTranspose: {'groups': 1} [nearest: "
        "depthwise-conv-groups-refused (message differs)]"
    )
    assert len(text) <= 200


def test_a_long_path_keeps_its_last_two_parts() -> None:
    assert line("tf216", "chain-h5", "load", Observation("error", "UnsafeModelError", REFUSAL)) == (
        "m-load: error:UnsafeModelError: Refusing to load …/2.13.h5/evil.h5: it can execute code "
        '(Lambda layer at model/oute…set "trusted": true in its registry entry. '
        "[11 limitations apply here, none matches]"
    )
    assert shorten("see https://www.tensorflow.org/guide/keras/save_and_serialize", 20) == (
        "see https://…rialize"
    )


def test_several_entries_that_explain_it_are_named() -> None:
    result = classify(
        "i",
        Observation("optimizer-state-lost", "", "fresh slots"),
        "",
        [CATALOGUE.get("optimizer-state-lost"), CATALOGUE.get("savedmodel-optimizer-state-lost")],
        Path("l.toml"),
    )
    assert result.message == (
        "i: mismatch: fresh slots [explained by more than one limitation: optimizer-state-lost, "
        "savedmodel-optimizer-state-lost]"
    )


def test_a_limitation_that_no_longer_happens_is_one_line() -> None:
    lost = CATALOGUE.get("optimizer-state-lost")
    detail = "12/12 slot variables identical; " + "slot m/dense/kernel identical; " * 20
    result = classify("m-2.16.keras-optimizer-state", None, detail, [lost], CATALOGUE.path)
    assert result.message == (
        "m-2.16.keras-optimizer-state: pass: documented limitation optimizer-state-lost no "
        "longer happens here (the check passed: 12/12 slot variables identical; slot "
        "m/dense/kernel…t m/dense/kernel identical;). Fix: update its applies_to in "
        "limitations.toml."
    )
    assert result.explanation == (
        f"  the check passed: {' '.join(detail.split())}\n"
        f"    - optimizer-state-lost (strict, {CATALOGUE.path}): applies_to environments = "
        "['@keras3']; routes = ['direct-h5', 'chain-h5']; models = ['*']; checks = "
        "['optimizer-state']"
    )


@pytest.fixture
def tf217(tmp_path: Path) -> Verifier:
    registry = tmp_path / "models" / "model_registry.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"models": {"m": {"paths": {"2.13.keras": "models/m.keras"}}}}))
    verifier = Verifier(
        config=load_config(ROOT / "harness.toml"),
        registry=Registry.load(registry),
        catalogue=CATALOGUE,
        env="tf217",
        build_dir=tmp_path / "build",
    )
    verifier.runner._device = ("cpu", "test-cpu")
    return verifier


def not_produced(verifier: Verifier, record: StepRecord | None) -> tuple[str, str]:
    step = verifier.config.producer(Spec.parse("2.16.keras"))
    assert step is not None
    verdict = verifier.not_produced(
        Item("m", "chain", "2.16.keras", "load"), NotProduced(step, record)
    )
    assert not verdict.ok
    return verdict.message.split("\n", 1)[0], verdict.cell.detail


def test_a_step_that_has_not_run_is_one_line(tf217: Verifier) -> None:
    message, detail = not_produced(tf217, None)
    assert message == (
        "m-2.16.keras-load: not-produced:2.15.h5->2.16.keras@tf216: not produced: step "
        "2.15.h5->2.16.keras@tf216 has not run. Fix: run tox -e tf216 before tox -e tf217 (or "
        "run tox)."
    )
    assert detail == "not produced: step 2.15.h5->2.16.keras@tf216 has not run"


def test_a_step_that_failed_unexplained_names_the_nearest_entry_of_its_environment(
    tf217: Verifier,
) -> None:
    record = StepRecord("m", "2.15.h5->2.16.keras@tf216", "tf216", "error", "TypeError", LSTM)
    message, detail = not_produced(tf217, record)
    assert message == (
        "m-2.16.keras-load: not-produced:2.15.h5->2.16.keras@tf216: the step failed: TypeError: "
        "Unrecognized keyword arguments passed to LSTM: {'time_major': False} [in tf216: "
        "nearest: rnn-time-major-refused (exception differs: expects ValueError)]"
    )
    assert detail == f"not produced: step 2.15.h5->2.16.keras@tf216 failed: TypeError: {LSTM}"


def test_every_failure_line_fits_the_screen(tmp_path: Path, tf217: Verifier) -> None:
    """Every message the harness makes of a failing cell, for long ids, long and multi-line
    messages, and a catalogue of many entries that all apply (the real one plus 40)."""
    extra = "".join(
        f'\n[[limitation]]\nid = "generated-entry-number-{n}-with-a-long-id"\ntitle = "t"\n'
        f'workaround = "w"\nsource = "s"\nstrict = {"true" if n % 2 else "false"}\n'
        f'[limitation.applies_to]\nenvironments = ["*"]\n'
        f'[limitation.evidence]\nexception = "ValueError"\nmessage = "fragment {n} {"x" * n}"\n'
        for n in range(40)
    )
    catalogue_path = tmp_path / "many.toml"
    catalogue_path.write_text((ROOT / "limitations.toml").read_text() + extra)
    catalogue = load_catalogue(catalogue_path)
    messages = [
        "",
        LSTM,
        SEPARABLE,
        REFUSAL,
        SEPARABLE * 30,
        "line one\n\n   line two\tand tabs " + "/very/long/path/" * 40,
        "x" * 5000,
        "fragment 3 xxx",  # explained by one generated entry
    ]
    observations = [
        Observation(outcome, exception, message)
        for message in messages
        for outcome, exception in (("error", "ValueError"), ("predict-mismatch", ""))
    ]
    lines = []
    for model, (env, route, check) in itertools.product(
        ("m", "a-model-with-a-very-long-name-that-a-user-gave-it-" * 3),
        (("tf216", "chain-h5", "load"), ("tf216-legacy", "tf-keras", "predict")),
    ):
        keras = 2 if env.endswith("legacy") else 3
        scope = Scope(env, route, model, check, keras)
        applicable = catalogue.applicable(
            env=env, route=route, model=model, check=check, keras=keras
        )
        item_id = f"{model}-2.15.h5-{check}"
        for observation in [*observations, None]:
            for detail in ("", SEPARABLE * 10):
                result = classify(
                    item_id,
                    observation,
                    detail,
                    applicable,
                    catalogue_path,
                    entries=catalogue.entries,
                    scope=scope,
                )
                if not result.ok:
                    lines.append(result.message)
                    assert result.explanation
    step = tf217.config.producer(Spec.parse("2.16.keras"))
    assert step is not None
    records = [None, *(StepRecord("m", "s", "tf216", "error", "TypeError", m) for m in messages)]
    for record in records:
        item = Item("m", "chain", "2.16.keras", "load")
        verdict = tf217.not_produced(item, NotProduced(step, record))
        assert not verdict.ok
        lines.append(verdict.message.split("\n", 1)[0])
    assert len(lines) > 100
    too_long = [text for text in lines if len(text) > LINE_LIMIT or "\n" in text]
    assert too_long == []


def test_compose_keeps_the_lead_and_the_trail() -> None:
    assert compose("id: error:E:", "x" * 300, "[no limitation applies]") == (
        "id: error:E: " + "x" * 108 + "…" + "x" * 54 + " [no limitation applies]"
    )
    assert compose("a" * 300, "observed", "[b]") == "a" * 166 + "…" + "a" * 70 + " observed [b]"


def test_the_plugin_shows_the_first_line_unless_verbose() -> None:
    message = "m-load: error:E: boom [no limitation applies]\n  observed: E: boom\n  ..."
    assert screen_message(message, verbose=False) == "m-load: error:E: boom [no limitation applies]"
    assert screen_message(message, verbose=True) == message
    assert len(screen_message("The golden " + "x" * 400, verbose=False)) == LINE_LIMIT


def test_a_step_line_printed_by_convert_stays_on_one_screen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.convert.records import StepRecord
    from harness.convert.steps import report

    message = "Error when deserializing class 'DepthwiseConv2D' using config=" + "{'x': 1} " * 200
    report(
        "tf216",
        StepRecord("m", "2.15.h5->2.16.keras@tf216", "tf216", "error", "TypeError", message),
    )
    line = capsys.readouterr().out.rstrip("\n")
    assert "\n" not in line and len(line) == LINE_LIMIT
    assert line.startswith(
        "tf216: m: 2.15.h5->2.16.keras@tf216: TypeError: Error when deserializing"
    )


def test_a_wrapped_keras_error_keeps_its_cause() -> None:
    config = "{'name': 'encoder/dense', " + "'units': 8, " * 60 + "}"
    exc = TypeError(
        f"Error when deserializing class 'Dense' using config={config}.\n\nException "
        "encountered: Argument `name` must be a string and cannot contain character `/`."
    )
    text = describe(exc)
    assert len(text) == 500
    assert text.startswith("Error when deserializing class 'Dense' using config={'name': ")
    assert text.endswith(
        " … Exception encountered: Argument `name` must be a string and cannot contain "
        "character `/`."
    )
    assert describe(ValueError("one line")) == "one line"
    assert describe(KeyError()) == "KeyError()"
