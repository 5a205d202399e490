"""``keras-harness``: the command-line front end (thin; the work is in the library)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.core.errors import HarnessError

DEFAULT_REGISTRY = "build/models/model_registry.json"


def _registry_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        default=os.environ.get("HARNESS_REGISTRY", DEFAULT_REGISTRY),
        help="model registry (default: $HARNESS_REGISTRY or %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-harness", description=__doc__)
    parser.add_argument("--config", default=os.environ.get("HARNESS_CONFIG", "harness.toml"))
    parser.add_argument("--build-dir", default=os.environ.get("HARNESS_BUILD_DIR", "build"))
    sub = parser.add_subparsers(dest="command", required=True)

    cases = sub.add_parser("cases", help="build missing embedded cases and write their registry")
    cases.add_argument("--registry", default=DEFAULT_REGISTRY)
    cases.add_argument("--golden-dir", default="golden")
    cases.add_argument(
        "--skip",
        action="store_true",
        default=bool(os.environ.get("HARNESS_REGISTRY")),
        help="do nothing (default when HARNESS_REGISTRY names a registry)",
    )

    convert = sub.add_parser("convert", help="run the steps assigned to one environment")
    _registry_arg(convert)
    convert.add_argument("--env", default=os.environ.get("HARNESS_ENV"), required=False)
    convert.add_argument("--model", action="append", default=[])
    convert.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("HARNESS_STEP_TIMEOUT", "900")),
        help="seconds one model's step may take (default: %(default)s)",
    )
    convert.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    matrix = sub.add_parser("matrix", help="merge results, render the matrix, gate on a baseline")
    matrix.add_argument(
        "--results",
        nargs="*",
        default=None,
        help="results files or folders of them, from any number of runners and shards "
        "(default: <build-dir>/results)",
    )
    matrix.add_argument(
        "--baseline",
        default=os.environ.get("HARNESS_BASELINE", "golden/baseline.json"),
        help="committed baseline (default: $HARNESS_BASELINE or %(default)s)",
    )
    matrix.add_argument("--out", default=None, help="output folder (default: <build-dir>/matrix)")
    matrix.add_argument(
        "--compat-md",
        default=os.environ.get("HARNESS_COMPAT_MD"),
        help="where to write this run's COMPAT.md (default: $HARNESS_COMPAT_MD or "
        "<out>/COMPAT.md; the committed COMPAT.md is written by `keras-harness docs`)",
    )
    matrix.add_argument("--limitations", default="limitations.toml")
    matrix.add_argument(
        "--update-baseline", action="store_true", help="write the merged matrix as the new baseline"
    )
    validate = sub.add_parser(
        "validate",
        help="pre-flight: registry, goldens, configuration and limitations, without TensorFlow",
    )
    _registry_arg(validate)
    validate.add_argument("--limitations", default="limitations.toml")
    validate.add_argument("--json", action="store_true")

    docs = sub.add_parser(
        "docs",
        help="write LIMITATIONS.md, COMPAT.md and README's routes table from the catalogue and "
        "the baseline (--check: fail if a committed copy is stale)",
    )
    docs.add_argument("--limitations", default="limitations.toml")
    docs.add_argument("--baseline", default="golden/baseline.json")
    docs.add_argument("--root", default=".", help="where LIMITATIONS.md, COMPAT.md, README.md are")
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")

    pin = sub.add_parser(
        "pin",
        help="write requirements/<env>.in from harness.toml's pins and lock <env>.txt with uv "
        "(--check: fail if any is stale, without network)",
    )
    pin.add_argument("envs", nargs="*", metavar="ENV", help="default: every stale environment")
    pin.add_argument("--upgrade", action="store_true", help="re-resolve even if current")
    pin.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")

    routes = sub.add_parser(
        "routes",
        help="per model: the shortest route that passes in each environment, or what stopped it "
        "and what to try next (from a run's results, or a baseline)",
    )
    routes.add_argument(
        "--results",
        nargs="*",
        default=None,
        help="results files or folders (default: <build-dir>/results, else --baseline)",
    )
    routes.add_argument("--baseline", default="golden/baseline.json")

    migrate = sub.add_parser(
        "migrate",
        help="copy a model's verified file for one environment to a folder, with a JSON "
        "certificate (source hash, steps, repair rules, every cell); from a run's results",
    )
    _registry_arg(migrate)
    migrate.add_argument("--model", required=True)
    migrate.add_argument("--env", required=True, help="the target environment, e.g. tf221")
    migrate.add_argument("--route", default="repaired", help="default: %(default)s")
    migrate.add_argument("--out", required=True, help="folder for the file and its certificate")
    routes.add_argument("--limitations", default="limitations.toml")
    routes.add_argument("--repairs", default="repairs.toml")

    inspect = sub.add_parser(
        "inspect", help="what a model file contains and what will break (no TensorFlow)"
    )
    inspect.add_argument("paths", nargs="+", metavar="PATH")
    inspect.add_argument("--json", action="store_true", help="print JSON (inspect.schema.json)")
    inspect.add_argument(
        "--repairs",
        default="repairs.toml",
        help="repair catalogue whose rules are listed when they apply (default: %(default)s; "
        "left out when the file does not exist)",
    )
    init = sub.add_parser(
        "init",
        help="set up the harness in this project: harness.toml, tox.ini, lock files, the suite, "
        "the catalogue and a registry of the model files in --models (writes over nothing)",
    )
    init.add_argument("--models", default="models", help="the models folder (default: %(default)s)")
    init.add_argument(
        "--envs",
        default=None,
        help="comma-separated environments (default: every one the harness ships)",
    )
    init.add_argument(
        "--harness",
        default=None,
        help="how the project installs the harness: a path, a wheel, a git URL or a requirement "
        "(default: how it is installed here)",
    )
    init.add_argument("--project", default=".", help="the project folder (default: here)")

    record = sub.add_parser(
        "record",
        help="in the source environment: write the golden of every model that has none and "
        "confirm the others, one line per model",
    )
    _registry_arg(record)
    record.add_argument("--env", default=os.environ.get("HARNESS_ENV"))
    record.add_argument("--model", action="append", default=[])
    record.add_argument("--limitations", default="limitations.toml")
    return parser


def error_line(exc: HarnessError) -> str:
    """The one line the CLI prints for a refused input: ``keras-harness: error: <message>``
    (a message that spans lines is joined into one)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"keras-harness: error: {text}"


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from harness.core.inspection import inspect_path, render_text
    from harness.core.repairs import load_repairs, predicted_repairs

    catalogue = Path(args.repairs)
    rules = load_repairs(catalogue) if catalogue.exists() else []
    reports = []
    failed = 0
    for raw in args.paths:
        try:
            report = inspect_path(Path(raw))
            if rules and report.format in ("h5", "keras"):
                report.repairs = predicted_repairs(rules, Path(raw))
            reports.append(report)
        except HarnessError as exc:
            failed += 1
            print(error_line(exc), file=sys.stderr)
    if args.json:
        print(json.dumps([report.to_json() for report in reports], indent=2))
    else:
        print("\n\n".join(render_text(report) for report in reports))
    return 2 if failed else 0


