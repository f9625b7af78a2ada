"""`python -m generator`: render modules/executorch/ from module_spec.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import SpecError
from generator.model import load_spec
from generator.output import plan_sync, sync
from generator.render import REPO_ROOT, operator_table_file, render_module

DEFAULT_SPEC = REPO_ROOT / "module_spec.yaml"
DEFAULT_OUT = REPO_ROOT / "modules" / "executorch"


def _display(path: Path) -> str:
    """A path relative to the working directory when possible (short, stable errors)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description="Render the executorch Godot module from module_spec.yaml.",
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the API spec (default: %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="module directory to write; any directory gives a standalone copy to drop into a "
        "Godot tree's modules/ (default: %(default)s)",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the output is stale")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    args = parser.parse_args(argv)

    try:
        spec = load_spec(args.spec, _display(args.spec))
    except SpecError as error:
        print(error, file=sys.stderr)
        return 2
    files = render_module(spec, operator_table_file())

    if args.check:
        report = plan_sync(files, args.out)
        if report.changed:
            stale = report.written + report.removed
            print(
                f"{_display(args.out)} is stale ({len(stale)} file(s): {', '.join(stale)}); "
                "run `python -m generator` or `scons`",
                file=sys.stderr,
            )
            return 1
        if not args.quiet:
            print(f"{_display(args.out)} is up to date ({len(files)} files)")
        return 0

    report = sync(files, args.out)
    if not args.quiet:
        for path in report.written:
            print(f"wrote {_display(args.out / path)}")
        for path in report.removed:
            print(f"removed {_display(args.out / path)}")
        print(
            f"{_display(args.out)}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed"
        )
    return 0
