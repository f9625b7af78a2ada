"""Benchmark: what the .pte pre-validator costs at load, on the linear model and
on a ~105 MB program, measured in one run.

    .venv/bin/python benchmarks/bench_load_checks.py [--godot bin/godot.linuxbsd.template_debug.x86_64] [--rounds 200]

Each round loads both programs (read into memory; see bench_load_memory.py for
what that costs against memory-mapping) and reads the engine's own monitors: the whole load and the checks'
share of it. The baseline is the load without the checks (load - check), from the
same calls; the ratio is (load) / (load - check). Prints the median and the
fastest of each. Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))

from model_tools import export_model  # noqa: E402
from tools.godot_project import bench_parser, create_project, run_bench_script  # noqa: E402


def main() -> int:
    parser = bench_parser(__doc__, rounds=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        project = create_project(Path(work), (HERE / "bench_load_checks.gd",))
        export_model("linear", project / "linear.pte")
        print("exporting the ~105 MB model ...", flush=True)
        subprocess.run([sys.executable, "-m", "model_tools", "export", "--module", f"{HERE / 'big_model.py'}:make",
                        "--out", str(project / "big.pte")], check=True, cwd=REPO_ROOT, capture_output=True)
        result = run_bench_script(args.godot, project, "res://bench_load_checks.gd", str(args.rounds),
                                  "res://linear.pte", "res://big.pte")
    print(f"Loading .pte programs, {args.rounds} rounds (both programs each round):")
    print(f"  {'program':12s} {'file MB':>8s} {'load ms (median / fastest)':>28s} {'checks ms':>18s} {'load / (load - checks)':>24s}")
    for path, data in result.items():
        loads, checks = data["load_ms"], data["check_ms"]
        ratios = [load / max(load - check, 1e-9) for load, check in zip(loads, checks)]
        print(f"  {Path(path).name:12s} {data['file_mb']:8.1f} {statistics.median(loads):14.3f} / {min(loads):.3f}"
              f" {statistics.median(checks):9.4f} / {min(checks):.4f} {statistics.median(ratios):18.3f}x median"
              + ("  (memory-mapped)" if data["mapped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
