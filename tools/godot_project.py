"""Small helpers for the headless Godot projects the demo, tests and benchmarks run."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from tools.godot_build import binary_name

REPO_ROOT = Path(__file__).resolve().parent.parent
# The engine `scons platform=linuxbsd` deploys, which benchmarks run by default.
DEFAULT_ENGINE = REPO_ROOT / "bin" / binary_name("template_debug")


def bench_parser(docstring: str, rounds: int | None = None) -> argparse.ArgumentParser:
    """A benchmark script's command line: described by its docstring's first
    line, --godot (the engine to measure), and --rounds when it has rounds."""
    parser = argparse.ArgumentParser(description=docstring.splitlines()[0])
    parser.add_argument("--godot", type=Path, default=DEFAULT_ENGINE, help="the engine to measure")
    if rounds is not None:
        parser.add_argument("--rounds", type=int, default=rounds)
    return parser


def prepare_project(project: Path) -> None:
    """Writes an empty global class cache, which Godot 4.6 otherwise reports as
    an error ("Could not load global script cache") when a project runs
    without having been imported by the editor."""
    cache = project / ".godot" / "global_script_class_cache.cfg"
    if not cache.is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("list=[]\n", encoding="utf-8")


def create_project(directory: Path, files: tuple[Path, ...] = ()) -> Path:
    """A minimal headless project in `directory` (created), with `files` copied in."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "project.godot").write_text("config_version=5\n", encoding="utf-8")
    prepare_project(directory)
    for file in files:
        shutil.copy(file, directory)
    return directory


def parse_bench_line(output: str) -> dict | None:
    """The JSON of the first `BENCH {...}` line a benchmark script printed, or None."""
    for line in output.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    return None


def run_bench_script(godot: Path, project: Path, script: str, *args: str, timeout: float = 900) -> dict:
    """Runs `script` headless in `project` and returns its BENCH line's JSON;
    exits with the engine's output when the script failed or printed none."""
    run = subprocess.run([str(godot), "--headless", "--path", str(project), "--script", script, "--", *args],
                         capture_output=True, text=True, timeout=timeout)
    result = parse_bench_line(run.stdout)
    if run.returncode != 0 or result is None:
        raise SystemExit(f"{script} failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return result