def cmd_routes(args: argparse.Namespace) -> int:
    from harness.core.config import load_config
    from harness.core.limitations import load_catalogue
    from harness.core.repairs import load_repairs
    from harness.report.matrix import merge, read_baseline
    from harness.report.routes import answers

    config = load_config(args.config)
    if args.results:
        sources = [Path(p) for p in args.results]
        files = [f for p in sources for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    else:
        default = Path(args.build_dir) / "results"
        files = sorted(default.glob("*.json")) if default.is_dir() else []
    if files:
        cells = {cell.key: {"status": cell.status} for cell in merge(files)}
    else:  # no run here yet: the committed baseline
        cells = dict(read_baseline(Path(args.baseline)))
    repairs = Path(args.repairs)
    rules = load_repairs(repairs) if repairs.exists() else []
    for line in answers(cells, config, load_catalogue(Path(args.limitations)), rules):
        print(line)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from harness.core.config import load_config
    from harness.core.registry import Registry
    from harness.report.matrix import merge
    from harness.report.migrate import migrate, summary

    config = load_config(args.config)
    config.environment(args.env)
    results = Path(args.build_dir) / "results"
    files = sorted(results.glob("*.json")) if results.is_dir() else []
    if not files:
        raise HarnessError(
            f"No results in {results}. Fix: run tox (or tox -e {args.env} after the "
            f"environments it depends on) first."
        )
    target, written = migrate(
        config,
        Registry.load(args.registry),
        Path(args.build_dir),
        merge(files),
        args.model,
        args.env,
        args.route,
        Path(args.out),
    )
    print(f"wrote {target} and {written}: {summary(written)}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.core.preflight import as_json, render, validate

    findings = validate(Path(args.config), Path(args.limitations), Path(args.registry))
    print(as_json(findings) if args.json else render(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from harness.report.docs import STALE_FIX, write_docs

    stale = write_docs(
        Path(args.root),
        Path(args.config),
        Path(args.limitations),
        Path(args.baseline),
        check=args.check,
        report=print,
    )
    if args.check and stale:
        print(f"stale: {', '.join(map(str, stale))}. Fix: {STALE_FIX}", file=sys.stderr)
        return 1
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    from harness.source import cases

    if args.skip:
        print("embedded cases skipped: HARNESS_REGISTRY names another registry")
        return 0
    for line in cases.prepare(Path(args.config), Path(args.golden_dir), Path(args.registry)):
        print(line)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from harness.convert.steps import run_env_steps
    from harness.core.config import load_config
    from harness.core.registry import Registry

    if not args.env:
        raise HarnessError("No environment given. Fix: pass --env NAME or set HARNESS_ENV.")
    config = load_config(args.config)
    registry = Registry.load(args.registry)
    config.environment(args.env)
    if not args.child:
        from harness.convert.supervise import supervise

        child = [
            "--config",
            args.config,
            "--build-dir",
            args.build_dir,
            "convert",
            "--env",
            args.env,
            "--registry",
            args.registry,
            "--child",
        ]
        for model in args.model:
            child += ["--model", model]
        return supervise(child, Path(args.build_dir), args.env, timeout=args.timeout)
    records = run_env_steps(
        config, registry, args.env, Path(args.build_dir), models=args.model or None
    )
    if not records:
        print(f"{args.env}: no steps to run")
    # A failed step is one model's outcome (its cells show it), not the run's.
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from harness.report.publish import publish

    build_dir = Path(args.build_dir)
    out = Path(args.out) if args.out else build_dir / "matrix"
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    result = publish(
        sources=[Path(p) for p in args.results] if args.results else [build_dir / "results"],
        out=out,
        compat_md=Path(args.compat_md) if args.compat_md else out / "COMPAT.md",
        baseline=Path(args.baseline),
        limitations=Path(args.limitations),
        config=Path(args.config),
        update_baseline=args.update_baseline,
        summary=Path(summary) if summary else None,
    )
    print("\n".join(result.lines))
    return 0 if result.ok else 1


def cmd_pin(args: argparse.Namespace) -> int:
    import shutil

    from harness import toxenvs
    from harness.core.config import load_config

    config = load_config(args.config)
    root = config.path.parent
    if args.check:
        problems = toxenvs.lock_problems(config, root)
        for line in problems:
            print(f"stale: {line}")
        return 1 if problems else 0
    uv = shutil.which("uv")
    if uv is None:
        raise HarnessError(
            "uv is not installed here, and `keras-harness pin` compiles lock files with it. "
            "Fix: run tox -e pin (it installs uv)."
        )
    compiled = toxenvs.pin(config, root, args.envs, [uv], upgrade=args.upgrade)
    for name in compiled:
        print(f"locked {toxenvs.lock_path(root, name).relative_to(root)}")
    if not compiled:
        print("every lock file matches harness.toml (use --upgrade to re-resolve)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    import tomllib

    from harness import scaffold

    project = Path(args.project).resolve()
    models = (project / args.models).resolve()
    if models.parent != project:
        raise HarnessError(
            f"--models {args.models} is not a folder directly in the project {project}. Fix: "
            f"put the models folder in the project (models/2.13.keras/<id>.keras)."
        )
    if args.envs:
        envs = [name.strip() for name in args.envs.split(",") if name.strip()]
    else:
        envs = list(tomllib.loads(scaffold.shipped("harness.toml"))["environments"])
    requirement = (
        scaffold.requirement_of(args.harness, project)
        if args.harness
        else scaffold.harness_requirement()
    )
    plan = scaffold.plan_project(project, models=models, envs=envs, requirement=requirement)
    written = scaffold.write_project(project, plan)
    print(f"wrote {len(written)} files in {project}: {', '.join(written)}")
    print(f"registered {len(plan.found.models)} model(s): {', '.join(sorted(plan.found.models))}")
    for line in plan.found.skipped:
        print(f"not registered: {line}")
    print(f"environments: {', '.join(plan.envs)} (harness.toml); the harness: {requirement}")
    registry = (models / "model_registry.json").relative_to(project).as_posix()
    print(f"check: keras-harness validate --registry {registry} (no TensorFlow, seconds)")
    print("next: tox -e record (the goldens), tox (every environment and the matrix), then")
    print("      tox -e matrix -- --update-baseline once the matrix is reviewed")
    lines = tomllib.loads(plan.files["harness.toml"])["environments"]
    if any(line.get("backend") == "torch" for line in lines.values()):
        from harness.toxenvs import torch_find_links

        print(
            f"torch: torch's CPU build is not on PyPI: tox takes it from {torch_find_links()} "
            '(set UV_FIND_LINKS to use another folder or page; README, "Backends")'
        )
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    import importlib.util

    from harness.verify.engine import open_session, record_goldens

    verifier = open_session(
        env=args.env,
        config=Path(args.config),
        registry=Path(args.registry),
        limitations=Path(args.limitations),
        build_dir=Path(args.build_dir),
        models=args.model,
    )
    if not any(verifier.is_source_env(model) for model in verifier.registry.models):
        raise HarnessError(
            f"{verifier.env.name} is not the source environment of any model in "
            f"{args.registry}, so it records no golden. Fix: run tox -e record (or keras-harness "
            f"record --env tf213)."
        )
    if importlib.util.find_spec("tensorflow") is None:
        raise HarnessError(
            f"TensorFlow is not installed in {sys.prefix}, and `keras-harness record` needs it: "
            f"it loads each source model. Fix: run it in the source environment: tox -e record "
            f"(or tox -e tf213 -- -k golden)."
        )
    report = record_goldens(verifier, args.model)
    for _, _, line in report:
        print(line)
    failed = [model for model, ok, _ in report if not ok]
    print(
        f"{len(report) - len(failed)} of {len(report)} golden(s) recorded or confirmed in "
        f"{verifier.golden_dir}"
        + (f"; failed: {', '.join(failed)}" if failed else ". Review them and commit them.")
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "cases": cmd_cases,
        "convert": cmd_convert,
        "matrix": cmd_matrix,
        "inspect": cmd_inspect,
        "validate": cmd_validate,
        "routes": cmd_routes,
        "migrate": cmd_migrate,
        "docs": cmd_docs,
        "pin": cmd_pin,
        "init": cmd_init,
        "record": cmd_record,
    }
    try:
        return commands[args.command](args)
    except HarnessError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
