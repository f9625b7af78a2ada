"""A 224x224 RGBA8 frame to a normalized float32 NCHW tensor: native
ExecuTorchTensor.from_image against the same conversion in GDScript, rounds
alternating in one run; fastest and median per frame, and the ratio.

    .venv/bin/python benchmarks/bench_image.py [--godot bin/godot...] [--rounds 15]
Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tools.godot_project import bench_parser, create_project, run_bench_script  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> int:
    args = bench_parser(__doc__, rounds=15).parse_args()
    with tempfile.TemporaryDirectory() as work:
        project = create_project(Path(work) / "project", (HERE / "bench_image.gd", HERE / "bench_timing.gd"))
        result = run_bench_script(args.godot, project, "res://bench_image.gd", str(args.rounds), "50")
    native, gdscript, ratio = result["native_ms"], result["gdscript_ms"], result["gdscript_over_native"]
    print(f"224x224 RGBA8 -> float32 [1, 3, 224, 224], normalized; {result['rounds']} alternating rounds"
          f" (native: batches of {result['calls_per_batch']}); the paths differ by at most {result['largest_difference']:.2g}")
    print(f"   {'':28s} {'fastest':>10s} {'median':>10s}")
    print(f"   {'from_image (native)':28s} {native['min']:8.3f} ms {native['median']:8.3f} ms")
    print(f"   {'the same loop in GDScript':28s} {gdscript['min']:8.3f} ms {gdscript['median']:8.3f} ms")
    print(f"   GDScript / native, median of per-round ratios: {ratio['median']:.0f}x [{ratio['q1']:.0f}x, {ratio['q3']:.0f}x]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
