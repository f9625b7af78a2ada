"""Writes rendered files into a module directory, touching only what changed.

SCons decides what to recompile from file contents and timestamps, so an
unchanged file is never rewritten. A manifest (`.generated-files`) records
what the generator wrote, so a file that a spec edit no longer produces is
removed — and nothing else in the directory (Godot's object files live there
too) is ever touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.render import RenderedFile

MANIFEST = ".generated-files"


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def _encoded(content: str) -> bytes:
    # LF endings whatever the platform; UTF-8 without BOM.
    return content.replace("\r\n", "\n").encode("utf-8")


def previous_outputs(out_dir: Path) -> list[str]:
    """The files the last sync into `out_dir` wrote (its manifest), or []."""
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return []
    return [line for line in manifest.read_text(encoding="utf-8").splitlines() if line]


def plan_sync(files: list[RenderedFile], out_dir: Path) -> SyncReport:
    """What `sync` would do, without doing it (this is `--check`)."""
    report = SyncReport()
    for rendered in files:
        target = out_dir / rendered.relative_path
        if target.is_file() and target.read_bytes() == _encoded(rendered.content):
            report.unchanged.append(rendered.relative_path)
        else:
            report.written.append(rendered.relative_path)
    wanted = {f.relative_path for f in files}
    report.removed = sorted(p for p in previous_outputs(out_dir) if p not in wanted and (out_dir / p).exists())
    manifest_text = "".join(f"{p}\n" for p in sorted(wanted))
    manifest = out_dir / MANIFEST
    if not manifest.is_file() or manifest.read_text(encoding="utf-8") != manifest_text:
        report.written.append(MANIFEST)
    return report


def sync(files: list[RenderedFile], out_dir: Path) -> SyncReport:
    """Makes `out_dir` hold exactly `files` (plus whatever else was there)."""
    report = plan_sync(files, out_dir)
    by_path = {f.relative_path: f for f in files}
    by_path[MANIFEST] = RenderedFile(MANIFEST, "".join(f"{p}\n" for p in sorted(by_path)))
    for relative in report.written:
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(_encoded(by_path[relative].content))
        temporary.replace(target)  # atomic: a reader never sees half a file
    for relative in report.removed:
        (out_dir / relative).unlink()
    return report
