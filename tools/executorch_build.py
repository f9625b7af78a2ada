"""Builds ExecuTorch's C++ runtime from source with its own CMake, into the
cache, as the static libraries the engine links (issue "ExecuTorch built from
source and linked into the engine").

One build folder per (source, toolchain, options): `~/.cache/godot-executorch/
executorch-build-<key>/` holds CMake's build tree (`build/`, Ninja) and the
installed headers and archives the module compiles and links against
(`install/include`, `install/lib`). A fresh clone building from the same source
with the same compiler reuses it; an edit inside the source tree rebuilds only
what it touched (Ninja). The SConstruct calls `build_executorch` while it holds
the shared build lock (tools/godot_build.py), before Godot's build.

Run `python -m tools.executorch_build [executorch_source]` to build without Godot.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import toolchains
from tools.build_profiles import BuildError
from tools.toolchains import Toolchain
from tools.executorch_source import MARKER as SOURCE_MARKER

# What the engine needs from ExecuTorch: the runtime, every CPU kernel library
# (portable, optimized, quantized), XNNPACK, the C++ extensions the module uses,
# and devtools (the event tracer, which the wheel's runtime also had compiled in).
CMAKE_OPTIONS: dict[str, str] = {
    "CMAKE_BUILD_TYPE": "Release",
    "BUILD_SHARED_LIBS": "OFF",
    "EXECUTORCH_BUILD_XNNPACK": "ON",
    "EXECUTORCH_BUILD_KERNELS_OPTIMIZED": "ON",
    "EXECUTORCH_BUILD_KERNELS_QUANTIZED": "ON",
    "EXECUTORCH_BUILD_EXTENSION_MODULE": "ON",
    "EXECUTORCH_BUILD_EXTENSION_DATA_LOADER": "ON",
    "EXECUTORCH_BUILD_EXTENSION_TENSOR": "ON",
    "EXECUTORCH_BUILD_EXTENSION_FLAT_TENSOR": "ON",
    "EXECUTORCH_BUILD_EXTENSION_NAMED_DATA_MAP": "ON",
    "EXECUTORCH_BUILD_DEVTOOLS": "ON",
    "EXECUTORCH_ENABLE_EVENT_TRACER": "ON",
    # Release compiles both of these out; the loader asks ExecuTorch to verify
    # every program (Program::Verification::InternalConsistency) and routes
    # ExecuTorch's log lines into Godot's output, so keep them.
    "EXECUTORCH_ENABLE_PROGRAM_VERIFICATION": "ON",
    "EXECUTORCH_ENABLE_LOGGING": "ON",
    "EXECUTORCH_LOG_LEVEL": "Info",
    # The runner's sources are not in the pruned tarball; the engine is our runner.
    "EXECUTORCH_BUILD_EXECUTOR_RUNNER": "OFF",
    # A compiler cache would make the build's outputs depend on what else the
    # machine compiled; the build folder is the cache.
    "CCACHE_PROGRAM": "CCACHE_PROGRAM-NOTFOUND",
}

STAMP = ".godot-executorch-build"
STATUS_LINE = re.compile(r"^\[(\d+)/(\d+)\] ")


@dataclass(frozen=True)
class ExecuTorchBuild:
    """Where a finished build's headers and archives are, and what it was built from."""

    prefix: Path  # install/: include/ and lib/
    source: Path
    source_identity: str  # "git cff6f4dd32e6..." / "tarball 0702a2d9..." / "tree /path"
    version: str  # version.txt, e.g. "1.5.0"
    arch: str = toolchains.host_arch()  # Godot's name of the architecture it was built for

    @property
    def include_dir(self) -> Path:
        return self.prefix / "include"

    @property
    def lib_dir(self) -> Path:
        return self.prefix / "lib"

    def fingerprint(self) -> str:
        """Text that changes when any installed archive does (SConstruct's stamp)."""
        lines = [self.describe(), str(self.prefix)]
        for archive in sorted(self.lib_dir.glob("*.a")):
            status = archive.stat()
            lines.append(f"{archive.name} {status.st_size} {status.st_mtime_ns}")
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        """What health_check() reports as executorch_version: the version and the source it was built from."""
        return f"{self.version} ({self.source_identity}, static)"


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return ""
    return (result.stdout or result.stderr).splitlines()[0].strip() if (result.stdout or result.stderr) else ""


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BuildError(f"`{name}` is not installed; ExecuTorch's build needs it. Install the Debian package "
                         f"'{package}' (./setup.sh does: apt-get install -y {package}).")
    return found


