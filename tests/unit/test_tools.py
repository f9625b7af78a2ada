"""The build orchestration helpers (tools/), without building anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import build_profiles, godot_build, godot_source
from tools.executorch_build import ExecuTorchBuild


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


class RecordedProbe(build_profiles.SystemProbe):
    """A machine's answers, recorded: which pkg-config modules (with versions),
    headers and tools it has."""

    def __init__(self, packages=None, headers=(), tools=("g++", "pkg-config", "wayland-scanner"), zstd_needs_include=False):
        super().__init__()
        self.packages = packages or {}
        self.headers = set(headers)
        self.tools = set(tools)
        self.zstd_needs_include = zstd_needs_include

    def has_tool(self, name):
        return name in self.tools

    def compiles(self, source, extra=()):
        if "ZSTD_getErrorCode" in source:
            return "zstd.h" in self.headers and (bool(extra) or not self.zstd_needs_include)
        header = source.split("<", 1)[1].split(">", 1)[0]
        return header in self.headers

    def pkg_config(self, name, min_version=""):
        version = self.packages.get(name)
        if version is None:
            return False
        as_tuple = lambda text: tuple(int(part) for part in text.split("."))  # noqa: E731
        return not min_version or as_tuple(version) >= as_tuple(min_version)


BASE_HEADERS = ("zlib.h", "zstd.h", "png.h", "mbedtls/ssl.h")
FULL_PACKAGES = {name: "1.0" for name in (
    "freetype2 libpcre2-8 libpcre2-32 libbrotlicommon libbrotlidec harfbuzz harfbuzz-icu icu-uc icu-i18n graphite2 "
    "ogg vorbis vorbisfile theora theoradec libwebp libenet miniupnpc").split()}
FULL_HEADERS = BASE_HEADERS + ("recastnavigation/Recast.h", "wslay/wslay.h")
# What Debian 12 and 13 offer, as measured (DESIGN.md, "Full builds").
DEBIAN_12 = RecordedProbe({**FULL_PACKAGES, "libturbojpeg": "2.1.5", "openxr": "1.0.20"}, FULL_HEADERS, zstd_needs_include=True)
DEBIAN_13 = RecordedProbe({**FULL_PACKAGES, "libturbojpeg": "2.1.5", "openxr": "1.0.20", "sdl3": "3.2.10"},
                          FULL_HEADERS + ("embree4/rtcore.h",))


def test_full_profile_on_debian_12_turns_off_gamepads_raycast_jpeg_and_openxr():
    resolved = build_profiles.resolve_profile("full", DEBIAN_12)
    assert resolved.options["sdl"] == "no" and "builtin_sdl" not in resolved.options
    assert resolved.options["module_raycast_enabled"] == "no" and "builtin_embree" not in resolved.options
    assert resolved.options["module_jpg_enabled"] == "no" and resolved.options["module_openxr_enabled"] == "no"
    assert resolved.options["builtin_harfbuzz"] == "no" and resolved.options["builtin_icu4c"] == "no"
    report = resolved.report("Debian GNU/Linux 12 (bookworm)")
    assert report.startswith("profile=full on Debian GNU/Linux 12 (bookworm): turned off what this system cannot build:")
    assert "  - gamepads and joysticks (SDL 3 input) (sdl=no): Godot 4.6 reads gamepads" in report
    assert "(module_raycast_enabled=no)" in report and "(module_jpg_enabled=no)" in report
    assert "(module_openxr_enabled=no)" in report
    assert build_profiles.detected_ccflags(DEBIAN_12) == ["-include", "zstd_errors.h"]


def test_full_profile_on_debian_13_keeps_gamepads_and_raycast():
    resolved = build_profiles.resolve_profile("full", DEBIAN_13)
    assert resolved.options["builtin_sdl"] == "no" and "sdl" not in resolved.options
    assert resolved.options["builtin_embree"] == "no" and "module_raycast_enabled" not in resolved.options
    assert [f.when_missing for f in resolved.turned_off] == [{"module_jpg_enabled": "no"}, {"module_openxr_enabled": "no"}]
    assert build_profiles.detected_ccflags(DEBIAN_13) == []


def test_headless_profiles_turn_nothing_off():
    for name in ("minimal", "editor"):
        resolved = build_profiles.resolve_profile(name, DEBIAN_12)
        assert resolved.turned_off == () and resolved.report("x") == ""
        assert resolved.options["x11"] == "no"
    # The export-only editor trades run speed for build time; the runtime the tests measure does not.
    assert build_profiles.PROFILES["editor"].options["optimize"] == "debug"
    assert "optimize" not in build_profiles.PROFILES["minimal"].options


def test_missing_system_package_names_the_fix():
    probe = RecordedProbe({}, ("zlib.h", "png.h", "mbedtls/ssl.h"))
    with pytest.raises(build_profiles.BuildError) as raised:
        build_profiles.check_system(build_profiles.PROFILES["minimal"], probe)
    assert "missing system packages for profile=minimal: libzstd-dev" in str(raised.value)
    assert "apt-get install -y libzstd-dev" in str(raised.value) and "(or run ./setup.sh)" in str(raised.value)
    build_profiles.check_system(build_profiles.PROFILES["full"], DEBIAN_12)  # all there: no error
    no_recast = RecordedProbe(FULL_PACKAGES, BASE_HEADERS + ("wslay/wslay.h",), tools=("g++", "pkg-config"))
    with pytest.raises(build_profiles.BuildError) as raised:
        build_profiles.check_system(build_profiles.PROFILES["full"], no_recast)
    assert "profile=full: libwayland-bin librecast-dev\n" in str(raised.value)
    assert "(or run ./setup.sh --full)" in str(raised.value)


def test_pkg_config_shims_are_written_only_where_missing(tmp_path):
    options = build_profiles.resolve_profile("full", DEBIAN_12).options
    assert build_profiles.write_pkg_config_shims(tmp_path, options, DEBIAN_12) == ["recastnavigation", "libwslay"]
    recast = (tmp_path / "recastnavigation.pc").read_text()
    assert "Cflags: -I/usr/include/recastnavigation\nLibs: -lRecast\n" in recast
    assert "Libs: -l:libwslay.so.1\n" in (tmp_path / "libwslay.pc").read_text()
    # A system that ships recastnavigation.pc gets no shim (and a stale one goes).
    ships_pc = RecordedProbe({**FULL_PACKAGES, "recastnavigation": "1.6"}, FULL_HEADERS)
    assert build_profiles.write_pkg_config_shims(tmp_path, options, ships_pc) == ["libwslay"]
    assert not (tmp_path / "recastnavigation.pc").exists()
    # Headless profiles build neither library.
    assert build_profiles.write_pkg_config_shims(tmp_path / "m", build_profiles.PROFILES["minimal"].options, DEBIAN_12) == []


def test_godot_arguments(tmp_path):
    resolved = build_profiles.resolve_profile("minimal", DEBIAN_12)
    executorch = ExecuTorchBuild(tmp_path / "et", tmp_path / "src" / "executorch", "tarball 0702a2d9f719 of cff6f4dd32e6", "1.5.0")
    args = godot_build.godot_arguments(resolved, "template_debug", tmp_path / "modules", executorch, "/c", 2,
                                       {"ccflags": "-O1", "debug_symbols": "yes", "disable_3d": "no"},
                                       ["-include", "zstd_errors.h"])
    assert args[0] == "-j2"
    options = dict(a.split("=", 1) for a in args[1:])
    assert options["custom_modules"] == str(tmp_path / "modules")
    assert options["module_executorch_enabled"] == "yes"
    assert options["executorch_root"] == str(tmp_path / "et")
    assert options["executorch_version"] == "1.5.0 (tarball 0702a2d9f719 of cff6f4dd32e6, static)"
    assert options["cache_path"] == "/c"
    assert options["ccflags"] == "-include zstd_errors.h -O1"  # detected flags kept, the user's added
    assert options["debug_symbols"] == "yes" and options["disable_3d"] == "no"  # forwarded, and they win
    assert "use_static_cpp" not in options  # Godot's default: libstdc++ linked in, like ExecuTorch
    assert "extra_suffix" not in options


def test_each_profile_keeps_its_objects_and_binaries_apart(tmp_path):
    names = {}
    for profile in build_profiles.PROFILES.values():
        for target in profile.targets:
            args = godot_build.godot_arguments(build_profiles.resolve_profile(profile.name, DEBIAN_12), target,
                                               tmp_path, ExecuTorchBuild(tmp_path, tmp_path, "tree", "1"), "", 1, {}, [])
            suffix = dict(a.split("=", 1) for a in args[1:]).get("extra_suffix", "")
            names[(profile.name, target)] = godot_build.binary_name(target, suffix)
    assert len(set(names.values())) == len(names)
    arch = godot_build.binary_name("editor").rsplit(".", 1)[1]
    assert names[("full", "editor")] == f"godot.linuxbsd.editor.{arch}"  # what a game developer runs
    assert names[("minimal", "template_debug")] == f"godot.linuxbsd.template_debug.{arch}"  # what the tests run
    assert names[("editor", "editor")] == f"godot.linuxbsd.editor.{arch}.headless"
    assert names[("full", "template_release")] == f"godot.linuxbsd.template_release.{arch}.full"


def test_zstd_probe_picks_the_flag_only_when_needed():
    assert build_profiles.detected_ccflags(RecordedProbe({}, BASE_HEADERS)) == []  # Debian 13's zstd
    assert build_profiles.detected_ccflags(RecordedProbe({}, BASE_HEADERS, zstd_needs_include=True)) == ["-include", "zstd_errors.h"]
    with pytest.raises(build_profiles.BuildError, match="install libzstd-dev >= 1.5"):
        build_profiles.detected_ccflags(RecordedProbe({}, ()))


def test_deploy_copies_the_binary_alone(tmp_path):
    godot_dir, bin_dir = tmp_path / "godot", tmp_path / "bin"
    (godot_dir / "bin").mkdir(parents=True)
    name = godot_build.binary_name("template_debug")
    (godot_dir / "bin" / name).write_bytes(b"engine")
    bin_dir.mkdir()
    (bin_dir / "libexecutorch.so").write_bytes(b"left by an engine that linked the wheel")
    godot_build.deploy(godot_dir, name, bin_dir)
    assert [p.name for p in bin_dir.iterdir()] == [name]
    with pytest.raises(build_profiles.BuildError, match="Godot's build did not produce"):
        godot_build.deploy(godot_dir, "godot.missing", bin_dir)


def test_templates_install_where_the_editor_looks(tmp_path):
    debug, release = tmp_path / "d", tmp_path / "r"
    debug.write_bytes(b"debug template")
    release.write_bytes(b"release template")
    installed = godot_build.install_templates({"template_debug": debug, "template_release": release}, tmp_path / "templates")
    arch = godot_build.binary_name("editor").rsplit(".", 1)[1]
    assert sorted(p.name for p in installed.iterdir()) == [f"linux_debug.{arch}", f"linux_release.{arch}"]
    assert (installed / f"linux_release.{arch}").read_bytes() == b"release template"


def test_export_templates_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert godot_build.export_templates_dir() == tmp_path / "godot" / "export_templates" / "4.6.3.stable"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert godot_build.export_templates_dir() == tmp_path / ".local/share/godot/export_templates/4.6.3.stable"


def test_build_lock_makes_a_second_build_wait_and_says_who_holds_it(tmp_path):
    import subprocess
    import sys
    import textwrap
    import time

    waiter = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tools.godot_build import build_lock
        with build_lock(__import__("pathlib").Path({str(tmp_path)!r}), "the second clone"):
            print("SECOND GOT IT", time.monotonic(), flush=True)
    """)
    with godot_build.build_lock(tmp_path, "the first clone"):
        assert "the first clone (pid " in (tmp_path / "build.lock").read_text()
        second = subprocess.Popen([sys.executable, "-c", waiter], stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert second.poll() is None  # still waiting
        released = time.monotonic()
    output, _ = second.communicate(timeout=30)
    assert "it is in use by the first clone (pid " in output
    assert float(output.split("SECOND GOT IT ")[1]) >= released
    assert (tmp_path / "build.lock").read_text() == ""  # released: nobody named


# --- Godot's source from Debian's archive, over recorded apt answers ----------------------

RECORDED = Path(__file__).parent / "recorded"
SID_2026_12_01 = (RECORDED / "apt-cache-showsrc-godot-sid-2026-12-01.txt").read_text()


class RecordedApt:
    """PrivateApt's interface, answering from recordings: suite -> showsrc text,
    or None for a suite whose `apt-get update` fails."""

    mirror = "http://mirror.example/debian"

    def __init__(self, answers, tarball_bytes=None):
        self.answers = answers
        self.tarball_bytes = tarball_bytes
        self.asked = []
        self.downloaded = []
        self.suite = None

    def use_suite(self, suite):
        self.asked.append(suite)
        self.suite = suite
        return "" if self.answers.get(suite) is not None else f"E: The repository '{self.mirror} {suite} Release' does not have a Release file."

    def showsrc(self, package):
        return self.answers.get(self.suite) or ""

    def download_source(self, version, destination):
        self.downloaded.append(version)
        if self.tarball_bytes is not None:
            (destination / godot_source.DEBIAN_ORIG_TARBALL).write_bytes(self.tarball_bytes)
        return ""


def test_the_newest_revision_with_the_pinned_orig_tarball_is_taken():
    # sid listed -2 and -3 on 2026-12-01; both carry the same orig tarball.
    assert godot_source.offered_revisions(SID_2026_12_01) == ["4.6.3+ds-3", "4.6.3+ds-2"]
    # A revision whose orig tarball differs (a new upstream repack) is not taken.
    other_orig = SID_2026_12_01.replace(godot_source.DEBIAN_ORIG_SHA256, "0" * 64, 1)
    assert godot_source.offered_revisions(other_orig) == ["4.6.3+ds-3"]
    # Versions of other upstream releases are ignored.
    assert godot_source.offered_revisions(SID_2026_12_01.replace("4.6.3+ds-", "4.7.0+ds-")) == []
    assert godot_source.compare_debian_revisions("3~bpo13+1", "3") < 0 < godot_source.compare_debian_revisions("10", "9")


def test_fetch_looks_in_every_suite_until_one_offers_the_source(tmp_path, monkeypatch):
    monkeypatch.setattr(godot_source, "_sha256", lambda path: godot_source.DEBIAN_ORIG_SHA256)
    # sid has dropped 4.6.3 (only -2 lived there, now gone); forky's index fails; trixie-backports has -2.
    only_ds2 = SID_2026_12_01.split("\n\n")[0] + "\n"
    apt = RecordedApt({"sid": "Package: godot\nVersion: 4.7.0+ds-1\n", "trixie-backports": only_ds2}, b"tarball")
    tarball = godot_source._download_tarball(tmp_path, apt)
    assert tarball.read_bytes() == b"tarball"
    assert apt.asked == ["sid", "forky", "trixie-backports"]
    assert apt.downloaded == ["4.6.3+ds-2"]


def test_fetch_says_what_to_do_when_no_suite_has_the_source(tmp_path):
    apt = RecordedApt({"sid": "Package: godot\nVersion: 4.7.0+ds-1\n", "experimental": ""})
    with pytest.raises(godot_source.SourceError) as raised:
        godot_source._download_tarball(tmp_path, apt)
    message = str(raised.value)
    assert message.startswith("No suite of the Debian archive at http://mirror.example/debian offers Godot 4.6.3-stable's source")
    assert "sid: no godot 4.6.3+ds-N with that orig tarball" in message
    assert "forky: apt-get update failed: E: The repository" in message
    assert "godot_source=PATH" in message and "git clone --depth 1 --branch 4.6.3-stable" in message
    assert apt.asked == list(godot_source.DEBIAN_SUITES)


def test_a_tarball_with_the_wrong_checksum_is_refused_and_removed(tmp_path):
    apt = RecordedApt({"sid": SID_2026_12_01}, b"not the tarball")
    with pytest.raises(godot_source.SourceError, match="has SHA-256 .* expected 2c7f6b7b.*refusing to build from it"):
        godot_source._download_tarball(tmp_path, apt)
    assert apt.downloaded == ["4.6.3+ds-3"]
    assert not (tmp_path / "download" / godot_source.DEBIAN_ORIG_TARBALL).exists()


@pytest.mark.parametrize(
    "name, recipe",
    [
        ("linear", ("linear", "portable", None)),
        ("mlp_xnnpack", ("mlp", "xnnpack", None)),
        ("mlp_int8", ("mlp", "xnnpack", "int8")),
        ("mlp_int8_static", ("mlp", "xnnpack", "int8-static")),
        ("cnn_int8_static", ("cnn", "xnnpack", "int8-static")),
        ("cnn", ("cnn", "portable", None)),
    ],
)
def test_fuzz_seed_names_choose_model_backend_and_quantization(name, recipe):
    from tools.fuzz_pte import seed_recipe

    assert seed_recipe(name) == recipe


def test_fuzz_seed_name_that_is_no_model_says_how_to_name_one():
    from tools.fuzz_pte import FuzzError, seed_recipe

    with pytest.raises(FuzzError, match="optionally with _xnnpack, _int8, _int8_static"):
        seed_recipe("resnet_int8")


def test_godot_builds_without_colours_so_ci_and_terminals_share_objects(monkeypatch, tmp_path):
    """Godot's SCons puts -f(no-)diagnostics-color on every compile command by CI= and
    the terminal; NO_COLOR keeps the command lines, so the object cache, the same."""
    seen = {}

    def fake_run(command, cwd, env):
        seen.update(env)

        class Done:
            returncode = 0

        return Done()

    monkeypatch.setattr(godot_build.subprocess, "run", fake_run)
    monkeypatch.setenv("CI", "true")
    godot_build.run_godot_scons(tmp_path, ["platform=linuxbsd"])
    assert seen["NO_COLOR"] == "1"
