"""How Godot is built with the executorch module: the call into Godot's own
SCons, deployment into bin/, installing export templates, and the lock that
lets clones share one build tree. What each profile compiles, and the checks
of the machine, are in tools/build_profiles.py.

The SConstruct at the repository root drives these functions; they are plain
Python so they can be unit-tested without SCons.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tools.build_profiles import BuildError, ResolvedProfile
from tools.executorch_build import ExecuTorchBuild
from tools.toolchains import Toolchain, host_arch

GODOT_TEMPLATE_VERSION = "4.6.3.stable"  # Godot's GODOT_VERSION_FULL_CONFIG: the export templates' folder


def godot_arguments(resolved: ResolvedProfile, target: str, module_parent: Path, executorch: ExecuTorchBuild,
                    cache_path: str, jobs: int, forwarded: dict[str, str], ccflags: list[str],
                    toolchain: Toolchain | None = None) -> list[str]:
    """The command-line arguments for Godot's SCons (`executorch`: the static
    build to link, tools/executorch_build.py, made with the same `toolchain`;
    `ccflags`: detected_ccflags())."""
    options = {
        "platform": "linuxbsd",
        "target": target,
        **(toolchain.godot_options() if toolchain else {}),
        **resolved.options,
        "scu_build": "yes",
        "builtin_zlib": "no", "builtin_zstd": "no", "builtin_libpng": "no", "builtin_mbedtls": "no",
        "builtin_certs": "no", "system_certs_path": "/etc/ssl/certs/ca-certificates.crt",
        "custom_modules": str(module_parent),
        "module_executorch_enabled": "yes",
        "executorch_root": str(executorch.prefix),
        "executorch_version": executorch.describe(),
        # The module's hand-written C++, compiled in place from this clone.
        "executorch_src": str(Path(__file__).resolve().parent.parent / "src"),
    }
    suffix = resolved.profile.suffix(target)
    if suffix:
        # Objects and binary of each profile apart: the same target in two
        # profiles compiles with different flags.
        options["extra_suffix"] = suffix
    if toolchain is not None and toolchain.pkg_config_libdir():
        options["import_env_vars"] = "PKG_CONFIG_LIBDIR"  # Godot's pkg-config calls see the target's .pc files
    if cache_path:
        options["cache_path"] = cache_path
    forwarded = dict(forwarded)
    joined_ccflags = " ".join(ccflags + [forwarded.pop("ccflags", "")]).strip()
    if joined_ccflags:
        options["ccflags"] = joined_ccflags
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


def binary_name(target: str, suffix: str = "", arch: str = "") -> str:
    """Godot's name for a binary: godot.linuxbsd.<target>.<arch>[.<suffix>] (arch: this machine's by default)."""
    return f"godot.linuxbsd.{target}.{arch or host_arch()}" + (f".{suffix}" if suffix else "")


def run_godot_scons(godot_dir: Path, arguments: list[str], pkg_config_path: str = "", toolchain: Toolchain | None = None) -> None:
    command = [sys.executable, "-m", "SCons", *arguments]
    environment = dict(os.environ)
    # Godot adds -fdiagnostics-color or -fno-diagnostics-color to every compile
    # command depending on CI=, CLICOLOR_FORCE= and whether stderr is a terminal:
    # a build in CI then missed every object a developer's build had cached, and
    # recompiled the whole engine (measured 2026-12-03). No colours, ever: the
    # same command line, so the same objects, wherever the build runs.
    environment["NO_COLOR"] = "1"
    if pkg_config_path:  # Godot's SCons passes PKG_CONFIG_PATH on to pkg-config
        environment["PKG_CONFIG_PATH"] = os.pathsep.join(p for p in (pkg_config_path, os.environ.get("PKG_CONFIG_PATH", "")) if p)
    if toolchain is not None and toolchain.pkg_config_libdir():
        # The target's .pc files only (godot_arguments passes it on: import_env_vars).
        environment["PKG_CONFIG_LIBDIR"] = toolchain.pkg_config_libdir()
    print(f"Building Godot in {godot_dir}:\n  scons {' '.join(arguments)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=godot_dir, env=environment)
    if result.returncode != 0:
        raise BuildError(
            f"Godot's build failed (exit {result.returncode}); the compiler's message is above. "
            "After fixing it, run scons again: finished objects are reused."
        )
    print(f"Godot's build finished in {time.monotonic() - started:.0f} s.", flush=True)


def _copy_if_changed(source: Path, destination: Path) -> bool:
    if destination.is_file():
        same_size = destination.stat().st_size == source.stat().st_size
        if same_size and destination.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            return False
    temporary = destination.with_name(destination.name + ".tmp")
    shutil.copy2(source, temporary)
    temporary.replace(destination)
    return True


def deploy(godot_dir: Path, name: str, bin_dir: Path) -> Path:
    """Copies the engine binary `name` into `bin_dir`. ExecuTorch is linked
    into it: the binary is the whole engine and can be moved anywhere."""
    built = godot_dir / "bin" / name
    if not built.is_file():
        raise BuildError(f"Godot's build did not produce {built}")
    bin_dir.mkdir(parents=True, exist_ok=True)
    engine = bin_dir / built.name
    copied = _copy_if_changed(built, engine)
    # Engines before 2026-12 linked the executorch wheel's shared libraries and
    # had them copied here; nothing loads them now.
    for stale in sorted(bin_dir.glob("libexecutorch*.so")):
        stale.unlink()
        print(f"bin/: removed {stale.name} (ExecuTorch is linked into the engine now)", flush=True)
    size = engine.stat().st_size / 1e6
    print(f"bin/: {engine.name} ({size:.0f} MB, ExecuTorch linked in)" + (" (updated)" if copied else " (up to date)"), flush=True)
    return engine


def export_templates_dir() -> Path:
    """Where Godot's editor looks for this version's export templates."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "godot" / "export_templates" / GODOT_TEMPLATE_VERSION


def install_templates(templates: dict[str, Path], destination: Path | None = None, arch: str = "") -> Path:
    """Installs built templates ({"template_debug": path, ...}) as Godot's
    linux_{debug,release}.<arch> (default: this machine's), where the editor's
    Export dialog finds them without configuration."""
    destination = destination or export_templates_dir()
    destination.mkdir(parents=True, exist_ok=True)
    arch = arch or host_arch()
    installed = []
    for target, built in sorted(templates.items()):
        name = f"linux_{target.removeprefix('template_')}.{arch}"
        _copy_if_changed(built, destination / name)
        installed.append(name)
    print(f"Installed export templates {', '.join(installed)} into {destination}", flush=True)
    return destination


@contextmanager
def build_lock(cache: Path, holder: str) -> Iterator[None]:
    """Holds the lock on the shared build tree in `cache` (Godot's source and
    objects, the module's build copy), so two clones building at once take
    turns instead of corrupting it. `holder` says who we are to a waiter."""
    cache.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(cache / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = os.pread(descriptor, 4096, 0).decode("utf-8", "replace").strip() or "another build"
            print(f"Waiting for the shared build tree {cache}: it is in use by {current}. "
                  "This build goes on when that one ends.", flush=True)
            started = time.monotonic()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            print(f"Got the build tree after {time.monotonic() - started:.0f} s of waiting.", flush=True)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{holder} (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n".encode(), 0)
        yield
    finally:
        os.ftruncate(descriptor, 0)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
