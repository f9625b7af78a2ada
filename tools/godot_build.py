"""How Godot is built with the executorch module: profiles, system checks,
the call into Godot's own SCons, and deployment into bin/.

The SConstruct at the repository root drives these functions; they are plain
Python so they can be unit-tested without SCons.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Build profiles: Godot options that change what gets compiled. Kept stable:
# any change recompiles the whole engine.
# No display, audio, input devices or system services: every profile here runs
# headless (tests, CI, the demo, --doctool).
_HEADLESS = {
    "x11": "no", "wayland": "no", "vulkan": "no", "opengl3": "no", "alsa": "no", "pulseaudio": "no",
    "dbus": "no", "speechd": "no", "fontconfig": "no", "udev": "no", "sdl": "no", "accesskit": "no",
    "libdecor": "no", "modules_enabled_by_default": "no", "module_gdscript_enabled": "yes",
    "module_mbedtls_enabled": "yes", "minizip": "no", "brotli": "no",
}
PROFILES: dict[str, dict[str, str]] = {
    # The engine for tests, CI and the demo: GDScript and the executorch module,
    # no 3D, physics, navigation or advanced GUI. ~9 min cold on 2 cores.
    "minimal": {
        **_HEADLESS,
        "disable_3d": "yes", "disable_advanced_gui": "yes", "disable_physics_2d": "yes",
        "disable_physics_3d": "yes", "disable_navigation_2d": "yes", "disable_navigation_3d": "yes",
        "disable_xr": "yes", "disable_path_overrides": "no",
    },
    # A headless editor: adds what the editor needs (text server, SVG icons,
    # regex) so `--doctool` and the editor's class reference work. ~20 min cold.
    "editor": {
        **_HEADLESS,
        "module_svg_enabled": "yes", "module_freetype_enabled": "yes", "module_regex_enabled": "yes",
        "module_text_server_fb_enabled": "yes", "builtin_freetype": "no", "builtin_pcre2": "no",
    },
}
PROFILE_TARGETS = {"minimal": ("template_debug", "template_release"), "editor": ("editor",)}

class BuildError(Exception):
    """The build cannot go on; the message names the problem and the fix."""


@dataclass(frozen=True)
class SystemLibrary:
    name: str
    debian_package: str
    header: str  # a header whose presence proves the -dev package is installed
    pkg_config: str = ""  # when set, asked instead (headers that need -I or defines to compile)

    def installed(self) -> bool:
        if self.pkg_config:
            return subprocess.run(["pkg-config", "--exists", self.pkg_config]).returncode == 0
        return _compiles(f"#include <{self.header}>\n")


SYSTEM_LIBRARIES = (
    SystemLibrary("zlib", "zlib1g-dev", "zlib.h"),
    SystemLibrary("zstd", "libzstd-dev", "zstd.h"),
    SystemLibrary("libpng", "libpng-dev", "png.h"),
    SystemLibrary("mbedtls", "libmbedtls-dev", "mbedtls/ssl.h"),
)
EDITOR_LIBRARIES = (
    SystemLibrary("freetype", "libfreetype-dev", "ft2build.h", "freetype2"),
    SystemLibrary("pcre2", "libpcre2-dev", "pcre2.h", "libpcre2-8"),
)


def _compiles(source: str, extra: list[str] | None = None) -> bool:
    """Whether the system C++ compiler accepts `source` (a configure-style probe)."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "probe.cpp"
        path.write_text(source, encoding="utf-8")
        result = subprocess.run(
            ["g++", "-fsyntax-only", *(extra or []), str(path)], capture_output=True, text=True
        )
        return result.returncode == 0


def check_system(profile: str) -> None:
    """Fails with the apt-get command to run when a tool or -dev package is missing."""
    missing_tools = [tool for tool in ("g++", "pkg-config") if shutil.which(tool) is None]
    packages = {"g++": "g++", "pkg-config": "pkg-config"}
    missing = [packages[t] for t in missing_tools]
    libraries = SYSTEM_LIBRARIES + (EDITOR_LIBRARIES if profile == "editor" else ())
    if not missing_tools:
        missing += [lib.debian_package for lib in libraries if not lib.installed()]
    if missing:
        raise BuildError(
            "missing system packages: " + " ".join(missing)
            + f"\n  install them with: sudo apt-get install -y {' '.join(missing)}   (or run ./setup.sh)"
        )


def detected_ccflags() -> list[str]:
    """Compiler flags that depend on the machine's library versions.

    Debian 12's zstd 1.5.4 declares ZSTD_getErrorCode only in zstd_errors.h,
    which Godot does not include; Debian 13's zstd 1.5.7 declares it through
    zstd.h. Probe instead of guessing from the distribution.
    """
    probe = "#include <zstd.h>\nint f() { return (int)ZSTD_getErrorCode(0); }\n"
    if _compiles(probe):
        return []
    if _compiles(probe, ["-include", "zstd_errors.h"]):
        return ["-include", "zstd_errors.h"]
    raise BuildError("zstd.h does not declare ZSTD_getErrorCode even with zstd_errors.h; install libzstd-dev >= 1.5")


