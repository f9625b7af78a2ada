"""Finds Godot 4.6.3's source tree, fetching it once when there is none.

Order of preference:
1. `godot/` in the repository, when it holds a Godot checkout (the git
   submodule, where GitHub is reachable).
2. An unpacked tree in the cache (default ~/.cache/godot-executorch), shared
   by every clone on the machine — CI's fresh clone reuses it.
3. Debian's source archive, which carries upstream 4.6.3-stable as source
   package `godot` 4.6.3+ds-N. Debian revises its packaging (-2, -3, ...) and
   drops old revisions from sid, so no revision is pinned: the build takes the
   newest 4.6.3+ds-N the first suite offers whose orig tarball has the pinned
   SHA-256 (the upstream source is the same for every revision). The mirror is
   taken from the machine's own apt configuration; apt runs with a private
   state directory, so the machine's apt setup is not changed.

Run `python -m tools.godot_source` to fetch without building.
"""

from __future__ import annotations

import functools
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
DEBIAN_UPSTREAM_VERSION = "4.6.3+ds"  # any Debian revision of it: 4.6.3+ds-2, -3, ...
DEBIAN_ORIG_TARBALL = "godot_4.6.3+ds.orig.tar.xz"
DEBIAN_ORIG_SHA256 = "2c7f6b7b2566182869d3f50829b8260179137ff169c34026640f9e8f9c3c0506"
# Suites that may carry Godot 4.6.3, in the order they are asked: unstable first
# (new uploads), then testing and the backports, whose copies outlive sid's.
DEBIAN_SUITES = ("sid", "forky", "trixie-backports", "experimental")
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


def _debian_parts(text: str) -> list[tuple[list[int], int]]:
    """dpkg's view of a version string: (non-digit run, digit run) pairs, the
    non-digits as sort weights ('~' before the end, letters before symbols)."""
    weight = lambda c: -1 if c == "~" else ord(c) if c.isalpha() else ord(c) + 256  # noqa: E731
    return [([weight(c) for c in letters] + [0], int(digits or 0)) for letters, digits in re.findall(r"(\D*)(\d*)", text)
            if letters or digits]


def compare_debian_revisions(a: str, b: str) -> int:
    """-1, 0 or 1 as dpkg orders Debian revisions: "2" < "2+b1" < "3", "3~bpo13+1" < "3"."""
    left, right = _debian_parts(a), _debian_parts(b)
    empty = ([0], 0)
    for x, y in zip(left + [empty] * (len(right) - len(left)), right + [empty] * (len(left) - len(right))):
        if x != y:
            return -1 if x < y else 1
    return 0


def offered_revisions(showsrc: str) -> list[str]:
    """The versions of `godot` 4.6.3+ds-N in `apt-cache showsrc godot` output
    whose orig tarball is the pinned one, newest first."""
    offered = []
    for stanza in re.split(r"\n\s*\n", showsrc):
        version = re.search(r"^Version:\s*(\S+)", stanza, re.M)
        if not version or not version.group(1).startswith(DEBIAN_UPSTREAM_VERSION + "-"):
            continue
        checksums = re.search(r"^Checksums-Sha256:\n((?:[ \t].*\n?)+)", stanza, re.M)
        listed = dict((name, digest) for digest, _, name in
                      (line.split() for line in (checksums.group(1).splitlines() if checksums else []) if len(line.split()) == 3))
        if listed.get(DEBIAN_ORIG_TARBALL) == DEBIAN_ORIG_SHA256:
            offered.append(version.group(1))
    revision = lambda version: version[len(DEBIAN_UPSTREAM_VERSION) + 1:]  # noqa: E731
    return sorted(set(offered), key=functools.cmp_to_key(lambda a, b: compare_debian_revisions(revision(a), revision(b))),
                  reverse=True)


