"""The machines the engine is built for, and how to build for each from this
one (issue "A second platform: games for Linux arm64").

A Toolchain says, for one target architecture: Godot's name for it, the
compilers, whether they cross-compile, the Debian packages that provide them
and the target's libraries (Debian multiarch: arm64 copies beside the host's),
where pkg-config finds those libraries, the CMake definitions that make
ExecuTorch's build cross-compile, and how a binary of that architecture runs
here (natively, or under qemu-user).

Plain data and pure functions: tools/build_profiles.py, tools/godot_build.py
and tools/executorch_build.py ask it; tests/unit/test_toolchains.py checks it.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Toolchain:
    arch: str  # Godot's name: x86_64, arm64 (binaries: godot.linuxbsd.<target>.<arch>)
    gnu: str  # the GNU triplet's machine: x86_64, aarch64
    cross: bool  # the compilers make binaries this machine does not run natively
    cc: str
    cxx: str

    @property
    def triplet(self) -> str:
        return f"{self.gnu}-linux-gnu"

    @property
    def debian_arch(self) -> str:
        return {"x86_64": "amd64", "aarch64": "arm64"}[self.gnu]

    @property
    def compiler_package(self) -> str:
        """The Debian package of the C++ compiler."""
        return f"g++-{self.triplet}" if self.cross else "g++"

    @property
    def setup_option(self) -> str:
        """What makes ./setup.sh install this toolchain's packages ("" for the host's)."""
        return f"--{self.arch}" if self.cross else ""

    def debian_package(self, library_package: str) -> str:
        """A -dev package of the target's architecture: zlib1g-dev:arm64 when cross-compiling."""
        return f"{library_package}:{self.debian_arch}" if self.cross else library_package

    def pkg_config_libdir(self) -> str:
        """PKG_CONFIG_LIBDIR for the target's .pc files ("" = pkg-config's own, the host's)."""
        if not self.cross:
            return ""
        return f"/usr/lib/{self.triplet}/pkgconfig:/usr/share/pkgconfig"

    def godot_options(self) -> dict[str, str]:
        """Godot's SCons options (its detect.py has no prefix option, so CC/CXX name the cross compilers)."""
        options = {"arch": self.arch}
        if self.cross:
            options.update(CC=self.cc, CXX=self.cxx)
        return options

    def cmake_definitions(self) -> dict[str, str]:
        """-D definitions for ExecuTorch's CMake: the compilers and, when cross-compiling, the target system."""
        definitions = {"CMAKE_C_COMPILER": self.cc, "CMAKE_CXX_COMPILER": self.cxx}
        if self.cross:
            definitions.update(CMAKE_SYSTEM_NAME="Linux", CMAKE_SYSTEM_PROCESSOR=self.gnu)
        if self.gnu == "aarch64":
            # GCC 12's aarch64 vectorizer crashes at -O3 (internal compiler error in
            # vect_transform_reduction) on KleidiAI's kai_lhs_quant_pack_qai8dxp_bf16_neon.c;
            # -O2's "very cheap" cost model compiles it (measured 2026-12-03).
            definitions["CMAKE_C_FLAGS"] = "-fvect-cost-model=very-cheap"
        return definitions

    def emulator(self) -> list[str]:
        """The command prefix that runs this architecture's binaries here ([] = natively)."""
        if not self.cross:
            return []
        # The root (/) as the target's library prefix, not the cross compiler's
        # /usr/<triplet>: the game links the multiarch libraries (libpng16, libzstd,
        # ... in /lib/<triplet>), and with -L /usr/<triplet> the loader and libc
        # came from the cross package (glibc 2.36-8cross1) while ld.so.cache gave
        # the multiarch libc (2.36-9+deb12u14). Their private _rtld_global layouts
        # differ by 8 bytes, so the first pthread_create walked a list that never
        # ends: the game spun at 100% CPU before its banner (measured 2026-12-03).
        # Under / the loader, libc and every library are the multiarch set.
        return [f"qemu-{self.gnu}", "-L", "/"]


# Godot's arch names this project builds, with their GNU machine names.
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
_MACHINE_TO_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def host_arch(machine: str | None = None) -> str:
    """Godot's name for this machine's architecture."""
    machine = (machine or platform.machine()).lower()
    return _MACHINE_TO_ARCH.get(machine, machine)


def toolchain(arch: str, host: str | None = None, environ: dict[str, str] | None = None) -> Toolchain:
    """The toolchain that builds for `arch` on `host` (default: this machine).
    For the host's own architecture, CC and CXX from the environment win."""
    host = host or host_arch()
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch={arch} is not one of {', '.join(ARCHITECTURES)}")
    gnu = ARCHITECTURES[arch]
    if arch == host:
        environ = environ or {}
        return Toolchain(arch, gnu, False, environ.get("CC", "cc"), environ.get("CXX", "c++"))
    return Toolchain(arch, gnu, True, f"{gnu}-linux-gnu-gcc", f"{gnu}-linux-gnu-g++")