def executorch_root(explicit: str = "") -> Path:
    """The installed ExecuTorch package root (holding include/ and lib/)."""
    if explicit:
        root = Path(explicit)
    else:
        found = importlib.util.find_spec("executorch")
        if found is None or not found.submodule_search_locations:
            raise BuildError(
                f"the `executorch` Python package is not installed for {sys.executable}.\n"
                "  run ./setup.sh, then build with .venv/bin/scons"
            )
        root = Path(list(found.submodule_search_locations)[0])
    if not (root / "include" / "executorch").is_dir() or not (root / "lib" / "libexecutorch.so").is_file():
        raise BuildError(f"{root} has no ExecuTorch C++ headers and libraries; install executorch==1.5.1 (./setup.sh)")
    return root


def godot_arguments(profile: str, target: str, module_parent: Path, et_root: Path, cache_path: str,
                    jobs: int, forwarded: dict[str, str]) -> list[str]:
    """The command-line arguments for Godot's SCons."""
    options = {
        "platform": "linuxbsd",
        "target": target,
        **PROFILES[profile],
        "scu_build": "yes",
        "use_static_cpp": "no",  # ExecuTorch's .so files use the shared libstdc++; one copy only
        "builtin_zlib": "no", "builtin_zstd": "no", "builtin_libpng": "no", "builtin_mbedtls": "no",
        "builtin_certs": "no", "system_certs_path": "/etc/ssl/certs/ca-certificates.crt",
        "custom_modules": str(module_parent),
        "module_executorch_enabled": "yes",
        "executorch_root": str(et_root),
    }
    if cache_path:
        options["cache_path"] = cache_path
    ccflags = " ".join(detected_ccflags() + [forwarded.pop("ccflags", "")]).strip()
    if ccflags:
        options["ccflags"] = ccflags
    options.update(forwarded)
    return [f"-j{jobs}", *(f"{key}={value}" for key, value in options.items())]


def mirror_module(module_dir: Path, build_parent: Path) -> Path:
    """Copies the generated module to a path that is the same for every clone.

    Godot puts the custom-modules folder and its parent on every compile
    command's include path, so building from each clone's own modules/ would
    change the command line of all 1,500 of Godot's objects, and a fresh clone
    (CI's case) would recompile the whole engine. Building from one stable
    folder keeps a clone's build a module-only build. Only the files in the
    generator's manifest are copied, and only when they changed.
    """
    from generator.output import previous_outputs, sync
    from generator.render import RenderedFile

    generated = previous_outputs(module_dir)
    if not generated:
        raise BuildError(f"{module_dir} has not been generated; run `scons generate`")
    files = [RenderedFile(relative, (module_dir / relative).read_text(encoding="utf-8")) for relative in generated]
    target = build_parent / module_dir.name
    report = sync(files, target)
    if report.changed:
        print(f"Build copy of the module: {target} ({len(report.written)} updated)", flush=True)
    return build_parent


def binary_name(target: str) -> str:
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), platform.machine())
    return f"godot.linuxbsd.{target}.{machine}"


def run_godot_scons(godot_dir: Path, arguments: list[str]) -> None:
    command = [sys.executable, "-m", "SCons", *arguments]
    print(f"Building Godot in {godot_dir}:\n  scons {' '.join(arguments)}", flush=True)
    result = subprocess.run(command, cwd=godot_dir)
    if result.returncode != 0:
        raise BuildError(
            f"Godot's build failed (exit {result.returncode}); the compiler's message is above. "
            "After fixing it, run scons again: finished objects are reused."
        )


def _copy_if_changed(source: Path, destination: Path) -> bool:
    if destination.is_file():
        same_size = destination.stat().st_size == source.stat().st_size
        if same_size and destination.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            return False
    temporary = destination.with_name(destination.name + ".tmp")
    shutil.copy2(source, temporary)
    temporary.replace(destination)
    return True


def deploy(godot_dir: Path, target: str, et_root: Path, bin_dir: Path, libraries: tuple[str, ...]) -> Path:
    """Copies the engine and the ExecuTorch libraries it links into `bin_dir`.

    `libraries` are module_spec.yaml's link_libraries ("executorch" for
    libexecutorch.so), the same list the generated SCsub links. The binary's
    rpath is $ORIGIN, so `bin_dir` can be moved anywhere.
    """
    built = godot_dir / "bin" / binary_name(target)
    if not built.is_file():
        raise BuildError(f"Godot's build did not produce {built}")
    bin_dir.mkdir(parents=True, exist_ok=True)
    engine = bin_dir / built.name
    copied = [engine.name] if _copy_if_changed(built, engine) else []
    for library in (f"lib{name}.so" for name in libraries):
        source = et_root / "lib" / library
        if not source.is_file():
            raise BuildError(f"{source} is missing: module_spec.yaml's link_libraries names a library the executorch wheel "
                             "does not ship. Fix the name, or reinstall the wheel with ./setup.sh.")
        if _copy_if_changed(source, bin_dir / library):
            copied.append(library)
    print(f"bin/: {engine.name} + {len(libraries)} ExecuTorch libraries"
          + (f" (updated: {', '.join(copied)})" if copied else " (up to date)"), flush=True)
    return engine


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
