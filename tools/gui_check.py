"""Verifies the GUI builds on a machine without a display, and takes the
README's screenshots: the full editor with a project holding a .pte (the model
selected, its inspector, the ExecuTorchRuntime help page), and the examples
exported with a full release template and run.

    .venv/bin/python -m tools.gui_check editor [--godot bin/godot.linuxbsd.editor.x86_64] [--out docs]
    .venv/bin/python -m tools.gui_check game   [--example linear_3d|digits|agents] [--godot EDITOR]
                                               [--template TEMPLATE] [--arch arm64] [--out docs]

`game` exports the example with EDITOR (the full editor, or the headless one)
and TEMPLATE (default: the installed linux_release template of --arch), moves
the folder, runs it under Xvfb (another architecture under its emulator, with
OpenGL: Mesa's llvmpipe), takes the screenshot and prints the game's lines.

Needs Xvfb, Mesa's software Vulkan (lavapipe) or OpenGL (llvmpipe) and
ImageMagick: ./setup.sh --gui-check installs them. Not part of the tests: a
first start compiles shaders on the CPU for minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tools.godot_build import binary_name, export_templates_dir
from tools.toolchains import ARCHITECTURES, host_arch, toolchain

REPO_ROOT = Path(__file__).resolve().parent.parent
LAVAPIPE = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"
LOGS = REPO_ROOT / "build" / "gui-check"  # the programs' output (not committed)
SCREEN = (1920, 1080)

# An editor plugin that walks the editor through what the screenshots show,
# one step per marker file, waiting for the driver between steps.
SHOTS_PLUGIN = '''@tool
extends EditorPlugin

var step := 0
var waited := 0.0


func _process(delta: float) -> void:
	waited += delta
	var marks := ProjectSettings.globalize_path("res://").path_join(".shots")
	if step == 0 and waited > 5.0 and not EditorInterface.get_resource_filesystem().is_scanning():
		EditorInterface.get_file_system_dock().navigate_to_path("res://models/linear.pte")
		EditorInterface.select_file("res://models/linear.pte")
		EditorInterface.edit_resource(load("res://models/linear.pte"))
		_mark(marks, "inspector")
	elif step == 1 and FileAccess.file_exists(marks.path_join("next")):
		DirAccess.remove_absolute(marks.path_join("next"))
		EditorInterface.set_main_screen_editor("Script")
		EditorInterface.get_script_editor().goto_help("class_name:ExecuTorchRuntime")
		_mark(marks, "help")
	elif step == 2 and FileAccess.file_exists(marks.path_join("next")):
		print("SHOTS DONE")
		get_tree().quit(0)


func _mark(marks: String, name: String) -> void:
	DirAccess.make_dir_recursive_absolute(marks)
	FileAccess.open(marks.path_join(name), FileAccess.WRITE).store_string("ready")
	print("SHOTS STEP ", name)
	step += 1
	waited = 0.0
'''


def _need_tools() -> None:
    missing = [tool for tool in ("Xvfb", "import", "convert") if shutil.which(tool) is None]
    if missing or not Path(LAVAPIPE).is_file():
        raise SystemExit(f"missing {', '.join(missing) or 'Mesa lavapipe'}; run ./setup.sh --gui-check")


def _free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise SystemExit("no free X display number")


def _start_xvfb() -> tuple[subprocess.Popen, dict[str, str]]:
    number = _free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    environment = {**os.environ, "DISPLAY": f":{number}", "VK_ICD_FILENAMES": LAVAPIPE}
    return xvfb, environment


def _screenshot(environment: dict[str, str], out: Path, scale: str = "50%",
                detail: tuple[Path, str] | None = None) -> float:
    """Takes the whole screen into `out` (a small PNG), and `detail` = (path,
    WxH+X+Y) cropped from it at full size; returns the standard deviation of
    `out` (0: blank)."""
    raw = out.with_suffix(".full.png")
    subprocess.run(["import", "-window", "root", str(raw)], env=environment, check=True)
    subprocess.run(["convert", str(raw), "-resize", scale, "-strip", "-colors", "256", "PNG8:" + str(out)], check=True)
    if detail:
        subprocess.run(["convert", str(raw), "-crop", detail[1], "+repage", "-strip", "-colors", "256", "PNG8:" + str(detail[0])],
                       check=True)
        print(f"  {detail[0]} ({detail[0].stat().st_size // 1024} KB, a detail at full size)", flush=True)
    raw.unlink()
    deviation = subprocess.run(["convert", str(out), "-format", "%[fx:standard_deviation]", "info:"],
                               capture_output=True, text=True, check=True).stdout.strip()
    print(f"  {out} ({out.stat().st_size // 1024} KB, standard deviation {deviation})", flush=True)
    return float(deviation)


@dataclass(frozen=True)
class Example:
    """An example game: its folder, how its models are made, what it prints."""

    name: str
    make_models: Callable[[Path], None]  # writes the project's models/ (imports torch: only when running)
    printed: str  # the start of the lines that show it works
    arguments: tuple[str, ...] = ()  # after `--`: e.g. a scripted demo


def _linear_model(models: Path) -> None:
    from model_tools import export_model

    export_model("linear", models / "linear.pte")


def _digits_model(models: Path) -> None:
    from model_tools.training import train_and_export_digits

    train_and_export_digits(models / "digits.pte", log=lambda _: None)


def _policy_model(models: Path) -> None:
    from model_tools.training import train_and_export_policy

    train_and_export_policy(models / "policy.pte", log=lambda _: None)


EXAMPLES = {
    example.name: example
    for example in (
        Example("linear_3d", _linear_model, "frame "),
        # No mouse under Xvfb: --demo draws a "2" stroke by stroke.
        Example("digits", _digits_model, "drawn: ", ("--demo",)),
        Example("agents", _policy_model, "frame "),
    )
}


def _project(work: Path, example: Example = EXAMPLES["linear_3d"]) -> Path:
    project = work / example.name
    shutil.copytree(REPO_ROOT / "examples" / example.name, project)
    (project / "models").mkdir(exist_ok=True)
    example.make_models(project / "models")
    return project


def _use_template(project: Path, template: Path, arch: str) -> None:
    """Points the project's Linux preset at `template` for `arch` (a custom template)."""
    presets = project / "export_presets.cfg"
    text = presets.read_text(encoding="utf-8")
    text = re.sub(r'custom_template/release=".*"', f'custom_template/release="{template}"', text)
    text = re.sub(r'binary_format/architecture=".*"', f'binary_format/architecture="{arch}"', text)
    presets.write_text(text, encoding="utf-8")


