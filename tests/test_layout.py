"""The package is laid out by stage, and the layout holds: each stage imports only the stages
below it, nothing imports the front ends, only ``harness.keras`` imports TensorFlow/Keras, and
the modules import without a cycle and without TensorFlow installed."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent
#: the stages, lowest first; top-level modules are the front ends
STAGES = ("core", "keras", "source", "convert", "verify", "report")
FRONT = len(STAGES)
TENSORFLOW = {"tensorflow", "keras", "tf_keras"}
#: modules that define Keras 3 classes (they subclass keras.layers.Layer, so import Keras at
#: once); only harness.keras.formats.keras3 imports them, under Keras 3
KERAS_CLASSES = {"harness.keras.legacy_layers"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(("harness", *parts)).removesuffix(".__init__")
        found[name] = path
    return found


def stage(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES):
        return STAGES.index(parts[1]) if parts[1] in STAGES else FRONT
    return FRONT


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_each_stage_imports_only_the_stages_below_it_and_no_front_end() -> None:
    known = modules()
    problems = []
    for module, path in known.items():
        if module == "harness" or stage(module) == FRONT:
            continue
        for target in sorted(imports(path)):
            if target not in known or target == "harness":
                continue
            if stage(target) > stage(module):
                problems.append(f"{module} imports {target}")
    assert problems == []


def test_only_the_keras_package_imports_tensorflow() -> None:
    problems = [
        f"{module} imports {target}"
        for module, path in modules().items()
        if not module.startswith("harness.keras")
        for target in sorted(imports(path))
        if target.split(".")[0] in TENSORFLOW
    ]
    assert problems == []


def test_no_import_cycle_at_module_level() -> None:
    known = modules()
    graph = {
        module: {t for t in imports(path, top_level_only=True) if t in known and t != module}
        for module, path in known.items()
    }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in trail:
            cycle = (*trail[trail.index(module) :], module)
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_everything_imports_without_tensorflow() -> None:
    assert "tensorflow" not in sys.modules, "run the fast tests where TensorFlow is absent"
    for info in pkgutil.walk_packages(harness.__path__, "harness."):
        if info.name != "harness.__main__" and info.name not in KERAS_CLASSES:
            importlib.import_module(info.name)
    assert not TENSORFLOW & set(sys.modules)