CROSS_CMAKE_FOLDER = "cmake-3.31.10"
"""PyPI's CMake in the cache (./setup.sh --arm64): cross builds need >= 3.26
($<BUILD_LOCAL_INTERFACE:...> in the optimized kernels' arm64 part); Debian 12 has 3.25."""


def cmake_for(toolchain: Toolchain, cache: Path) -> str:
    """The cmake that builds for `toolchain`: the system's natively, PyPI's for a cross build."""
    if not toolchain.cross:
        return _tool("cmake", "cmake")
    cross = cache / CROSS_CMAKE_FOLDER / "bin" / "cmake"
    if not cross.is_file():
        raise BuildError(f"building ExecuTorch for {toolchain.arch} needs CMake >= 3.26 at {cross}; "
                         f"run ./setup.sh {toolchain.setup_option} (it installs it, with the cross compiler)")
    return str(cross)


def toolchain_identity(c_compiler: str, cxx_compiler: str, cmake: str = "cmake") -> str:
    """The compilers and CMake that make the build, as text that changes when any of them does."""
    return "\n".join(
        [f"CC {shutil.which(c_compiler) or c_compiler}: {_first_line([c_compiler, '--version'])}",
         f"CXX {shutil.which(cxx_compiler) or cxx_compiler}: {_first_line([cxx_compiler, '--version'])}",
         _first_line([cmake, "--version"]), f"ninja {_first_line(['ninja', '--version'])}"]
    )


def source_identity(tree: Path) -> str:
    """What the source is, stably: the unpacked tarball's pinned hash, else the
    git commit (plus a hash of uncommitted changes), else the folder's path."""
    marker = tree.parent / SOURCE_MARKER
    if marker.is_file():
        commit, _, digest = marker.read_text(encoding="utf-8").strip().partition(" ")
        return f"tarball {digest[:12]} of {commit[:12]}"
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode == 0 and (tree / ".git").exists():
        status = subprocess.run(["git", "-C", str(tree), "status", "--porcelain"], capture_output=True, text=True,
                                check=False).stdout
        dirty = f" + local changes {hashlib.sha256(status.encode()).hexdigest()[:8]}" if status.strip() else ""
        return f"git {head.stdout.strip()[:12]}{dirty}"
    return f"tree {tree}"


