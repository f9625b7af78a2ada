"""What each build profile compiles, and what the build machine can offer it.

A profile is a set of Godot options plus the system packages they need:

- `minimal`: the headless engine of the tests, CI and the demo (GDScript and
  this module; no display, audio or 3D). Targets template_debug/template_release.
- `editor`: a headless editor (text server, SVG, regex): the test command uses
  it to export games, and its `--doctool` writes the class reference.
- `full`: what a game developer builds, the GUI editor and export templates with
  X11/Wayland, Vulkan/OpenGL, audio, 3D, physics, navigation and every default
  module that builds from Debian's `+ds` source against the system libraries.
  Features the system cannot build are turned off, each with its reason.

Godot's source comes from Debian's `+ds` tarball, which drops the bundled
copies of two dozen libraries, so the full profile links the system's instead,
as Debian's own `debian/rules` does. The questions asked of the machine go
through `SystemProbe`, so the choices are unit-tested over recorded answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tools.toolchains import ARCHITECTURES, Toolchain, host_arch


class BuildError(Exception):
    """The build cannot go on; the message names the problem and the fix."""


# --- asking the machine --------------------------------------------------------------


class SystemProbe:
    """Answers questions about the build machine (configure-style probes), for
    the target architecture of `toolchain` (default: this machine's)."""

    def __init__(self, pkg_config_path: str = "", toolchain: Toolchain | None = None) -> None:
        self.pkg_config_path = pkg_config_path  # prepended to PKG_CONFIG_PATH, for our .pc shims
        # Godot's own default compiler when building for this machine.
        self.toolchain = toolchain or Toolchain(host_arch(), ARCHITECTURES.get(host_arch(), host_arch()), False, "gcc", "g++")

    def has_tool(self, name: str) -> bool:
        return shutil.which(name) is not None

    def compiles(self, source: str, extra: tuple[str, ...] = ()) -> bool:
        """Whether the system C++ compiler accepts `source`."""
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "probe.cpp"
            path.write_text(source, encoding="utf-8")
            result = subprocess.run([self.toolchain.cxx, "-fsyntax-only", *extra, str(path)], capture_output=True, text=True)
            return result.returncode == 0

    def pkg_config(self, name: str, min_version: str = "") -> bool:
        """Whether pkg-config knows `name` (at `min_version` or newer)."""
        if not self.has_tool("pkg-config"):
            return False
        check = [f"--atleast-version={min_version}"] if min_version else ["--exists"]
        environment = dict(os.environ)
        if self.pkg_config_path:
            environment["PKG_CONFIG_PATH"] = os.pathsep.join(p for p in (self.pkg_config_path, os.environ.get("PKG_CONFIG_PATH", "")) if p)
        if self.toolchain.pkg_config_libdir():
            environment["PKG_CONFIG_LIBDIR"] = self.toolchain.pkg_config_libdir()  # the target's .pc files only
        return subprocess.run(["pkg-config", *check, name], env=environment, capture_output=True).returncode == 0

    def has_debian_package(self, package: str) -> bool:
        """Whether dpkg has `package` (e.g. zlib1g-dev:arm64) installed."""
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        return result.returncode == 0 and "install ok installed" in result.stdout

    def distribution(self) -> str:
        """'Debian GNU/Linux 12 (bookworm)', for messages only."""
        try:
            for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        return "this system"


@dataclass(frozen=True)
class Requirement:
    """A system package a profile needs, and how to tell it is installed."""

    debian_package: str
    pkg_config: str = ""  # asked of pkg-config when set
    header: str = ""  # else a header that must compile (no .pc file ships)
    tool: str = ""  # else a program on PATH
    # For a -dev package dpkg cannot install beside the host's (not Multi-Arch:
    # same): the target's runtime library package. A cross build then takes the
    # header from the host's -dev package and links the target's library by its
    # file name (the shim's Libs below).
    cross_runtime_package: str = ""

    def satisfied(self, probe: SystemProbe) -> bool:
        if self.tool == COMPILER:
            return probe.has_tool(probe.toolchain.cxx)
        if self.tool:
            return probe.has_tool(self.tool)
        if probe.toolchain.cross and not all(probe.has_debian_package(p) for p in self.packages(probe.toolchain)):
            # The headers in /usr/include are the host package's too; only dpkg
            # knows whether the target's library is there.
            return False
        if self.pkg_config:
            return all(probe.pkg_config(name) for name in self.pkg_config.split())
        return probe.compiles(f"#include <{self.header}>\n")


    def packages(self, toolchain: Toolchain) -> list[str]:
        """The Debian packages to install: the toolchain's compiler, a tool of this
        machine, or a library of the target's architecture (zlib1g-dev:arm64;
        libwslay-dev and libwslay1:arm64 where the -dev package is not multiarch)."""
        if self.tool == COMPILER:
            return [toolchain.compiler_package]
        if self.tool:
            return [self.debian_package]
        if toolchain.cross and self.cross_runtime_package:
            return [self.debian_package, toolchain.debian_package(self.cross_runtime_package)]
        return [toolchain.debian_package(self.debian_package)]


COMPILER = "g++"  # Requirement.tool of the C++ compiler: the toolchain's (g++, aarch64-linux-gnu-g++)

# Every profile: the compiler, and the system copies of what the +ds tarball drops.
BASE_REQUIREMENTS = (
    Requirement("g++", tool=COMPILER),
    Requirement("pkg-config", tool="pkg-config"),
    Requirement("zlib1g-dev", header="zlib.h"),
    Requirement("libzstd-dev", header="zstd.h"),
    Requirement("libpng-dev", header="png.h"),
    Requirement("libmbedtls-dev", header="mbedtls/ssl.h"),
)
# freetype's and pcre2's headers need -I or defines to compile alone: ask pkg-config.
EDITOR_REQUIREMENTS = (
    Requirement("libfreetype-dev", pkg_config="freetype2"),
    Requirement("libpcre2-dev", pkg_config="libpcre2-8 libpcre2-32"),
)
FULL_REQUIREMENTS = EDITOR_REQUIREMENTS + (
    Requirement("libwayland-bin", tool="wayland-scanner"),
    Requirement("libbrotli-dev", pkg_config="libbrotlicommon libbrotlidec"),
    Requirement("libharfbuzz-dev", pkg_config="harfbuzz harfbuzz-icu"),
    Requirement("libicu-dev", pkg_config="icu-uc icu-i18n"),
    Requirement("libgraphite2-dev", pkg_config="graphite2"),
    Requirement("libogg-dev", pkg_config="ogg"),
    Requirement("libvorbis-dev", pkg_config="vorbis vorbisfile"),
    Requirement("libtheora-dev", pkg_config="theora theoradec"),
    Requirement("libwebp-dev", pkg_config="libwebp"),
    Requirement("libenet-dev", pkg_config="libenet"),
    Requirement("libminiupnpc-dev", pkg_config="miniupnpc"),
    # Debian ships these two without a .pc file; the build writes one (below).
    Requirement("librecast-dev", header="recastnavigation/Recast.h"),
    # libwslay-dev is not Multi-Arch: same (libwslay-dev:arm64 conflicts with the host's).
    Requirement("libwslay-dev", header="wslay/wslay.h", cross_runtime_package="libwslay1"),
)


# --- the .pc files Debian does not ship -------------------------------------------------


@dataclass(frozen=True)
class PkgConfigShim:
    """A pkg-config file Godot asks for that a Debian -dev package lacks."""

    name: str
    option: str  # the Godot option that makes the build ask for it (set to "no")
    header: str  # proves the package is installed
    cflags: str
    libs: str

    def text(self) -> str:
        return (
            f"# Written by godot-executorch's build: Debian's package ships no {self.name}.pc.\n"
            f"Name: {self.name}\nDescription: {self.name} (system library)\nVersion: 0\n"
            f"Cflags: {self.cflags}\nLibs: {self.libs}\n"
        )


PKG_CONFIG_SHIMS = (
    PkgConfigShim("recastnavigation", "builtin_recastnavigation", "recastnavigation/Recast.h",
                  "-I/usr/include/recastnavigation", "-lRecast"),
    # By the runtime library's file name: a cross build has the target's libwslay1
    # but not its -dev package's libwslay.so link (see FULL_REQUIREMENTS).
    PkgConfigShim("libwslay", "builtin_wslay", "wslay/wslay.h", "", "-l:libwslay.so.1"),
)


def write_pkg_config_shims(directory: Path, options: dict[str, str], probe: SystemProbe) -> list[str]:
    """Writes the .pc files a build with `options` asks for and the system
    lacks into `directory`; returns their names.

    `probe` must ask the system's own pkg-config path (not `directory`): a shim
    is written only where pkg-config does not know the library already (a later
    Debian may ship the file) and the library's header is installed.
    """
    written = []
    for shim in PKG_CONFIG_SHIMS:
        if options.get(shim.option) != "no":
            continue
        target = directory / f"{shim.name}.pc"
        if probe.pkg_config(shim.name) or not probe.compiles(f"#include <{shim.header}>\n"):
            target.unlink(missing_ok=True)
            continue
        if not target.is_file() or target.read_text(encoding="utf-8") != shim.text():
            directory.mkdir(parents=True, exist_ok=True)
            target.write_text(shim.text(), encoding="utf-8")
        written.append(shim.name)
    return written


# --- features a system may lack -----------------------------------------------------------


@dataclass(frozen=True)
class OptionalFeature:
    """A part of the full build that needs a system library not every Debian has."""

    what: str  # what a player or developer loses without it
    available: Callable[[SystemProbe], bool]
    when_available: dict[str, str]
    when_missing: dict[str, str]
    why_missing: str  # a sentence: what it needs, what the system has


OPTIONAL_FEATURES = (
    OptionalFeature(
        "gamepads and joysticks (SDL 3 input)",
        lambda probe: probe.pkg_config("sdl3", "3.2"),
        {"builtin_sdl": "no"},
        {"sdl": "no"},
        "Godot 4.6 reads gamepads on Linux only through SDL 3 (>= 3.2, package libsdl3-dev, Debian 13 and later); "
        "the +ds source has no bundled copy",
    ),
    OptionalFeature(
        "occlusion culling and the raycast module (Embree 4)",
        lambda probe: probe.compiles("#include <embree4/rtcore.h>\n"),
        {"builtin_embree": "no"},
        # builtin_embree stays at its default: =no would link -lembree4 even with the module off.
        {"module_raycast_enabled": "no"},
        "modules/raycast needs Embree 4 (package libembree-dev on Debian 13; Debian 12's is Embree 3)",
    ),
    OptionalFeature(
        "JPEG image import and loading (modules/jpg)",
        lambda probe: probe.pkg_config("libturbojpeg", "3.0"),
        {"builtin_libjpeg_turbo": "no"},
        {"module_jpg_enabled": "no"},
        "modules/jpg needs libjpeg-turbo >= 3.0 (its tj3 API); Debian 12 and 13 ship 2.1, and the +ds source has "
        "no bundled copy. PNG and WebP images still work",
    ),
    OptionalFeature(
        "OpenXR (VR and AR headsets)",
        lambda probe: probe.pkg_config("openxr", "1.1.54"),
        {"builtin_openxr": "no"},
        {"module_openxr_enabled": "no"},
        "Godot 4.6 needs the OpenXR loader >= 1.1.54; Debian 12 and 13 ship 1.0.x",
    ),
)


# --- profiles -----------------------------------------------------------------------------


# No display, audio, input devices or system services: the headless profiles.
_HEADLESS = {
    "x11": "no", "wayland": "no", "vulkan": "no", "opengl3": "no", "alsa": "no", "pulseaudio": "no",
    "dbus": "no", "speechd": "no", "fontconfig": "no", "udev": "no", "sdl": "no", "accesskit": "no",
    "libdecor": "no", "modules_enabled_by_default": "no", "module_gdscript_enabled": "yes",
    "module_mbedtls_enabled": "yes", "minizip": "no", "brotli": "no",
}

# Debian's debian/rules: the system's copy of every library the +ds tarball drops
# (zlib, zstd, libpng, mbedtls and certs are set for every profile).
_SYSTEM_LIBRARIES = {
    f"builtin_{name}": "no"
    for name in ("brotli", "enet", "freetype", "graphite", "harfbuzz", "icu4c", "libogg", "libtheora",
                 "libvorbis", "libwebp", "miniupnpc", "pcre2", "recastnavigation", "wslay")
}


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str  # for `scons --help`
    targets: tuple[str, ...]
    options: dict[str, str]
    requirements: tuple[Requirement, ...]
    optional_features: tuple[OptionalFeature, ...] = ()
    # Binary suffix per target (Godot's extra_suffix). Each target's plain Godot
    # name goes to the profile it is mostly built for: the templates to
    # `minimal` (tests, CI), the editor to `full` (game developers).
    suffixes: dict[str, str] = field(default_factory=dict)

    def suffix(self, target: str) -> str:
        return self.suffixes.get(target, "")


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "minimal",
            "headless engine with GDScript + executorch (tests, CI, demo; ~9 min cold)",
            ("template_debug", "template_release"),
            {
                **_HEADLESS,
                "disable_3d": "yes", "disable_advanced_gui": "yes", "disable_physics_2d": "yes",
                "disable_physics_3d": "yes", "disable_navigation_2d": "yes", "disable_navigation_3d": "yes",
                "disable_xr": "yes", "disable_path_overrides": "no",
            },
            BASE_REQUIREMENTS,
        ),
        Profile(
            "editor",
            "headless editor with text server, SVG and regex: exports games, --doctool (-Og; ~15-25 min cold)",
            ("editor",),
            {
                **_HEADLESS,
                "module_svg_enabled": "yes", "module_freetype_enabled": "yes", "module_regex_enabled": "yes",
                "module_text_server_fb_enabled": "yes", "builtin_freetype": "no", "builtin_pcre2": "no",
                # -Og, not Godot's -O2: this editor only exports games and writes the class
                # reference, neither of which needs speed, and it is the longest build of a
                # cold CI run. (`scons ... optimize=speed_trace` restores -O2.)
                "optimize": "debug",
            },
            BASE_REQUIREMENTS + EDITOR_REQUIREMENTS,
            suffixes={"editor": "headless"},
        ),
        Profile(
            "full",
            "GUI editor and export templates: X11/Wayland, Vulkan/OpenGL, audio, 3D, every default module "
            "(editor ~25 min, each template ~16 min cold; ./setup.sh --full installs its packages)",
            ("editor", "template_debug", "template_release"),
            _SYSTEM_LIBRARIES,
            BASE_REQUIREMENTS + FULL_REQUIREMENTS,
            OPTIONAL_FEATURES,
            suffixes={"template_debug": "full", "template_release": "full"},
        ),
    )
}