def _wait_for(path: Path, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise SystemExit(f"the program exited ({process.returncode}) before {path.name}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path.name}")
        time.sleep(1)


def editor(godot: Path, out: Path, driver: str) -> int:
    _need_tools()
    with tempfile.TemporaryDirectory() as work:
        project = _project(Path(work))
        plugin = project / "addons" / "executorch_shots"
        plugin.mkdir(parents=True)
        (plugin / "plugin.cfg").write_text('[plugin]\n\nname="ExecuTorch screenshots"\ndescription=""\nauthor=""\nversion="1"\nscript="plugin.gd"\n')
        (plugin / "plugin.gd").write_text(SHOTS_PLUGIN)
        with (project / "project.godot").open("a") as settings:
            settings.write('\n[editor_plugins]\n\nenabled=PackedStringArray("res://addons/executorch_shots/plugin.cfg")\n')
        xvfb, environment = _start_xvfb()
        environment.update(XDG_CONFIG_HOME=f"{work}/config", XDG_DATA_HOME=f"{work}/data", XDG_CACHE_HOME=f"{work}/cache")
        marks = project / ".shots"
        started = time.monotonic()
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / "editor.log", "w")
        command = [str(godot), "--editor", "--path", str(project), "--resolution", f"{SCREEN[0]}x{SCREEN[1]}", "--position", "0,0",
                   *(["--rendering-driver", "vulkan"] if driver == "vulkan" else ["--rendering-driver", "opengl3", "--rendering-method", "gl_compatibility"])]
        print(f"Starting the editor under Xvfb ({driver}); a first start compiles shaders on the CPU ...", flush=True)
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for(marks / "inspector", process, 900)
            print(f"  editor ready after {time.monotonic() - started:.0f} s", flush=True)
            time.sleep(8)
            # The detail: the FileSystem dock's bottom and the inspector, at full size.
            deviations = [_screenshot(environment, out / "editor-model-inspector.png",
                                      detail=(out / "editor-model-inspector-detail.png", "300x560+1620+60"))]
            (marks / "next").touch()
            _wait_for(marks / "help", process, 120)
            time.sleep(5)
            deviations.append(_screenshot(environment, out / "editor-help-executorch-runtime.png"))
            (marks / "next").touch()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            xvfb.terminate()
            log.close()
        renderer = next((line.strip() for line in (LOGS / "editor.log").read_text(errors="replace").splitlines()
                         if ("Vulkan" in line and "Using Device" in line) or "OpenGL API" in line), "(renderer line not found)")
        print(f"  renderer: {renderer}")
    return 0 if all(d > 0.01 for d in deviations) else 1


