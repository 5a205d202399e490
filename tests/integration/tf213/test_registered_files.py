"""A user's own files are read-only to the harness (issue 20): a user registers the .keras and the
.h5 they saved at training time; the steps write the harness's own .h5 under the build folder,
both .h5 files get cells, and not a byte of the user's project changes (tox -e tests-tf213)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.core.locations import converted_path
from tests.helpers import results_file, run_convert, run_suite
from tests.integration.tf213.test_pipeline import small_model

pytestmark = pytest.mark.tensorflow
tf = pytest.importorskip("tensorflow")


def hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix != ".lock"  # the harness's lock files beside goldens
    }


def user_project(tmp_path: Path) -> Path:
    """The user's folder: both forms saved at training time, and a registry naming both."""
    project = tmp_path / "project"
    (project / "saved").mkdir(parents=True)
    model = small_model()
    model.save(str(project / "saved" / "run.keras"))
    model.save(str(project / "saved" / "run.h5"))
    registry = project / "model_registry.json"
    registry.write_text(
        json.dumps(
            {
                "models": {
                    "run": {"paths": {"2.13.keras": "saved/run.keras", "2.13.h5": "saved/run.h5"}}
                },
                "root": ".",
                "golden_dir": "golden",
            },
            indent=4,
        )
    )
    return registry


def test_the_users_files_are_never_written_and_both_h5_files_are_verified(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    registry = user_project(tmp_path)
    project = registry.parent
    before = hashes(project)
    build = tmp_path / "build"

    converted = run_convert(registry, build)
    assert converted.returncode == 0, converted.stderr[-2000:]
    assert "tf213: run: 2.13.keras->2.13.h5@tf213: ok" in converted.stdout
    own = converted_path(build, "run", "2.13.h5")
    assert own.exists()
    assert hashes(project) == before  # the user's .h5 was not replaced by the conversion

    run_suite(pytester, registry, "tf213", build)  # records the golden (fails once, by design)
    golden = {k: v for k, v in hashes(project).items() if k.startswith("golden/")}
    assert sorted(golden) == ["golden/run/golden.json", "golden/run/golden.npz"]
    second = run_suite(pytester, registry, "tf213", build)
    assert second.ret == 0, second.stdout.str()[-3000:]
    after = {k: v for k, v in hashes(project).items() if not k.startswith("golden/")}
    assert after == before  # nothing of the user's changed; only the golden was added

    cells = {
        (c["route"], c["check"]): c
        for c in json.loads(results_file(build, "tf213").read_text())["cells"]
    }
    for route in ("direct-h5", "direct-h5+registered"):
        assert cells[(route, "predict")]["status"] == "pass", route
        assert cells[(route, "load")]["status"] == "pass", route
    lineage = cells[("direct-h5", "load")]["provenance"]["lineage"]
    assert lineage[-1]["sha256"] == hashlib.sha256(own.read_bytes()).hexdigest()
    registered = cells[("direct-h5+registered", "load")]["provenance"]["lineage"]
    assert registered == [
        {"spec": "2.13.h5", "env": "registered", "sha256": before["saved/run.h5"]}
    ]
    assert before["saved/run.h5"] != lineage[-1]["sha256"]  # two different files, both verified
