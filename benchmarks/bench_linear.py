"""Benchmark: run_inference on the linear model from GDScript vs ExecuTorch's
Python runtime on the same .pte, measured in one run, printed as a ratio.

    .venv/bin/python benchmarks/bench_linear.py [--godot bin/godot.linuxbsd.template_debug.x86_64]

Not a test: it asserts nothing about speed (the machines are noisy); it prints
medians and ratios for the issue notes. The same engine script measured 1.2 us
in one process and 2.1 us in the next here, so the Python runtime and the
engine are measured --repeats times, alternating, and the fastest run of each
is compared (noise only ever adds time).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from model_tools import export_model  # noqa: E402
from model_tools.pte_runtime import benchmark, load_method  # noqa: E402
from tools.godot_project import bench_parser, create_project, run_bench_script  # noqa: E402


def main() -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--iterations", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory() as work:
        project = Path(work)
        here = Path(__file__).parent
        create_project(project, (here / "bench_run_inference.gd", here / "bench_timing.gd"))
        pte = export_model("linear", project / "linear.pte")

        pythons, engines = [], []
        for _ in range(args.repeats):
            pythons.append(benchmark(load_method(pte), [torch.tensor([2.5])], args.iterations, warmup=1000))
            engines.append(run_bench_script(args.godot, project, "res://bench_run_inference.gd", timeout=600))
        python = min(pythons, key=lambda run: run["median_us"])
        engine = min(engines, key=lambda run: run["run_inference_packed_us"])

    print(f"linear model (y = 2x + 3), median per call over {args.iterations} calls, fastest of {args.repeats} runs each:")
    print(f"  ExecuTorch Python runtime (method.execute):        {python['median_us']:8.2f} us")
    print(f"  GDScript run_inference, Array input:               {engine['run_inference_array_us']:8.2f} us")
    print(f"  GDScript run_inference, PackedFloat32Array input:  {engine['run_inference_packed_us']:8.2f} us")
    print(f"  GDScript no-op bound call (floor):                 {engine['bound_call_floor_us']:8.2f} us")
    print(f"  ExecuTorch execute inside the module (last call):  {engine['execute_only_last_ms'] * 1000:8.2f} us")
    print(f"  ratio Python runtime / GDScript run_inference (Array):  {python['median_us'] / engine['run_inference_array_us']:.2f}x")
    print(f"  ratio Python runtime / GDScript run_inference (packed): {python['median_us'] / engine['run_inference_packed_us']:.2f}x")
    print(f"  (all runs: Python {[round(run['median_us'], 2) for run in pythons]} us,"
          f" GDScript packed {[run['run_inference_packed_us'] for run in engines]} us)")
    print(json.dumps({"python": python, "godot": engine}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
