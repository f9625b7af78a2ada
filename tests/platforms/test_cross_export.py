"""Another architecture's games, built here and run under emulation (issue "A
second platform: games for Linux arm64"): this machine's headless editor
exports tests/export_game/ for the target architecture with the cross-built
minimal release template, the folder is moved elsewhere, and the game runs
under qemu-user headless and must predict right.

Run by `scons platform=linuxbsd arch=arm64 test` (it builds the template and
sets the variables below); skipped in the README's test command, which builds
for this machine only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_export import export_and_move
from tools.toolchains import host_arch, toolchain

ARCH = os.environ.get("GODOT_EXECUTORCH_CROSS_ARCH", "")
TEMPLATE = os.environ.get("GODOT_EXECUTORCH_CROSS_TEMPLATE", "")
EDITOR = os.environ.get("GODOT_EXECUTORCH_EDITOR", "")

pytestmark = pytest.mark.skipif(not (ARCH and TEMPLATE and EDITOR),
                                reason="another architecture's test: run `scons platform=linuxbsd arch=arm64 test`")

# readelf's machine name for each of Godot's arch names.
ELF_MACHINE = {"arm64": "AArch64", "x86_64": "Advanced Micro Devices X86-64"}


@pytest.fixture(scope="module")
def exported_game(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    for path in (TEMPLATE, EDITOR):
        if not Path(path).is_file():
            pytest.fail(f"no {path}; build it with `scons platform=linuxbsd arch={ARCH} test`")
    return export_and_move(Path(EDITOR), Path(TEMPLATE), tmp_path_factory.mktemp(f"export-{ARCH}"), ARCH)


def test_the_exported_folder_is_the_game_for_the_target(exported_game):
    folder, export = exported_game
    assert sorted(p.name for p in folder.iterdir()) == [f"linear_game.{ARCH}", "linear_game.pck"]
    header = subprocess.run(["readelf", "-h", str(folder / f"linear_game.{ARCH}")], capture_output=True, text=True).stdout
    assert f"Machine:                           {ELF_MACHINE[ARCH]}" in header, header
    dynamic = subprocess.run(["readelf", "-d", str(folder / f"linear_game.{ARCH}")], capture_output=True, text=True).stdout
    needed = [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]
    print(f"{folder / f'linear_game.{ARCH}'} needs: {', '.join(needed)}")
    assert needed and not any("executorch" in name or "xnnpack" in name for name in needed), needed
    assert "is linked into the engine: nothing to ship beside" in export.stdout


def test_the_game_runs_under_emulation_and_predicts(exported_game):
    folder, _ = exported_game
    assert ARCH != host_arch(), "this test is for another architecture than this machine's"
    command = toolchain(ARCH).emulator() + [str(folder / f"linear_game.{ARCH}"), "--headless"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=folder.parent)
    print(run.stdout)
    assert "GAME FINISHED" in run.stdout, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == 0
    for line in ("load_model_from_file: 0.0 -> 3.0", "load_model_from_file: 1.0 -> 5.0", "load_model_from_file: 2.5 -> 8.0",
                 "exported model: res://models/linear.pte", "@export model: -1.0 -> 1.0"):
        assert line in run.stdout, f"missing {line!r} in:\n{run.stdout}"
