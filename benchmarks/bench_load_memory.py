"""Benchmark: what reading programs into memory costs against memory-mapping them,
on the ~105 MB program, an engine against a baseline engine, interleaved in one run.

    .venv/bin/python benchmarks/bench_load_memory.py --baseline OLD_ENGINE [--godot NEW_ENGINE] [--rounds 7]

Until 2026-12-03 a plain .pte on disk was memory-mapped when hot reload was off
(release builds): loading cost almost nothing and only the pages a call touched
became resident, but a file rewritten or truncated while loaded crashed the next
call. Now every program is read into memory, except a file on a read-only
filesystem. Each round loads big.pte (an embedding table of 25,600 x 1,024
float32 of which a call reads 4 rows) once with each engine, the order
alternating, with hot reload off (as in release builds), and reads the load time
and the growth of the resident set after the load and after one call. As root,
the engine under test also loads the same file from a read-only tmpfs, which it
still maps. Prints the median and fastest per engine and the median of the
per-round ratios. Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))

from tools.godot_project import bench_parser, create_project, run_bench_script  # noqa: E402

METRICS = (("load_ms", "load ms"), ("rss_growth_mb", "RSS growth after load, MB"), ("rss_growth_after_run_mb", "after one call, MB"))


def _read_only_copy(source: Path, mount_point: Path) -> Path | None:
    """`source` on a tmpfs remounted read-only, or None when mounting is not allowed."""
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount_point)], capture_output=True).returncode != 0:
        return None
    shutil.copy(source, mount_point / source.name)
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
    return mount_point / source.name


def main() -> int:
    parser = bench_parser(__doc__, rounds=7)
    parser.add_argument("--baseline", type=Path, required=True, help="the engine to compare against (e.g. a build of the previous commit)")
    args = parser.parse_args()
    engines = {"baseline": args.baseline, "this": args.godot}
    rows: dict[str, list[dict]] = {name: [] for name in engines}
    read_only_rows: list[dict] = []
    with tempfile.TemporaryDirectory() as work:
        project = create_project(Path(work) / "project", (HERE / "bench_load.gd",))
        # Hot reload off, as in release builds: the baseline then maps plain files.
        (project / "project.godot").write_text("config_version=5\n\n[executorch]\n\nhot_reload/enabled=false\n")
        print("exporting the ~105 MB model ...", flush=True)
        subprocess.run([sys.executable, "-m", "model_tools", "export", "--module", f"{HERE / 'big_model.py'}:make",
                        "--out", str(project / "big.pte")], check=True, cwd=REPO_ROOT, capture_output=True)
        read_only = _read_only_copy(project / "big.pte", Path(work) / "ro")
        try:
            for round_index in range(args.rounds):
                order = list(engines) if round_index % 2 == 0 else list(reversed(engines))
                for name in order:
                    rows[name].append(run_bench_script(engines[name], project, "res://bench_load.gd", "res://big.pte"))
                if read_only:
                    read_only_rows.append(run_bench_script(args.godot, project, "res://bench_load.gd", str(read_only)))
        finally:
            if read_only:
                subprocess.run(["umount", str(read_only.parent)], capture_output=True)
    file_mb = rows["this"][0]["file_mb"]
    print(f"\nLoading a {file_mb:.0f} MB program, {args.rounds} interleaved rounds (median / fastest):")
    print(f"  {'engine':34s}" + "".join(f"{label:>30s}" for _, label in METRICS) + "  mapped")
    table = {"baseline (plain file)": rows["baseline"], "this (plain file)": rows["this"]}
    if read_only_rows:
        table["this (read-only filesystem)"] = read_only_rows
    for label, runs in table.items():
        cells = "".join(f"{statistics.median(r[key] for r in runs):18.1f} / {min(r[key] for r in runs):9.1f}" for key, _ in METRICS)
        print(f"  {label:34s}{cells}  {sorted({r['memory_mapped'] for r in runs})}")
    print("\n  this / baseline, median of per-round ratios:")
    for key, label in METRICS:
        ratios = [new[key] / old[key] if old[key] > 0.05 else float("nan") for new, old in zip(rows["this"], rows["baseline"])]
        difference = statistics.median(new[key] - old[key] for new, old in zip(rows["this"], rows["baseline"]))
        print(f"    {label:30s} {statistics.median(ratios):8.2f}x   (median difference {difference:+.1f})")
    if not all(r["ok"] for runs in table.values() for r in runs):
        print("a load or call failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
