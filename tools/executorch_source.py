"""Finds ExecuTorch's source tree for the static build (issue "ExecuTorch built
from source"), unpacking a tarball of it once when that is what is given.

Order of preference:
1. `executorch_source=PATH`, when given: an ExecuTorch tree (its top folder must
   be named `executorch`: its CMake expects that) or a `.tar.xz` holding one,
   which must have the pinned SHA-256 and is unpacked once into the cache
   (`~/.cache/godot-executorch/executorch-<hash>/executorch`), shared by every clone.
2. `executorch/` in the repository: the git submodule at the pinned commit,
   checked out recursively where GitHub is reachable
   (`git submodule update --init --recursive`).
3. The pinned tarball's tree unpacked into the cache by an earlier build (of
   any clone): a fresh clone on a machine that built before needs no option.
4. Nothing: the build stops and says both ways to provide it.

Run `python -m tools.executorch_source [PATH]` to resolve (and unpack) without building.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tools.godot_source import _sha256, cache_root, extract_with_progress

EXECUTORCH_COMMIT = "cff6f4dd32e630945b7188512c1f2b4f102b05ad"
"""pytorch/executorch main of 2026-08-22 (version.txt 1.5.0): what the submodule pins."""
TARBALL_SHA256 = "0702a2d9f719e70da322790b9793f6e444a90f539643fbe29860cdcae8b4066b"
"""executorch-cff6f4dd-src.tar.xz: that commit with every third-party tree a CPU build needs."""
MARKER = ".godot-executorch-source"
# Files every ExecuTorch tree of this era has: how a folder is told from another project's.
SIGNATURE = ("CMakeLists.txt", "version.txt", "runtime/executor/program.h", "extension/module/module.h")


class SourceError(Exception):
    """ExecuTorch's source could not be found or unpacked; the message says what to do."""


def how_to_provide() -> str:
    return (
        "ExecuTorch's source is needed to build it into the engine. Either run "
        "`git submodule update --init --recursive` (where GitHub is reachable: executorch/ at "
        f"{EXECUTORCH_COMMIT[:12]}), or pass executorch_source=PATH with an ExecuTorch tree or the "
        f"executorch-{EXECUTORCH_COMMIT[:8]}-src.tar.xz tarball (SHA-256 {TARBALL_SHA256[:12]}...)."
    )


def check_tree(tree: Path, origin: str) -> Path:
    """`tree` if it looks like ExecuTorch's source, else a SourceError naming what is missing."""
    missing = [name for name in SIGNATURE if not (tree / name).is_file()]
    if missing:
        raise SourceError(f"{origin} ({tree}) is not an ExecuTorch source tree: it has no {', '.join(missing)}. {how_to_provide()}")
    if tree.name != "executorch":
        raise SourceError(f"{origin} ({tree}) is an ExecuTorch tree, but its folder must be named 'executorch' "
                          "(ExecuTorch's CMake includes its headers as <executorch/...> from the parent folder).")
    return tree


def unpack_tarball(tarball: Path, cache: Path) -> Path:
    """The tree inside `tarball`, unpacked once into the cache after its SHA-256 is checked."""
    digest = _sha256(tarball)
    if digest != TARBALL_SHA256:
        raise SourceError(f"{tarball} has SHA-256 {digest}, not the pinned {TARBALL_SHA256} of ExecuTorch at "
                          f"{EXECUTORCH_COMMIT[:12]}; pass that tarball, or a tree, as executorch_source=.")
    home = cache / f"executorch-{digest[:12]}"
    tree = home / "executorch"
    if (home / MARKER).is_file():
        return check_tree(tree, "The cached ExecuTorch source")
    staging = cache / f"executorch-{digest[:12]}.partial"
    extract_with_progress(tarball, staging, home)
    check_tree(staging / "executorch", f"The tarball {tarball.name}")
    (staging / MARKER).write_text(f"{EXECUTORCH_COMMIT} {digest}\n", encoding="utf-8")
    if home.exists():
        shutil.rmtree(home)  # a tree this tool did not finish
    staging.rename(home)  # atomic: a half-unpacked tree is never used
    return tree


def find_executorch_source(repo_root: Path, explicit: str = "", cache: Path | None = None) -> Path:
    """The ExecuTorch source tree to build from (see the module docstring for the order)."""
    if explicit:
        given = Path(explicit).expanduser()
        if given.is_dir():
            return check_tree(given.resolve(), "executorch_source")
        if given.is_file() and given.name.endswith(".tar.xz"):
            return unpack_tarball(given, cache or cache_root())
        raise SourceError(f"executorch_source={explicit} is neither a folder nor a .tar.xz file. {how_to_provide()}")
    submodule = repo_root / "executorch"
    if submodule.is_dir() and any(submodule.iterdir()):
        return check_tree(submodule, "executorch/ (the git submodule)")
    unpacked = (cache or cache_root()) / f"executorch-{TARBALL_SHA256[:12]}"
    if (unpacked / MARKER).is_file():
        return check_tree(unpacked / "executorch", "The ExecuTorch source unpacked in the cache")
    raise SourceError(how_to_provide())


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    repo_root = Path(__file__).resolve().parent.parent
    try:
        print(find_executorch_source(repo_root, arguments[0] if arguments else ""))
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