def build_key(identity: str, toolchain: str, options: dict[str, str]) -> str:
    text = "\n".join([identity.split(" + ")[0], toolchain, *(f"{k}={v}" for k, v in sorted(options.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_version(tree: Path) -> str:
    version_file = tree / "version.txt"
    return version_file.read_text(encoding="utf-8").strip() if version_file.is_file() else "unknown"


def cmake_arguments(source: Path, build_dir: Path, prefix: Path, python: str, toolchain: Toolchain,
                    options: dict[str, str] | None = None, cmake: str = "cmake") -> list[str]:
    definitions = {
        **(CMAKE_OPTIONS if options is None else options),
        "CMAKE_INSTALL_PREFIX": str(prefix),
        **toolchain.cmake_definitions(),
        # Kernel registration code is generated at build time by Python scripts
        # that import torchgen: the venv's Python has it.
        "PYTHON_EXECUTABLE": python,
        # XNNPACK would download KleidiAI (its arm64 kernels) without this.
        "KLEIDIAI_SOURCE_DIR": str(source / "third-party" / "kleidiai"),
    }
    return [cmake, "-S", str(source), "-B", str(build_dir), "-G", "Ninja",
            *(f"-D{key}={value}" for key, value in definitions.items())]


def _run_quiet(command: list[str], what: str, cwd: Path | None = None) -> None:
    """Runs a configure or install step; its output is shown only when it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        raise BuildError(f"ExecuTorch's {what} failed (exit {result.returncode}):\n{tail}\n  command: {' '.join(command)}")


def run_ninja_with_progress(build_dir: Path, jobs: int, report_every: float = 30.0) -> int:
    """Builds with Ninja, printing a progress line every 10% or `report_every`
    seconds instead of 1,600 compile lines; on failure, the compiler's output.
    Returns how many steps ran (0: everything was up to date)."""
    command = ["nice", "-n", "10", "ninja", "-C", str(build_dir), f"-j{jobs}"]
    environment = {**os.environ, "NINJA_STATUS": "[%f/%t] ", "CLICOLOR_FORCE": "0"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    assert process.stdout is not None
    recent: collections.deque[str] = collections.deque(maxlen=80)
    started = last_report = time.monotonic()
    last_decile, done, total = -1, 0, 0
    for line in process.stdout:
        recent.append(line.rstrip("\n"))
        status = STATUS_LINE.match(line)
        if not status:
            continue
        done, total = int(status.group(1)), int(status.group(2))
        decile = done * 10 // max(total, 1)
        now = time.monotonic()
        if decile != last_decile or now - last_report >= report_every:
            print(f"  ExecuTorch: {done}/{total} steps ({done * 100 // max(total, 1)}%, {now - started:.0f} s)", flush=True)
            last_decile, last_report = decile, now
    if process.wait() != 0:
        output = "\n".join(recent)
        raise BuildError(f"ExecuTorch's build failed (exit {process.returncode}) at step {done}/{total}; "
                         f"the last lines of its output:\n{output}\n"
                         f"  Run scons again after fixing it: finished steps are reused ({build_dir}).")
    return done


def build_executorch(source: Path, cache: Path, python: str, jobs: int, toolchain: Toolchain | None = None) -> ExecuTorchBuild:
    """Configures (once), builds and installs ExecuTorch from `source` for
    `toolchain`'s architecture (default: this machine's); returns where the
    headers and archives are. The caller holds the build lock."""
    toolchain = toolchain or toolchains.toolchain(toolchains.host_arch(), environ=dict(os.environ))
    cmake = cmake_for(toolchain, cache)
    _tool("ninja", "ninja-build")
    if toolchain.cross:
        _tool(toolchain.cxx, toolchain.compiler_package)
    identity = source_identity(source)
    # What the toolchain adds besides its compilers (whose versions are in the
    # toolchain identity): the target system and flags of a cross build.
    cross = {k: v for k, v in toolchain.cmake_definitions().items() if k not in ("CMAKE_C_COMPILER", "CMAKE_CXX_COMPILER")}
    key = build_key(identity, toolchain_identity(toolchain.cc, toolchain.cxx, cmake), {**CMAKE_OPTIONS, **cross})
    home = cache / f"executorch-build-{key}"
    build_dir, prefix = home / "build", home / "install"
    result = ExecuTorchBuild(prefix, source, identity, read_version(source), toolchain.arch)
    stamp = home / STAMP
    # A pinned tarball never changes: a finished build of it is final. A tree
    # may be edited, so Ninja is asked each time (a second when nothing changed).
    if stamp.is_file() and identity.startswith("tarball") and stamp.read_text(encoding="utf-8") == identity:
        return result
    started = time.monotonic()
    cache_file = build_dir / "CMakeCache.txt"
    if cache_file.is_file() and f"CMAKE_HOME_DIRECTORY:INTERNAL={source}\n" not in cache_file.read_text(encoding="utf-8"):
        # Same source and options, another folder (e.g. another clone's
        # submodule): CMake's tree is tied to the folder it configured.
        print(f"ExecuTorch: {build_dir} was configured for another copy of the source; reconfiguring for {source}.",
              flush=True)
        shutil.rmtree(build_dir)
    if not cache_file.is_file():
        print(f"Configuring ExecuTorch {result.version} ({identity}) in {build_dir}", flush=True)
        build_dir.mkdir(parents=True, exist_ok=True)
        _run_quiet(cmake_arguments(source, build_dir, prefix, python, toolchain, cmake=cmake), "CMake configure")
    print(f"Building ExecuTorch {result.version} from {source} for {toolchain.arch} (static, Release, -j{jobs})", flush=True)
    steps = run_ninja_with_progress(build_dir, jobs)
    _run_quiet([cmake, "--install", str(build_dir), "--prefix", str(prefix)], "install")
    if not (prefix / "lib" / "libexecutorch.a").is_file():
        raise BuildError(f"ExecuTorch's build finished but {prefix / 'lib' / 'libexecutorch.a'} is missing")
    stamp.write_text(identity, encoding="utf-8")
    if steps:
        print(f"ExecuTorch built in {time.monotonic() - started:.0f} s ({steps} steps) into {prefix}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    from tools.executorch_source import SourceError, find_executorch_source
    from tools.godot_build import build_lock, default_jobs
    from tools.godot_source import cache_root

    arguments = sys.argv[1:] if argv is None else argv
    repo_root = Path(__file__).resolve().parent.parent
    try:
        source = find_executorch_source(repo_root, arguments[0] if arguments else "")
        with build_lock(cache_root(), f"`python -m tools.executorch_build` in {repo_root}"):
            built = build_executorch(source, cache_root(), sys.executable, default_jobs())
    except (SourceError, BuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(built.prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