class PrivateApt:
    """apt-get and apt-cache with a private state directory and one deb-src
    entry, so the machine's own apt setup is neither used for lists nor changed."""

    def __init__(self, work: Path, mirror: str) -> None:
        self.work = work
        self.mirror = mirror
        self.apt_dir = work / "apt"

    def _options(self) -> list[str]:
        return [
            "-oDir::Etc::SourceList=/dev/null",
            f"-oDir::Etc::SourceParts={self.apt_dir / 'sources.list.d'}",
            f"-oDir::State::Lists={self.apt_dir / 'lists'}",
            f"-oDir::Cache={self.apt_dir / 'cache'}",
            "-oAPT::Sandbox::User=root" if os.geteuid() == 0 else "-oAPT::Sandbox::User=_apt",
            # Frozen or slow mirrors serve indexes past their Valid-Until; the
            # tarball itself is checked against a pinned SHA-256.
            "-oAcquire::Check-Valid-Until=false",
            "-q",
        ]

    def _run(self, tool: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([tool, *self._options(), *args], cwd=cwd, text=True, capture_output=True)

    def use_suite(self, suite: str) -> str:
        """Points apt at `suite` and updates its index; returns '' or apt's error."""
        for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
            (self.apt_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.apt_dir / "sources.list.d" / "godot-source.sources").write_text(
            f"Types: deb-src\nURIs: {self.mirror}\nSuites: {suite}\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            encoding="utf-8",
        )
        print(f"  $ apt-get update  (deb-src {suite})", flush=True)
        result = self._run("apt-get", ["update"], self.work)
        failed = result.returncode != 0 or re.search(r"^(E|Err):", result.stdout + result.stderr, re.M)
        return (result.stderr.strip() or result.stdout.strip() or "apt-get update failed") if failed else ""

    def showsrc(self, package: str) -> str:
        result = self._run("apt-cache", ["showsrc", package], self.work)
        return result.stdout if result.returncode == 0 else ""

    def download_source(self, version: str, destination: Path) -> str:
        """Downloads source package godot=`version` into `destination`; returns '' or apt's error."""
        print(f"  $ apt-get source --download-only godot={version}", flush=True)
        result = self._run("apt-get", ["source", "--download-only", f"godot={version}"], destination)
        return "" if result.returncode == 0 else result.stderr.strip()


def _no_source_error(mirror: str, tried: list[str]) -> SourceError:
    return SourceError(
        f"No suite of the Debian archive at {mirror} offers Godot {GODOT_VERSION}'s source "
        f"(godot {DEBIAN_UPSTREAM_VERSION}-N with orig tarball SHA-256 {DEBIAN_ORIG_SHA256[:16]}...):\n  "
        + "\n  ".join(tried)
        + f"\nPut a Godot {GODOT_VERSION} checkout in godot/ (git clone --depth 1 --branch {GODOT_VERSION} "
        "https://github.com/godotengine/godot.git godot), or pass godot_source=PATH to scons (a Godot "
        f"{GODOT_VERSION} tree); see README, 'Godot source'."
    )


def _download_tarball(work: Path, apt: PrivateApt | None = None) -> Path:
    tarball = work / "download" / DEBIAN_ORIG_TARBALL
    if tarball.is_file() and _sha256(tarball) == DEBIAN_ORIG_SHA256:
        return tarball
    if apt is None:
        if shutil.which("apt-get") is None:
            raise SourceError(f"apt-get is not available to fetch Godot's source; put a {GODOT_VERSION} checkout in godot/ "
                              "or pass godot_source=PATH.")
        apt = PrivateApt(work, _debian_mirror())
    download = tarball.parent
    download.mkdir(parents=True, exist_ok=True)
    print(f"Fetching Godot {GODOT_VERSION} source (Debian source package godot {DEBIAN_UPSTREAM_VERSION}-N, 34 MB)...", flush=True)
    tried = []
    for suite in DEBIAN_SUITES:
        error = apt.use_suite(suite)
        if error:
            tried.append(f"{suite}: apt-get update failed: {error.splitlines()[-1]}")
            continue
        revisions = offered_revisions(apt.showsrc("godot"))
        if not revisions:
            tried.append(f"{suite}: no godot {DEBIAN_UPSTREAM_VERSION}-N with that orig tarball")
            continue
        for revision in revisions:  # newest first; the archive may index a revision its pool lacks
            error = apt.download_source(revision, download)
            if not error:
                print(f"  took godot {revision} from {suite}", flush=True)
                break
            print(f"  godot {revision} from {suite} failed: {error.splitlines()[-1]}", flush=True)
            tried.append(f"{suite}: apt-get source godot={revision} failed: {error.splitlines()[-1]}")
        if tarball.is_file():
            break
    if not tarball.is_file():
        raise _no_source_error(apt.mirror, tried)
    actual = _sha256(tarball)
    if actual != DEBIAN_ORIG_SHA256:
        tarball.unlink()
        raise SourceError(
            f"{tarball.name} has SHA-256 {actual}, expected {DEBIAN_ORIG_SHA256}; refusing to build from it "
            "(deleted). Retry, or put a Godot checkout in godot/."
        )
    return tarball


def extract_with_progress(tarball: Path, staging: Path, shown_as: Path) -> None:
    """Unpacks `tarball` into a fresh `staging` folder (tar's "data" filter: no
    links or paths out of it), printing progress in tenths; `shown_as` is where
    the tree will end up."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    print(f"Unpacking {tarball.name} into {shown_as} ...", flush=True)
    with tarfile.open(tarball) as archive:
        members = archive.getmembers()
        step = max(1, len(members) // 10)
        for index, member in enumerate(members):
            archive.extract(member, staging, filter="data")
            if index % step == 0:
                print(f"  {100 * index // len(members)}%", flush=True)


def _unpack(tarball: Path, destination: Path) -> None:
    staging = destination.with_name(destination.name + ".partial")
    extract_with_progress(tarball, staging, destination)
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
