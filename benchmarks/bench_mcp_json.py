"""Benchmark: what the MCP JSON path costs in-process, for a one-float output
and a 4096-float output, measured in one run.

    .venv/bin/python benchmarks/bench_mcp_json.py [--godot bin/godot.linuxbsd.template_debug.x86_64] [--rounds 40]

For each model, ExecuTorchMCPServer.handle_message (parse the JSON-RPC request,
dispatch, write the response, in 2025 and 2026-07-28 form) runs interleaved,
round by round, with call_tool: the same tool call with no JSON, the baseline.
Prints the median and fastest batch of each and the median of the per-round
ratios to the baseline. Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))

from model_tools import export_model  # noqa: E402
from tools.godot_project import bench_parser, create_project, run_bench_script  # noqa: E402

WIDE_OUTPUTS = 4096


def main() -> int:
    parser = bench_parser(__doc__, rounds=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        project = create_project(Path(work), (HERE / "bench_mcp_json.gd",))
        export_model("linear", project / "linear.pte")
        torch.manual_seed(0)  # the same weights, so the same response text, every run
        export_model(nn.Linear(1, WIDE_OUTPUTS), project / "wide.pte", example_inputs=(torch.tensor([2.5]),))
        # Batches sized so that each takes ~1 ms or more: the clock ticks in whole microseconds.
        result = run_bench_script(args.godot, project, "res://bench_mcp_json.gd", str(args.rounds), "200", "res://linear.pte")
        result.update(run_bench_script(args.godot, project, "res://bench_mcp_json.gd", str(args.rounds), "5", "res://wide.pte"))
    print(f"MCP JSON path in-process, {args.rounds} rounds, interleaved (us per call):")
    print(f"  {'model (response chars)':28s} {'path':22s} {'median':>9s} {'fastest batch':>14s} {'ratio to call_tool':>19s}")
    for model, data in result.items():
        samples = data["samples"]
        base = samples["call_tool"]
        for path, times in samples.items():
            ratio = statistics.median(t / b for t, b in zip(times, base))
            label = f"{model} ({data['response_chars']})"
            print(f"  {label:28s} {path:22s} {statistics.median(times):9.1f} {min(times):14.1f} {ratio:19.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
