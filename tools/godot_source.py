"""Finds Godot 4.6.3's source tree, fetching it once when there is none.

Order of preference:
1. `godot/` in the repository, when it holds a Godot checkout (the git
   submodule, where GitHub is reachable).
2. An unpacked tree in the cache (default ~/.cache/godot-executorch), shared
   by every clone on the machine — CI's fresh clone reuses it.
3. Debian's source archive, which carries upstream 4.6.3-stable as source
   package `godot` 4.6.3+ds-2 (suite sid). The mirror is taken from the
   machine's own apt configuration; apt runs with a private state directory,
   so the machine's apt setup is not changed. The tarball is checked against
   a pinned SHA-256 before it is unpacked.

Run `python -m tools.godot_source` to fetch without building.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

GODOT_VERSION = "4.6.3-stable"
GODOT_UPSTREAM_COMMIT = "7d41c59c4"
DEBIAN_SOURCE_VERSION = "4.6.3+ds-2"
DEBIAN_ORIG_TARBALL = "godot_4.6.3+ds.orig.tar.xz"
DEBIAN_ORIG_SHA256 = "2c7f6b7b2566182869d3f50829b8260179137ff169c34026640f9e8f9c3c0506"
DEBIAN_SUITE = "sid"
MARKER = ".godot-executorch-source"


class SourceError(Exception):
    """Godot's source could not be found or fetched; the message says what to do."""


def cache_root() -> Path:
    configured = os.environ.get("GODOT_EXECUTORCH_CACHE")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "godot-executorch"


def read_version(tree: Path) -> str | None:
    """'4.6.3-stable' from a tree's version.py, or None when it is not Godot."""
    version_file = tree / "version.py"
    if not version_file.is_file():
        return None
    fields = dict(re.findall(r'^(\w+)\s*=\s*"?([^"\n]*)"?\s*$', version_file.read_text(encoding="utf-8"), re.M))
    try:
        return f"{fields['major']}.{fields['minor']}.{fields['patch']}-{fields['status']}"
    except KeyError:
        return None


def _check_version(tree: Path, origin: str) -> Path:
    version = read_version(tree)
    if version != GODOT_VERSION:
        raise SourceError(
            f"{origin} at {tree} is Godot {version or '(unknown version)'}, but this module is built and tested "
            f"against {GODOT_VERSION}. Check out tag {GODOT_VERSION} there, or empty it to use the cached copy."
        )
    return tree


def _debian_mirror() -> str:
    """The first Debian archive URI of the machine's apt configuration (not the security one)."""
    texts: list[str] = []
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) + [Path("/etc/apt/sources.list")]:
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    for text in texts:
        for uri in re.findall(r"^\s*URIs:\s*(\S+)", text, re.M) + re.findall(r"^\s*deb(?:-src)?\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
            if "security" not in uri and uri.rstrip("/").endswith("/debian"):
                return uri
    raise SourceError(
        "No Debian mirror found in /etc/apt/sources.list(.d) to fetch Godot's source from. "
        f"Put a Godot {GODOT_VERSION} checkout in godot/ instead (see README, 'Godot source')."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_apt(args: list[str], cwd: Path) -> None:
    print(f"  $ apt-get {' '.join(a for a in args if not a.startswith('-o'))}", flush=True)
    result = subprocess.run(["apt-get", *args], cwd=cwd, text=True, capture_output=True)
    if result.returncode != 0:
        raise SourceError(
            f"apt-get failed while fetching Godot's source:\n{result.stderr.strip()}\n"
            f"Put a Godot {GODOT_VERSION} checkout in godot/ instead (see README, 'Godot source')."
        )


def _download_tarball(work: Path) -> Path:
    tarball = work / "download" / DEBIAN_ORIG_TARBALL
    if tarball.is_file() and _sha256(tarball) == DEBIAN_ORIG_SHA256:
        return tarball
    if shutil.which("apt-get") is None:
        raise SourceError(f"apt-get is not available to fetch Godot's source; put a {GODOT_VERSION} checkout in godot/.")
    apt_dir = work / "apt"
    for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        (apt_dir / sub).mkdir(parents=True, exist_ok=True)
    (apt_dir / "sources.list.d" / "godot-source.sources").write_text(
        "Types: deb-src\n"
        f"URIs: {_debian_mirror()}\n"
        f"Suites: {DEBIAN_SUITE}\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        encoding="utf-8",
    )
    private = [
        "-oDir::Etc::SourceList=/dev/null",
        f"-oDir::Etc::SourceParts={apt_dir / 'sources.list.d'}",
        f"-oDir::State::Lists={apt_dir / 'lists'}",
        f"-oDir::Cache={apt_dir / 'cache'}",
        "-oAPT::Sandbox::User=root" if os.geteuid() == 0 else "-oAPT::Sandbox::User=_apt",
        "-q",
    ]
    download = tarball.parent
    download.mkdir(parents=True, exist_ok=True)
    print(f"Fetching Godot {GODOT_VERSION} source (Debian source package godot {DEBIAN_SOURCE_VERSION}, 34 MB)...", flush=True)
    _run_apt([*private, "update"], download)
    _run_apt([*private, "source", "--download-only", f"godot={DEBIAN_SOURCE_VERSION}"], download)
    if not tarball.is_file():
        raise SourceError(f"apt-get did not produce {DEBIAN_ORIG_TARBALL}; put a {GODOT_VERSION} checkout in godot/.")
    actual = _sha256(tarball)
    if actual != DEBIAN_ORIG_SHA256:
        raise SourceError(
            f"{tarball} has SHA-256 {actual}, expected {DEBIAN_ORIG_SHA256}; refusing to build from it. "
            "Delete it and retry."
        )
    return tarball


def _unpack(tarball: Path, destination: Path) -> None:
    staging = destination.with_name(destination.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    print(f"Unpacking {tarball.name} into {destination} ...", flush=True)
    with tarfile.open(tarball) as archive:
        members = archive.getmembers()
        step = max(1, len(members) // 10)
        for index, member in enumerate(members):
            archive.extract(member, staging, filter="data")
            if index % step == 0:
                print(f"  {100 * index // len(members)}%", flush=True)
    (top,) = [p for p in staging.iterdir() if p.is_dir()]  # godotengine-godot-7d41c59/
    _check_version(top, "The downloaded source")
    # The +ds tarball drops thirdparty/certs; Godot's build still wants the
    # file to exist when builtin_certs=no (Debian's own package does the same).
    certs = top / "thirdparty" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "ca-bundle.crt").touch()
    (top / MARKER).write_text(f"{GODOT_VERSION} {DEBIAN_ORIG_SHA256}\n", encoding="utf-8")
    top.rename(destination)  # atomic: a half-unpacked tree is never used
    shutil.rmtree(staging)


def ensure_godot_source(repo_root: Path, cache: Path | None = None) -> Path:
    """The Godot source tree to build, fetching it into the cache if needed."""
    submodule = repo_root / "godot"
    if submodule.is_dir() and any(submodule.iterdir()):
        return _check_version(submodule, "godot/")
    cache = cache or cache_root()
    tree = cache / f"godot-{GODOT_VERSION}"
    if (tree / MARKER).is_file():
        return _check_version(tree, "The cached source")
    if tree.exists():
        raise SourceError(f"{tree} exists but was not unpacked by this tool; remove it and run scons again.")
    tree.parent.mkdir(parents=True, exist_ok=True)
    _unpack(_download_tarball(cache / "godot-source-download"), tree)
    return tree


def main() -> int:
    repo_root = Path(__file__).resolve().parent.parent
    try:
        print(ensure_godot_source(repo_root))
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
