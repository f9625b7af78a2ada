"""The architectures the engine is built for, and how (tools/toolchains.py),
with what the build checks on the machine for a cross build."""

from __future__ import annotations

import pytest

from tools import build_profiles, godot_build, toolchains
from tools.executorch_build import ExecuTorchBuild


def test_the_host_builds_natively_and_names_its_arch():
    assert toolchains.host_arch("x86_64") == "x86_64" and toolchains.host_arch("aarch64") == "arm64"
    native = toolchains.toolchain("x86_64", "x86_64", {"CC": "clang", "CXX": "clang++"})
    assert not native.cross and (native.cc, native.cxx) == ("clang", "clang++")
    assert native.emulator() == [] and native.pkg_config_libdir() == "" and native.setup_option == ""
    assert native.godot_options() == {"arch": "x86_64"}
    assert native.debian_package("zlib1g-dev") == "zlib1g-dev" and native.compiler_package == "g++"


def test_arm64_from_x86_64_is_a_cross_build():
    arm64 = toolchains.toolchain("arm64", "x86_64", {"CC": "clang"})  # CC is the host's, not the target's
    assert arm64.cross and (arm64.cc, arm64.cxx) == ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++")
    assert arm64.godot_options() == {"arch": "arm64", "CC": "aarch64-linux-gnu-gcc", "CXX": "aarch64-linux-gnu-g++"}
    assert arm64.cmake_definitions() == {"CMAKE_C_COMPILER": "aarch64-linux-gnu-gcc", "CMAKE_CXX_COMPILER": "aarch64-linux-gnu-g++",
                                         "CMAKE_SYSTEM_NAME": "Linux", "CMAKE_SYSTEM_PROCESSOR": "aarch64",
                                         "CMAKE_C_FLAGS": "-fvect-cost-model=very-cheap"}  # GCC 12's ICE on a KleidiAI file
    assert arm64.emulator() == ["qemu-aarch64", "-L", "/"]
    assert arm64.pkg_config_libdir() == "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
    assert arm64.debian_package("zlib1g-dev") == "zlib1g-dev:arm64"
    assert (arm64.compiler_package, arm64.setup_option) == ("g++-aarch64-linux-gnu", "--arm64")
    with pytest.raises(ValueError, match="arch=riscv64 is not one of x86_64, arm64"):
        toolchains.toolchain("riscv64", "x86_64")


def test_binaries_and_templates_carry_the_arch(tmp_path):
    assert godot_build.binary_name("template_release", "", "arm64") == "godot.linuxbsd.template_release.arm64"
    assert godot_build.binary_name("template_release", "full", "arm64") == "godot.linuxbsd.template_release.arm64.full"
    debug, release = tmp_path / "d", tmp_path / "r"
    debug.write_bytes(b"d")
    release.write_bytes(b"r")
    installed = godot_build.install_templates({"template_debug": debug, "template_release": release}, tmp_path / "t", arch="arm64")
    assert sorted(p.name for p in installed.iterdir()) == ["linux_debug.arm64", "linux_release.arm64"]


def test_godot_cross_arguments_see_the_targets_pkg_config(tmp_path):
    arm64 = toolchains.toolchain("arm64", "x86_64")
    resolved = build_profiles.resolve_profile("minimal", build_profiles.SystemProbe())
    args = godot_build.godot_arguments(resolved, "template_release", tmp_path, ExecuTorchBuild(tmp_path, tmp_path, "tree", "1", "arm64"),
                                       "", 2, {}, [], arm64)
    options = dict(a.split("=", 1) for a in args[1:])
    assert options["arch"] == "arm64" and options["CXX"] == "aarch64-linux-gnu-g++"
    assert options["import_env_vars"] == "PKG_CONFIG_LIBDIR"


class CrossProbe(build_profiles.SystemProbe):
    """A machine with the cross compiler and some arm64 libraries (recorded answers)."""

    def __init__(self, installed):
        super().__init__(toolchain=toolchains.toolchain("arm64", "x86_64"))
        self.installed = set(installed)

    def has_tool(self, name):
        return name in {"aarch64-linux-gnu-g++", "pkg-config"}

    def has_debian_package(self, package):
        return package in self.installed

    def compiles(self, source, extra=()):
        return True  # the host's headers in /usr/include answer for every architecture


def test_a_cross_build_asks_dpkg_for_the_targets_libraries():
    probe = CrossProbe({"zlib1g-dev:arm64", "libzstd-dev:arm64"})
    with pytest.raises(build_profiles.BuildError) as raised:
        build_profiles.check_system(build_profiles.PROFILES["minimal"], probe)
    message = str(raised.value)
    assert "missing system packages for profile=minimal: libpng-dev:arm64 libmbedtls-dev:arm64" in message
    assert "(or run ./setup.sh --arm64)" in message
    build_profiles.check_system(build_profiles.PROFILES["minimal"],
                                CrossProbe({"zlib1g-dev:arm64", "libzstd-dev:arm64", "libpng-dev:arm64", "libmbedtls-dev:arm64"}))


def test_a_dev_package_dpkg_cannot_install_twice_is_the_hosts_header_and_the_targets_library():
    # libwslay-dev is not Multi-Arch: same: libwslay-dev:arm64 would remove the host's.
    wslay = next(r for r in build_profiles.FULL_REQUIREMENTS if r.debian_package == "libwslay-dev")
    arm64 = toolchains.toolchain("arm64", "x86_64")
    assert wslay.packages(arm64) == ["libwslay-dev", "libwslay1:arm64"]
    assert wslay.packages(toolchains.toolchain("x86_64", "x86_64")) == ["libwslay-dev"]
    assert not wslay.satisfied(CrossProbe({"libwslay-dev"}))
    assert wslay.satisfied(CrossProbe({"libwslay-dev", "libwslay1:arm64"}))
    shim = next(s for s in build_profiles.PKG_CONFIG_SHIMS if s.name == "libwslay")
    assert "-l:libwslay.so.1" in shim.text()  # the runtime library's name: no libwslay.so link for arm64
