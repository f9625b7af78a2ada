"""From the editor to a shipped game: the headless editor exports
tests/export_game/ with Godot's own `--export-release "Linux"`, using the
minimal release template as the preset's custom template; the exported folder
is moved elsewhere and run. It must carry ExecuTorch's libraries (the module's
export plugin ships them), the .pte inside its .pck, and the model set on an
@export property in the scene."""

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

GAME = REPO_ROOT / "tests" / "export_game"
LIBRARIES = ("libexecutorch.so", "libexecutorch_kernels_optimized.so", "libexecutorch_backend_xnnpack.so",
             "libexecutorch_threadpool.so")
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
binary_format/architecture="x86_64"
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


def _game_project(directory: Path, template: Path) -> Path:
    shutil.copytree(GAME, directory)
    export_model("linear", directory / "models" / "linear.pte")
    (directory / "export_presets.cfg").write_text(PRESETS.format(template=template), encoding="utf-8")
    return directory


def _export(editor: Path, project: Path, output: Path, home: Path) -> subprocess.CompletedProcess:
    output.parent.mkdir(parents=True, exist_ok=True)
    return _run([editor, "--headless", "--path", project, "--export-release", "Linux", output],
                env=_editor_environment(home))


@pytest.fixture(scope="module")
def exported_game(editor: Path, template: Path, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("export")
    project = _game_project(work / "project", template)
    export = _export(editor, project, work / "out" / "linear_game.x86_64", work / "home")
    assert export.returncode == 0, f"export failed (exit {export.returncode}):\n{export.stdout[-4000:]}\n{export.stderr[-4000:]}"
    # Elsewhere, away from the project, the build tree and the venv.
    moved = work / "elsewhere" / "Linear Game"
    moved.parent.mkdir()
    shutil.move(work / "out", moved)
    shutil.rmtree(project)
    return moved, export


def test_exported_folder_holds_the_game_its_pack_and_the_runtime(exported_game):
    folder, _ = exported_game
    assert sorted(p.name for p in folder.iterdir()) == sorted(["linear_game.x86_64", "linear_game.pck", *LIBRARIES])
    pack = (folder / "linear_game.pck").read_bytes()
    assert b"models/linear.pte" in pack, "the .pte is not in the .pck"


def test_exported_game_runs_elsewhere_and_predicts(exported_game):
    folder, _ = exported_game
    run = _run([folder / "linear_game.x86_64", "--headless"], timeout=120, cwd=folder.parent)
    assert "GAME FINISHED" in run.stdout, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == 0
    for line in ("load_model_from_file: 0.0 -> 3.0", "load_model_from_file: 1.0 -> 5.0", "load_model_from_file: 2.5 -> 8.0",
                 "memory-mapped: false", "exported model: res://models/linear.pte", "@export model: -1.0 -> 1.0"):
        assert line in run.stdout, f"missing {line!r} in:\n{run.stdout}"
    assert "ERROR" not in run.stderr, run.stderr[-3000:]


def test_ldd_resolves_every_executorch_library_inside_the_exported_folder(exported_game):
    folder, _ = exported_game
    ldd = _run(["ldd", folder / "linear_game.x86_64"]).stdout
    resolved = dict(re.findall(r"^\s*(libexecutorch\S*\.so)\s+=>\s+(.+?)\s+\(0x[0-9a-f]+\)$", ldd, re.M))
    assert sorted(resolved) == sorted(LIBRARIES), ldd
    for library, path in resolved.items():
        assert Path(path).parent.resolve() == folder.resolve(), f"{library} resolves to {path}, outside the game:\n{ldd}"
    assert "not found" not in ldd, ldd


def test_export_fails_naming_a_library_that_is_nowhere(editor: Path, template: Path, tmp_path: Path):
    # The template and the editor copied alone: no ExecuTorch library beside either.
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(template, lonely / template.name)
    shutil.copy(editor, lonely / editor.name)
    project = _game_project(tmp_path / "project", lonely / template.name)
    environment_home = tmp_path / "home"
    export = subprocess.run(
        [str(lonely / editor.name), "--headless", "--path", str(project), "--export-release", "Linux",
         str(tmp_path / "out" / "game.x86_64")],
        capture_output=True, text=True, timeout=600,
        env={**_editor_environment(environment_home), "LD_LIBRARY_PATH": str(editor.parent)},
    )
    output = export.stdout + export.stderr
    assert export.returncode != 0, output[-3000:]
    assert "The exported game needs libexecutorch.so, which is neither beside the export template nor beside the editor" in output
    assert str(lonely) in output
    assert not (tmp_path / "out" / "libexecutorch.so").exists()
