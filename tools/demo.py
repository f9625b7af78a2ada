"""The linear-regression demo: export y = 2x + 3 to demo/models/linear.pte
with model_tools, then run demo/main.gd on the built engine, headless.

    .venv/bin/python -m tools.demo --godot bin/godot.linuxbsd.template_debug.x86_64
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tools.godot_project import prepare_project

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--godot", type=Path, required=True, help="the engine binary built by scons")
    args = parser.parse_args(argv)
    if not args.godot.is_file():
        print(f"error: no engine at {args.godot}; build it with `.venv/bin/scons platform=linuxbsd`", file=sys.stderr)
        return 2

    from model_tools import export_model  # imports torch: seconds, so only when running

    prepare_project(DEMO)
    model = DEMO / "models" / "linear.pte"
    print(f"Exporting the linear regression y = 2x + 3 to {model.relative_to(REPO_ROOT)} ...", flush=True)
    export_model("linear", model)
    print(f"Running {args.godot.name} --headless on demo/main.gd:", flush=True)
    return subprocess.run([str(args.godot), "--headless", "--path", str(DEMO), "--script", "res://main.gd"]).returncode


if __name__ == "__main__":
    sys.exit(main())
