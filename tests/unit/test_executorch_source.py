"""Where ExecuTorch's source comes from (tools/executorch_source.py), over fake
trees: executorch_source= (a tree, or a tarball checked against the pinned
SHA-256 and unpacked once), the executorch/ submodule, or a message that says
both ways to provide it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tools import executorch_source as source


def fake_tree(parent: Path, name: str = "executorch") -> Path:
    tree = parent / name
    for relative in source.SIGNATURE:
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text("x\n")
    return tree


def fake_tarball(tmp_path: Path, monkeypatch) -> Path:
    tree = fake_tree(tmp_path / "src")
    tarball = tmp_path / "executorch-cff6f4dd-src.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(tree, arcname="executorch")
    monkeypatch.setattr(source, "TARBALL_SHA256", source._sha256(tarball))
    return tarball


def test_nothing_given_names_both_ways(tmp_path):
    with pytest.raises(source.SourceError) as error:
        source.find_executorch_source(tmp_path / "repo", "", tmp_path / "cache")
    assert "git submodule update --init --recursive" in str(error.value)
    assert "executorch_source=PATH" in str(error.value)


def test_the_submodule_is_used_when_populated(tmp_path):
    repo = tmp_path / "repo"
    tree = fake_tree(repo)
    assert source.find_executorch_source(repo, "", tmp_path / "cache") == tree


def test_an_empty_submodule_folder_is_not_a_source(tmp_path):
    (tmp_path / "repo" / "executorch").mkdir(parents=True)
    with pytest.raises(source.SourceError, match="git submodule update"):
        source.find_executorch_source(tmp_path / "repo", "", tmp_path / "cache")


def test_an_explicit_tree_wins_over_the_submodule(tmp_path):
    repo = tmp_path / "repo"
    fake_tree(repo)
    other = fake_tree(tmp_path / "elsewhere")
    assert source.find_executorch_source(repo, str(other), tmp_path / "cache") == other


def test_a_tree_that_is_not_executorch_says_what_it_lacks(tmp_path):
    (tmp_path / "executorch").mkdir()
    with pytest.raises(source.SourceError, match=r"has no CMakeLists.txt, version.txt, runtime/executor/program.h"):
        source.find_executorch_source(tmp_path, str(tmp_path / "executorch"), tmp_path / "cache")


def test_the_tree_must_be_named_executorch(tmp_path):
    tree = fake_tree(tmp_path, "executorch-main")
    with pytest.raises(source.SourceError, match="must be named 'executorch'"):
        source.find_executorch_source(tmp_path, str(tree), tmp_path / "cache")


def test_a_tarball_is_checked_and_unpacked_once(tmp_path, monkeypatch, capsys):
    tarball = fake_tarball(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    tree = source.find_executorch_source(tmp_path / "repo", str(tarball), cache)
    assert tree.name == "executorch" and (tree / "version.txt").is_file()
    assert "Unpacking" in capsys.readouterr().out
    assert source.find_executorch_source(tmp_path / "repo", str(tarball), cache) == tree
    assert "Unpacking" not in capsys.readouterr().out  # the second time comes from the cache


def test_a_tarball_with_another_hash_is_refused(tmp_path, monkeypatch):
    tarball = fake_tarball(tmp_path, monkeypatch)
    monkeypatch.setattr(source, "TARBALL_SHA256", "0" * 64)
    with pytest.raises(source.SourceError, match="not the pinned"):
        source.find_executorch_source(tmp_path / "repo", str(tarball), tmp_path / "cache")


def test_something_else_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(source.SourceError, match="neither a folder nor a .tar.xz"):
        source.find_executorch_source(tmp_path, str(tmp_path / "notes.txt"), tmp_path / "cache")


@pytest.mark.skipif(not (Path(__file__).resolve().parents[3] / "shared" / "third_party"
                         / "executorch-cff6f4dd-src.tar.xz").is_file(), reason="the shared tarball is not here")
def test_the_pinned_hash_is_the_shared_tarballs():
    shared = Path(__file__).resolve().parents[3] / "shared" / "third_party" / "executorch-cff6f4dd-src.tar.xz"
    assert source._sha256(shared) == source.TARBALL_SHA256


def test_a_tree_unpacked_before_serves_a_clone_given_nothing(tmp_path, monkeypatch):
    tarball = fake_tarball(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    tree = source.find_executorch_source(tmp_path / "repo", str(tarball), cache)
    assert source.find_executorch_source(tmp_path / "fresh-clone", "", cache) == tree
    # The submodule, when populated, still comes first.
    submodule = fake_tree(tmp_path / "other-clone", "executorch")
    assert source.find_executorch_source(tmp_path / "other-clone", "", cache) == submodule