def game(godot: Path, out: Path, seconds: float, example: Example, template: Path | None, arch: str) -> int:
    _need_tools()
    cross = toolchain(arch)
    if template is None:
        template = export_templates_dir() / f"linux_release.{arch}"
        if not template.is_file():
            raise SystemExit(f"no {template}; build it: .venv/bin/scons platform=linuxbsd profile=full templates arch={arch}"
                             f" (or pass --template)")
    with tempfile.TemporaryDirectory() as work:
        project = _project(Path(work), example)
        _use_template(project, template.resolve(), arch)
        exported = Path(work) / "exported" / f"{example.name}.{arch}"
        exported.parent.mkdir()
        export = subprocess.run([str(godot), "--headless", "--path", str(project), "--export-release", "Linux", str(exported)],
                                capture_output=True, text=True, timeout=900)
        if export.returncode != 0:
            print(export.stdout[-3000:], export.stderr[-3000:])
            return 1
        moved = Path(work) / "shipped" / example.name
        moved.parent.mkdir()
        shutil.move(exported.parent, moved)
        binary = moved / exported.name
        print("Exported folder:")
        for path in sorted(moved.iterdir()):
            print(f"  {path.name:40s} {path.stat().st_size / 1e6:7.1f} MB")
        print(subprocess.run(["file", str(binary)], capture_output=True, text=True).stdout.strip())
        needed = [line.split("[", 1)[1].rstrip("]") for line in
                  subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout.splitlines() if "(NEEDED)" in line]
        print(f"readelf -d: needs {', '.join(needed)}")
        if any("executorch" in name.lower() for name in needed):
            print("(an ExecuTorch library is needed: unexpected, it is linked in)")
        xvfb, environment = _start_xvfb()
        # Another architecture's game runs under the emulator, on OpenGL: Mesa's
        # software Vulkan for it is a second JIT under emulation.
        driver = ["--rendering-driver", "vulkan"] if not cross.cross else ["--rendering-driver", "opengl3"]
        LOGS.mkdir(parents=True, exist_ok=True)
        log_path = LOGS / f"game-{example.name}-{arch}.log"
        shot = out / (f"game-{example.name.replace('_', '-')}" + (f"-{arch}" if cross.cross else "") + ".png")
        with log_path.open("w") as log:
            command = [*cross.emulator(), str(binary), *driver, "--resolution", "960x540", "--position", "0,0",
                       *(["--", *example.arguments] if example.arguments else [])]
            print("$ " + " ".join(command), flush=True)
            process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=moved.parent)
            try:
                time.sleep(seconds)
                deviation = _screenshot(environment, shot, "100%")
                subprocess.run(["convert", str(shot), "-crop", "960x540+0+0", "+repage", "PNG8:" + str(shot)], check=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
                xvfb.terminate()
        output = log_path.read_text(errors="replace").splitlines()
        renderer = next((line.strip() for line in output if "OpenGL API" in line or "Using Device" in line), "(no renderer line)")
        lines = [line for line in output if line.startswith(example.printed)]
        print(f"renderer: {renderer}")
        print("What the game printed:")
        print("".join(f"  {line}\n" for line in lines[-5:]), end="")
    return 0 if deviation > 0.01 and lines else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gui_check", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("editor", "game"))
    parser.add_argument("--godot", type=Path, default=REPO_ROOT / "bin" / binary_name("editor"),
                        help="the editor (game: it exports; the headless editor will do)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs")
    parser.add_argument("--driver", choices=("vulkan", "opengl3"), default="vulkan")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the game runs before its screenshot")
    parser.add_argument("--example", choices=tuple(EXAMPLES), default="linear_3d", help="game: which example")
    parser.add_argument("--template", type=Path, help="game: the release template (default: the installed one)")
    parser.add_argument("--arch", choices=tuple(ARCHITECTURES), default=host_arch(), help="game: the template's architecture")
    args = parser.parse_args(argv)
    if not args.godot.is_file():
        raise SystemExit(f"no editor at {args.godot}; build it: .venv/bin/scons platform=linuxbsd profile=full target=editor")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "editor":
        return editor(args.godot, args.out, args.driver)
    return game(args.godot, args.out, args.seconds, EXAMPLES[args.example], args.template, args.arch)


if __name__ == "__main__":
    sys.exit(main())
