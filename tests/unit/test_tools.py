"""The build orchestration helpers (tools/), without building anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import godot_build, godot_source


def _fake_godot(tree: Path, patch: int = 3) -> Path:
    tree.mkdir(parents=True)
    (tree / "version.py").write_text(
        f'short_name = "godot"\nmajor = 4\nminor = 6\npatch = {patch}\nstatus = "stable"\nmodule_config = ""\n'
    )
    return tree


def test_reads_godot_version(tmp_path):
    assert godot_source.read_version(_fake_godot(tmp_path / "g")) == "4.6.3-stable"
    assert godot_source.read_version(tmp_path) is None


def test_a_populated_godot_dir_is_used_and_checked(tmp_path):
    repo = tmp_path / "repo"
    _fake_godot(repo / "godot")
    assert godot_source.ensure_godot_source(repo, tmp_path / "cache") == repo / "godot"
    other = tmp_path / "other"
    _fake_godot(other / "godot", patch=1)
    with pytest.raises(godot_source.SourceError, match=r"godot/ at .* is Godot 4\.6\.1-stable, but this module is built"):
        godot_source.ensure_godot_source(other, tmp_path / "cache")


def test_the_cached_tree_needs_the_marker(tmp_path):
    cache = tmp_path / "cache"
    _fake_godot(cache / "godot-4.6.3-stable")
    with pytest.raises(godot_source.SourceError, match="was not unpacked by this tool; remove it"):
        godot_source.ensure_godot_source(tmp_path / "repo", cache)
    (cache / "godot-4.6.3-stable" / godot_source.MARKER).write_text("4.6.3-stable\n")
    assert godot_source.ensure_godot_source(tmp_path / "repo", cache) == cache / "godot-4.6.3-stable"


def test_godot_arguments(tmp_path, monkeypatch):
    monkeypatch.setattr(godot_build, "detected_ccflags", lambda: ["-include", "zstd_errors.h"])
    args = godot_build.godot_arguments("minimal", "template_debug", tmp_path / "modules", tmp_path / "et", "/c", 2,
                                       {"ccflags": "-O1", "debug_symbols": "yes", "disable_3d": "no"})
    assert args[0] == "-j2"
    options = dict(a.split("=", 1) for a in args[1:])
    assert options["custom_modules"] == str(tmp_path / "modules")
    assert options["module_executorch_enabled"] == "yes"
    assert options["executorch_root"] == str(tmp_path / "et")
    assert options["cache_path"] == "/c"
    assert options["ccflags"] == "-include zstd_errors.h -O1"  # detected flags kept, the user's added
    assert options["debug_symbols"] == "yes" and options["disable_3d"] == "no"  # forwarded, and they win
    assert options["use_static_cpp"] == "no"


def test_missing_system_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(godot_build, "_compiles", lambda source, extra=None: "zstd.h" not in source)
    with pytest.raises(godot_build.BuildError) as raised:
        godot_build.check_system("minimal")
    assert "missing system packages: libzstd-dev" in str(raised.value)
    assert "apt-get install -y libzstd-dev" in str(raised.value)


def test_zstd_probe_picks_the_flag_only_when_needed(monkeypatch):
    monkeypatch.setattr(godot_build, "_compiles", lambda source, extra=None: True)
    assert godot_build.detected_ccflags() == []  # Debian 13's zstd
    monkeypatch.setattr(godot_build, "_compiles", lambda source, extra=None: bool(extra))
    assert godot_build.detected_ccflags() == ["-include", "zstd_errors.h"]  # Debian 12's zstd


def test_executorch_root_is_checked(tmp_path):
    with pytest.raises(godot_build.BuildError, match="has no ExecuTorch C\\+\\+ headers and libraries"):
        godot_build.executorch_root(str(tmp_path))
    assert (godot_build.executorch_root() / "lib" / "libexecutorch.so").is_file()


def test_deploy_copies_the_spec_libraries_and_names_a_missing_one(tmp_path):
    godot_dir, et_root, bin_dir = tmp_path / "godot", tmp_path / "et", tmp_path / "bin"
    (godot_dir / "bin").mkdir(parents=True)
    (godot_dir / "bin" / godot_build.binary_name("template_debug")).write_bytes(b"engine")
    (et_root / "lib").mkdir(parents=True)
    (et_root / "lib" / "libexecutorch.so").write_bytes(b"runtime")
    godot_build.deploy(godot_dir, "template_debug", et_root, bin_dir, ("executorch",))
    assert (bin_dir / "libexecutorch.so").read_bytes() == b"runtime"
    with pytest.raises(godot_build.BuildError, match="libexecutorch_missing.so is missing: module_spec.yaml's link_libraries"):
        godot_build.deploy(godot_dir, "template_debug", et_root, bin_dir, ("executorch", "executorch_missing"))
