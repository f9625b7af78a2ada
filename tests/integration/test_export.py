"""From the editor to a shipped game: the headless editor exports
tests/export_game/ with Godot's own `--export-release "Linux"`, using the
minimal release template as the preset's custom template; the exported folder
is moved elsewhere and run. ExecuTorch is linked into the engine, so the game
is the binary and its .pck alone (no ExecuTorch library beside it or in ldd),
with the .pte inside the .pck and the model set on an @export property in the
scene."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from model_tools import export_model
from tests.integration.conftest import REPO_ROOT
from tools.godot_build import binary_name
from tools.toolchains import host_arch

GAME = REPO_ROOT / "tests" / "export_game"
PRESETS = """[preset.0]

name="Linux"
platform="Linux"
runnable=true
dedicated_server=false
custom_features=""
export_filter="all_resources"
include_filter=""
exclude_filter=""
export_path=""

[preset.0.options]

custom_template/debug=""
custom_template/release="{template}"
binary_format/embed_pck=false
binary_format/architecture="{arch}"
"""


def _engine(variable: str, default: str, build: str) -> Path:
    path = Path(os.environ.get(variable) or REPO_ROOT / "bin" / default)
    if not path.is_file():
        pytest.fail(f"no {path}; build it first: .venv/bin/scons platform=linuxbsd {build}")
    return path


@pytest.fixture(scope="module")
def editor() -> Path:
    return _engine("GODOT_EXECUTORCH_EDITOR", binary_name("editor", "headless"), "profile=editor target=editor")


@pytest.fixture(scope="module")
def template() -> Path:
    return _engine("GODOT_EXECUTORCH_TEMPLATE", binary_name("template_release"), "target=template_release")


def _run(command: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout, **kwargs)


def _editor_environment(home: Path) -> dict[str, str]:
    """The editor's settings, caches and data in `home`, not the user's."""
    environment = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        environment[name] = str(home / name.lower())
    return environment


def _game_project(directory: Path, template: Path, arch: str = "") -> Path:
    """tests/export_game/ with its model, and a Linux preset for `arch` (default: this machine's)."""
    shutil.copytree(GAME, directory)
    export_model("linear", directory / "models" / "linear.pte")
    (directory / "export_presets.cfg").write_text(PRESETS.format(template=template, arch=arch or host_arch()), encoding="utf-8")
    return directory


def _export(editor: Path, project: Path, output: Path, home: Path) -> subprocess.CompletedProcess:
    output.parent.mkdir(parents=True, exist_ok=True)
    return _run([editor, "--headless", "--path", project, "--export-release", "Linux", output],
                env=_editor_environment(home))


def export_and_move(editor: Path, template: Path, work: Path, arch: str = "") -> tuple[Path, subprocess.CompletedProcess]:
    """Exports tests/export_game/ as linear_game.<arch> with `template`, then moves
    the exported folder elsewhere, away from the project, the build tree and the venv."""
    arch = arch or host_arch()
    project = _game_project(work / "project", template, arch)
    export = _export(editor, project, work / "out" / f"linear_game.{arch}", work / "home")
    assert export.returncode == 0, f"export failed (exit {export.returncode}):\n{export.stdout[-4000:]}\n{export.stderr[-4000:]}"
    moved = work / "elsewhere" / "Linear Game"
    moved.parent.mkdir()
    shutil.move(work / "out", moved)
    shutil.rmtree(project)
    return moved, export


@pytest.fixture(scope="module")
def exported_game(editor: Path, template: Path, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    return export_and_move(editor, template, tmp_path_factory.mktemp("export"))


def test_exported_folder_holds_only_the_game_and_its_pack(exported_game):
    folder, export = exported_game
    assert sorted(p.name for p in folder.iterdir()) == ["linear_game.pck", f"linear_game.{host_arch()}"]
    pack = (folder / "linear_game.pck").read_bytes()
    assert b"models/linear.pte" in pack, "the .pte is not in the .pck"
    # The module's export plugin says why nothing ships beside the game.
    assert f"is linked into the engine: nothing to ship beside linear_game.{host_arch()}." in export.stdout, export.stdout[-3000:]


def test_exported_game_runs_elsewhere_and_predicts(exported_game):
    folder, _ = exported_game
    run = _run([folder / f"linear_game.{host_arch()}", "--headless"], timeout=120, cwd=folder.parent)
    assert "GAME FINISHED" in run.stdout, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == 0
    for line in ("load_model_from_file: 0.0 -> 3.0", "load_model_from_file: 1.0 -> 5.0", "load_model_from_file: 2.5 -> 8.0",
                 "memory-mapped: false", "exported model: res://models/linear.pte", "@export model: -1.0 -> 1.0"):
        assert line in run.stdout, f"missing {line!r} in:\n{run.stdout}"
    assert "ERROR" not in run.stderr, run.stderr[-3000:]


def test_ldd_shows_no_executorch_library(exported_game):
    folder, _ = exported_game
    ldd = _run(["ldd", folder / f"linear_game.{host_arch()}"]).stdout
    assert "=>" in ldd, ldd  # a dynamic executable: ldd listed its libraries
    assert not re.search(r"executorch|xnnpack|pthreadpool|cpuinfo", ldd, re.I), ldd
    assert "not found" not in ldd, ldd


def test_template_copied_alone_exports_a_game_that_runs(editor: Path, template: Path, tmp_path: Path):
    # The template and the editor copied alone, away from bin/ and the cache:
    # nothing beside either is needed, to export or to play.
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(template, lonely / template.name)
    shutil.copy(editor, lonely / editor.name)
    project = _game_project(tmp_path / "project", lonely / template.name)
    export = _export(lonely / editor.name, project, tmp_path / "out" / "game.x86_64", tmp_path / "home")
    assert export.returncode == 0, (export.stdout + export.stderr)[-3000:]
    run = _run([tmp_path / "out" / "game.x86_64", "--headless"], timeout=120, cwd=tmp_path)
    assert "GAME FINISHED" in run.stdout and "load_model_from_file: 2.5 -> 8.0" in run.stdout, run.stdout[-3000:]
