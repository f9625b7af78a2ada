"""Small helpers for the headless Godot projects the demo, tests and benchmarks run."""

from __future__ import annotations

import shutil
from pathlib import Path


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
