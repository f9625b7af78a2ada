"""Many agents per frame: the trained steering policy (16-64-64-4) for 1,000 agents
in one batched execute against 1,000 single calls, rounds alternating in one run;
then run_inference_async's cost to the main thread per request and the longest
frame while 100 requests are in flight.

    .venv/bin/python benchmarks/bench_agents.py [--godot bin/godot...] [--rounds 30] [--agents 1000]
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
    parser = bench_parser(__doc__, rounds=30)
    parser.add_argument("--agents", type=int, default=1000)
    args = parser.parse_args()
    from model_tools.training import train_and_export_policy

    with tempfile.TemporaryDirectory() as work:
        project = create_project(Path(work) / "project", (HERE / "bench_agents.gd", HERE / "bench_timing.gd"))
        train_and_export_policy(project / "policy.pte", log=lambda _: None)
        result = run_bench_script(args.godot, project, "res://bench_agents.gd", "policy.pte", str(args.agents), str(args.rounds))
    batched, single, ratio = result["batched_us"], result["single_us"], result["single_over_batched"]
    print(f"{result['agents']} agents, policy 16-64-64-4 (XNNPACK), {result['rounds']} alternating rounds; "
          f"per frame, observations packed and actions read back")
    print(f"   {'':32s} {'fastest':>10s} {'median':>10s}")
    print(f"   {'one batched execute':32s} {batched['min'] / 1000:7.3f} ms {batched['median'] / 1000:7.3f} ms")
    print(f"   {'one execute per agent':32s} {single['min'] / 1000:7.3f} ms {single['median'] / 1000:7.3f} ms")
    print(f"   single / batched, median of per-round ratios: {ratio['median']:.0f}x [{ratio['q1']:.0f}x, {ratio['q3']:.0f}x]")
    print(f"run_inference_async: {result['async_us_per_request']:.2f} µs of the main thread per request; "
          f"{result['async_in_flight']} in flight: longest frame {result['async_longest_frame_ms']:.2f} ms over "
          f"{result['async_frames']} frames, all delivered in {result['async_all_done_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