@dataclass(frozen=True)
class ResolvedProfile:
    """A profile's Godot options on this machine, and what it had to turn off."""

    profile: Profile
    options: dict[str, str]
    turned_off: tuple[OptionalFeature, ...]

    def report(self, distribution: str) -> str:
        """What the build prints about the features it left out ('' when none)."""
        if not self.turned_off:
            return ""
        lines = [f"profile={self.profile.name} on {distribution}: turned off what this system cannot build:"]
        for feature in self.turned_off:
            switches = " ".join(f"{k}={v}" for k, v in feature.when_missing.items())
            lines.append(f"  - {feature.what} ({switches}): {feature.why_missing}.")
        return "\n".join(lines)


def resolve_profile(name: str, probe: SystemProbe) -> ResolvedProfile:
    profile = PROFILES[name]
    options = dict(profile.options)
    turned_off = []
    for feature in profile.optional_features:
        if feature.available(probe):
            options.update(feature.when_available)
        else:
            options.update(feature.when_missing)
            turned_off.append(feature)
    return ResolvedProfile(profile, options, tuple(turned_off))


def check_system(profile: Profile, probe: SystemProbe) -> None:
    """Fails with the apt-get command to run when a tool or -dev package is missing."""
    toolchain = probe.toolchain
    tools_missing = [p for r in profile.requirements if r.tool in (COMPILER, "pkg-config") and not r.satisfied(probe)
                     for p in r.packages(toolchain)]
    if tools_missing:  # without them nothing else can be asked
        missing = tools_missing
    else:
        missing = [p for r in profile.requirements if not r.satisfied(probe) for p in r.packages(toolchain)]
    if missing:
        options = (["--full"] if profile.name == "full" else []) + ([toolchain.setup_option] if toolchain.setup_option else [])
        setup = " ".join(["./setup.sh", *options])
        raise BuildError(
            f"missing system packages for profile={profile.name}: " + " ".join(missing)
            + f"\n  install them with: sudo apt-get install -y {' '.join(missing)}   (or run {setup})"
        )


def detected_ccflags(probe: SystemProbe) -> list[str]:
    """Compiler flags that depend on the machine's library versions.

    Debian 12's zstd 1.5.4 declares ZSTD_getErrorCode only in zstd_errors.h,
    which Godot does not include; Debian 13's zstd 1.5.7 declares it through
    zstd.h. Probe instead of guessing from the distribution.
    """
    source = "#include <zstd.h>\nint f() { return (int)ZSTD_getErrorCode(0); }\n"
    if probe.compiles(source):
        return []
    if probe.compiles(source, ("-include", "zstd_errors.h")):
        return ["-include", "zstd_errors.h"]
    raise BuildError("zstd.h does not declare ZSTD_getErrorCode even with zstd_errors.h; install libzstd-dev >= 1.5")
