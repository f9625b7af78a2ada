"""How ExecuTorch's CMake build is configured, keyed and reported
(tools/executorch_build.py), without compiling it: a fake `ninja` stands in
where the real build would run for minutes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools import executorch_build, toolchains
from tools.build_profiles import BuildError
from tools.executorch_build import CMAKE_OPTIONS, ExecuTorchBuild, build_key, cmake_arguments, source_identity
from tools.executorch_source import MARKER


def test_cmake_keeps_what_release_would_compile_out(tmp_path):
    arguments = cmake_arguments(tmp_path / "executorch", tmp_path / "build", tmp_path / "install", "/venv/bin/python",
                                toolchains.toolchain("x86_64", "x86_64"))
    for required in ("-DEXECUTORCH_ENABLE_PROGRAM_VERIFICATION=ON", "-DEXECUTORCH_ENABLE_LOGGING=ON",
                     "-DEXECUTORCH_BUILD_EXECUTOR_RUNNER=OFF", "-DBUILD_SHARED_LIBS=OFF", "-DCMAKE_BUILD_TYPE=Release",
                     "-DEXECUTORCH_BUILD_XNNPACK=ON", "-DEXECUTORCH_BUILD_KERNELS_OPTIMIZED=ON",
                     "-DEXECUTORCH_BUILD_KERNELS_QUANTIZED=ON", "-DPYTHON_EXECUTABLE=/venv/bin/python",
                     f"-DKLEIDIAI_SOURCE_DIR={tmp_path / 'executorch' / 'third-party' / 'kleidiai'}",
                     f"-DCMAKE_INSTALL_PREFIX={tmp_path / 'install'}"):
        assert required in arguments, required
    assert arguments[:7] == ["cmake", "-S", str(tmp_path / "executorch"), "-B", str(tmp_path / "build"), "-G", "Ninja"]
    assert "-DCMAKE_CXX_COMPILER=c++" in arguments and not any("CMAKE_SYSTEM_NAME" in a for a in arguments)


def test_a_cross_build_names_the_target_system_and_its_cmake(tmp_path):
    arm64 = toolchains.toolchain("arm64", "x86_64")
    arguments = cmake_arguments(tmp_path / "executorch", tmp_path / "build", tmp_path / "install", "/venv/bin/python",
                                arm64, cmake="/cache/cmake-3.31.10/bin/cmake")
    assert arguments[0] == "/cache/cmake-3.31.10/bin/cmake"
    for required in ("-DCMAKE_SYSTEM_NAME=Linux", "-DCMAKE_SYSTEM_PROCESSOR=aarch64",
                     "-DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc", "-DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++"):
        assert required in arguments, required
    with pytest.raises(BuildError, match=r"needs CMake >= 3.26 at .*cmake-3.31.10/bin/cmake; run ./setup.sh --arm64"):
        executorch_build.cmake_for(arm64, tmp_path)


def test_the_key_follows_source_toolchain_and_options():
    base = build_key("tarball 0702a2d9f719 of cff6f4dd32e6", "gcc 12.2", CMAKE_OPTIONS)
    assert base == build_key("tarball 0702a2d9f719 of cff6f4dd32e6", "gcc 12.2", dict(CMAKE_OPTIONS))
    assert base != build_key("git cff6f4dd32e6", "gcc 12.2", CMAKE_OPTIONS)
    assert base != build_key("tarball 0702a2d9f719 of cff6f4dd32e6", "gcc 13.1", CMAKE_OPTIONS)
    assert base != build_key("tarball 0702a2d9f719 of cff6f4dd32e6", "gcc 12.2",
                             {**CMAKE_OPTIONS, "EXECUTORCH_BUILD_XNNPACK": "OFF"})
    # Local edits of a checkout keep its build folder: Ninja rebuilds what they touched.
    assert build_key("git cff6f4dd32e6 + local changes 1a2b3c4d", "gcc 12.2", CMAKE_OPTIONS) == \
        build_key("git cff6f4dd32e6", "gcc 12.2", CMAKE_OPTIONS)


def test_source_identity_of_a_tarball_a_checkout_and_a_plain_tree(tmp_path):
    unpacked = tmp_path / "executorch-0702a2d9f719"
    (unpacked / "executorch").mkdir(parents=True)
    (unpacked / MARKER).write_text("cff6f4dd32e630945b7188512c1f2b4f102b05ad 0702a2d9f719e70da3\n", encoding="utf-8")
    assert source_identity(unpacked / "executorch") == "tarball 0702a2d9f719 of cff6f4dd32e6"

    checkout = tmp_path / "clone" / "executorch"
    checkout.mkdir(parents=True)
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    (checkout / "version.txt").write_text("1.5.0\n", encoding="utf-8")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "v"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert source_identity(checkout) == f"git {head[:12]}"
    (checkout / "version.txt").write_text("1.5.1\n", encoding="utf-8")
    assert source_identity(checkout).startswith(f"git {head[:12]} + local changes ")

    plain = tmp_path / "plain" / "executorch"
    plain.mkdir(parents=True)
    assert source_identity(plain) == f"tree {plain}"


def test_health_check_names_the_source():
    build = ExecuTorchBuild(Path("/c/install"), Path("/c/executorch"), "tarball 0702a2d9f719 of cff6f4dd32e6", "1.5.0")
    assert build.describe() == "1.5.0 (tarball 0702a2d9f719 of cff6f4dd32e6, static)"
    assert build.include_dir == Path("/c/install/include") and build.lib_dir == Path("/c/install/lib")


def test_fingerprint_changes_with_an_archive(tmp_path):
    (tmp_path / "lib").mkdir()
    archive = tmp_path / "lib" / "libexecutorch.a"
    archive.write_bytes(b"!<arch>\n")
    build = ExecuTorchBuild(tmp_path, tmp_path, "tree", "1.5.0")
    before = build.fingerprint()
    archive.write_bytes(b"!<arch>\nmore")
    assert build.fingerprint() != before


def _fake_ninja(folder: Path, script: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    ninja = folder / "ninja"
    ninja.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    ninja.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_progress_is_shown_by_tenths_not_by_line(tmp_path, monkeypatch, capsys):
    lines = "".join(f'echo "[{n}/200] Building CXX object k{n}.o"\n' for n in range(1, 201))
    monkeypatch.setattr(os, "environ", {**os.environ, **_fake_ninja(tmp_path / "bin", lines)})
    assert executorch_build.run_ninja_with_progress(tmp_path, 2, report_every=3600) == 200
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("  ExecuTorch: 1/200 steps (0%")
    assert shown[-1].startswith("  ExecuTorch: 200/200 steps (100%")
    assert len(shown) == 11  # 0%, 10%, ... 100%


def test_a_failed_step_shows_the_compiler_output(tmp_path, monkeypatch):
    script = 'echo "[1/9] Building CXX object a.o"\necho "a.cpp:3:1: error: expected ;"\nexit 1\n'
    monkeypatch.setattr(os, "environ", {**os.environ, **_fake_ninja(tmp_path / "bin", script)})
    with pytest.raises(BuildError, match=r"(?s)ExecuTorch's build failed \(exit 1\) at step 1/9.*a.cpp:3:1: error: expected ;"):
        executorch_build.run_ninja_with_progress(tmp_path, 2)


def test_a_missing_cmake_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**os.environ, "PATH": str(tmp_path)})
    with pytest.raises(BuildError, match=r"`cmake` is not installed; .*Debian package 'cmake'"):
        executorch_build.build_executorch(tmp_path, tmp_path, "python3", 1)
