"""Keras 3 on JAX / PyTorch: the environment line, its routes, tox labels and KERAS_BACKEND, the
TF-free guard, backend tolerances and ``@jax`` limitations (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.compare import Tolerance
from harness.core.config import BACKEND_DISTS, load_config
from harness.core.errors import ConfigError, EnvironmentMismatchError
from harness.core.limitations import Limitation
from harness.keras import runtime
from harness.report.render import backend_of, render_csv
from harness.toxenvs import lock_path, requirements_in, tox_envs

ROOT = Path(__file__).resolve().parent.parent

CHAIN = """
[routes.source-h5]
spec = "2.13.h5"
[routes.chain]
spec = "2.16.keras"
[routes.tf-keras]
spec = "2.16-tfkeras.keras"
keras = 2
[routes.chain-h5]
spec = "2.15.h5"
[routes.savedmodel]
spec = "2.13.savedmodel"

[environments]
tf213 = { tensorflow = "2.13.1", keras = "2.13.1" }
tf215 = { tensorflow = "2.15.1", keras = "2.15.0" }
tf216 = { tensorflow = "2.16.2", keras = "3.15.1" }
tf216-legacy = { tensorflow = "2.16.2", keras = "3.15.1", tf_keras = "2.16.0" }
%s

[[steps]]
env = "tf213"
from = "2.13.keras"
to = "2.13.h5"
[[steps]]
env = "tf215"
from = "2.13.h5"
to = "2.15.h5"
[[steps]]
env = "tf216"
from = "2.15.h5"
to = "2.16.keras"
[[steps]]
env = "tf216-legacy"
from = "2.13.h5"
to = "2.16-tfkeras.keras"
[[steps]]
env = "tf213"
from = "2.13.keras"
to = "2.13.savedmodel"
"""


def _config(tmp_path: Path, line: str, extra: str = "") -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(CHAIN % line + extra, encoding="utf-8")
    return path


def test_a_jax_line_pins_keras_and_jax_and_verifies_the_keras3_routes(tmp_path: Path) -> None:
    path = _config(tmp_path, 'k-jax = { keras = "3.15.1", backend = "jax", jax = "0.10.2" }')
    env = load_config(path).environment("k-jax")
    assert (env.backend, env.keras, env.version, env.tensorflow) == ("jax", 3, "", False)
    assert env.pins == (("keras", "3.15.1"), ("jax", "0.10.2"), ("jaxlib", "0.10.2"))
    # the .keras a Keras 3 step wrote and the exported SavedModel (which only TensorFlow
    # serves); not the tf_keras .keras, not the .h5 routes
    assert env.verify == ("chain", "savedmodel")
    assert env.description == "Keras 3.15.1 on jax 0.10.2, no TensorFlow"
    assert requirements_in(env).splitlines()[:3] == [
        "keras==3.15.1",
        "jax==0.10.2",
        "jaxlib==0.10.2",
    ]


def test_a_torch_line_takes_a_local_wheel_label_and_its_own_routes(tmp_path: Path) -> None:
    line = 'k-torch = { keras = "3.15.1", backend = "torch", torch = "2.13.0+cpu", verify = '
    line += '["chain-h5"] }'
    env = load_config(_config(tmp_path, line)).environment("k-torch")
    assert env.pins == (("keras", "3.15.1"), ("torch", "2.13.0+cpu"))
    assert env.verify == ("chain-h5",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'k = { keras = "3.15.1", backend = "mxnet" }',
            "[environments.k] in {path}: backend must be one of ['tensorflow', 'jax', 'torch']. "
            "Received: 'mxnet'. Fix: e.g. backend = \"jax\", or leave it out (TensorFlow).",
        ),
        (
            'k = { keras = "3.15.1", backend = "jax", jax = "0.10.2", tensorflow = "2.16.2" }',
            "[environments.k] in {path} runs Keras on jax, without TensorFlow, but sets "
            "tensorflow. Received: {{'keras': '3.15.1', 'backend': 'jax', 'jax': '0.10.2', "
            "'tensorflow': '2.16.2'}}. Fix: remove tensorflow (a jax environment pins keras and "
            "jax only).",
        ),
        (
            'k = { keras = "2.15.0", backend = "jax", jax = "0.10.2" }',
            "[environments.k] in {path} needs an exact Keras 3 and jax release. Received: "
            "keras='2.15.0', jax='0.10.2'. Fix: e.g. k = {{ keras = \"3.15.1\", backend = "
            '"jax", jax = "0.10.2" }}.',
        ),
        (
            'k = { keras = "3.15.1", backend = "torch" }',
            "[environments.k] in {path} needs an exact Keras 3 and torch release. Received: "
            "keras='3.15.1', torch=None. Fix: e.g. k = {{ keras = \"3.15.1\", backend = "
            '"torch", torch = "2.13.0+cpu" }}.',
        ),
        (
            'k = { tensorflow = "2.16.2", keras = "3.15.1", jax = "0.10.2" }',
            "[environments.k] in {path} pins jax in a TensorFlow environment. Received: "
            "{{'tensorflow': '2.16.2', 'keras': '3.15.1', 'jax': '0.10.2'}}. Fix: add backend "
            '= "jax" (and drop tensorflow), or remove jax.',
        ),
        (
            'k = { keras = "3.15.1", backend = "jax", jax = "0.10.2", verify = ["nope"] }',
            "[environments.k] in {path} verifies unknown route 'nope'. Received routes: "
            "['chain', 'chain-h5', 'savedmodel', 'source-h5', 'tf-keras']. Fix: add "
            "[routes.nope] or remove it from verify.",
        ),
    ],
)
def test_a_backend_line_is_refused_in_one_line(tmp_path: Path, line: str, message: str) -> None:
    path = _config(tmp_path, line)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == message.format(path=path)


def test_a_backend_environment_runs_no_step(tmp_path: Path) -> None:
    step = '\n[[steps]]\nenv = "k"\nfrom = "2.16.keras"\nto = "2.17.keras"\n'
    path = _config(tmp_path, 'k = { keras = "3.15.1", backend = "jax", jax = "0.10.2" }', step)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[[steps]] #6 in {path} runs in k, a jax environment without TensorFlow, which writes "
        f"no spec. Fix: run the step in a TensorFlow environment; k verifies what the steps wrote."
    )


def test_backend_tolerances_are_declared_with_a_reason(tmp_path: Path) -> None:
    line = 'k = { keras = "3.15.1", backend = "jax", jax = "0.10.2" }'
    table = '\n[numerics.backends.jax]\nmax_abs = 1e-5\nreason = "measured"\n'
    config = load_config(_config(tmp_path, line, table))
    assert config.backend_tolerances == {"jax": Tolerance(1e-5, 0, "measured")}
    path = _config(tmp_path, line, '\n[numerics.backends.tpu]\nmax_abs = 1e-5\nreason = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"[numerics.backends] in {path} names unknown backend 'tpu'. Received: ['tpu']. Fix: "
        f"use one of ['jax', 'torch']."
    )
    path = _config(tmp_path, line, "\n[numerics.backends.jax]\nmax_abs = 1e-5\n")
    with pytest.raises(ConfigError, match=r"^\[numerics.backends.jax\] in .* is invalid"):
        load_config(path)


def test_tox_labels_the_backend_and_passes_it_on(tmp_path: Path) -> None:
    path = _config(tmp_path, 'k-jax = { keras = "3.15.1", backend = "jax", jax = "0.10.2" }')
    config = load_config(path)
    envs = {env.name: env for env in tox_envs(config, tmp_path)}
    assert envs["k-jax"].labels == ("keras3", "verify", "verify-only", "jax")
    assert envs["k-jax"].backend == "jax"
    assert envs["tf216"].backend == "tensorflow"
    assert "jax" not in envs["tf216"].labels
    # it reads what the chain wrote: every step on the way to 2.16.keras
    assert envs["k-jax"].depends == ("tf213", "tf215", "tf216")


def test_the_projects_backend_environments_lock_no_tensorflow() -> None:
    config = load_config(ROOT / "harness.toml")
    backends = [env for env in config.environments.values() if not env.tensorflow]
    assert [env.name for env in backends] == ["keras315-jax", "keras315-torch"]
    for env in backends:
        locked = lock_path(ROOT, env.name).read_text(encoding="utf-8").split()
        names = {line.split("==")[0] for line in locked if "==" in line}
        assert {"keras", *BACKEND_DISTS[env.backend]} <= names
        assert not {n for n in names if n.startswith(("tensorflow", "tf-keras", "tf_keras"))}
        # torch's CPU build: no CUDA libraries (several GB) in a CPU environment
        assert not {n for n in names if n.startswith("nvidia")}
        assert env.backend in config.backend_tolerances  # measured, with its reason
    assert "torch==2.13.0+cpu" in lock_path(ROOT, "keras315-torch").read_text(encoding="utf-8")


def test_a_backend_environment_refuses_tensorflow_and_another_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(runtime.importlib.util, "find_spec", lambda name: object())
    with pytest.raises(EnvironmentMismatchError) as info:
        runtime.check_environment("", "k-jax", (), "jax")
    assert str(info.value).startswith(
        "Environment k-jax runs Keras on jax without TensorFlow. Received: TensorFlow "
        "importable in "
    )
    assert str(info.value).endswith(
        ". Fix: recreate the environment from its lock file (tox -r -e k-jax); nothing in it "
        "may install tensorflow."
    )
    monkeypatch.setattr(runtime.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(EnvironmentMismatchError) as info:
        runtime.check_environment("", "k-jax", (), "jax")
    assert str(info.value) == (
        "Environment k-jax runs Keras on jax. Received: KERAS_BACKEND='torch'. Fix: run it "
        "through tox (tox -e k-jax), which sets KERAS_BACKEND=jax."
    )


def test_limitations_select_a_backend() -> None:
    entry = Limitation(
        id="x",
        title="t",
        applies_to={
            "environments": ("@jax",),
            "routes": ("*",),
            "models": ("*",),
            "checks": ("*",),
        },
        evidence={"exception": ("TypeError",)},
        workaround="w",
        source="s",
    )
    cell = {"env": "k", "route": "chain", "model": "m", "check": "load", "keras": 3}
    assert entry.applies(**cell, backend="jax")
    assert not entry.applies(**cell, backend="torch")
    assert not entry.applies(**cell, backend="tensorflow")
    assert not entry.applies(**cell)  # no backend: TensorFlow


def test_the_matrix_shows_the_backend() -> None:
    from harness.core.results import Cell

    def cell(versions: dict[str, str]) -> Cell:
        return Cell(
            model="m",
            env="e",
            device="cpu",
            route="chain",
            spec="2.16.keras",
            check="load",
            status="pass",
            provenance={"versions": versions},
        )

    jax = cell({"keras": "3.15.1", "backend": "jax", "jax": "0.10.2", "tensorflow": "?"})
    assert backend_of(jax) == "jax"
    assert backend_of(cell({"keras": "3.15.1", "tensorflow": "2.16.2"})) == "tensorflow"
    header, row = render_csv([jax]).splitlines()
    assert header.split(",")[12:15] == ["tensorflow", "keras", "backend"]
    assert row.split(",")[12:15] == ["?", "3.15.1", "jax"]


def test_the_committed_docs_name_the_backend_and_its_version(tmp_path: Path) -> None:
    from harness.report.docs import versions_of

    config = load_config(ROOT / "harness.toml")
    versions = versions_of(
        config.environment("keras315-jax"), ROOT / "requirements", "keras315-jax"
    )
    assert versions == {
        "tensorflow": "?",
        "keras": "3.15.1",
        "numpy": versions["numpy"],
        "backend": "jax",
        "jax": "0.10.2",
    }
    assert "backend" not in versions_of(config.environment("tf216"), ROOT / "requirements", "x")
