"""int8 against float32, ExecuTorch in the engine against ONNX Runtime: per-call time of
the MLP 256-1024-1024-10 and of the trained digits CNN, rounds interleaved in one run.

    .venv/bin/python benchmarks/bench_int8.py [--godot bin/godot...] [--rounds 15] [--calls 200]

Our side: `ExecuTorchModel.execute` in the engine (benchmarks/bench_execute_rounds.gd),
XNNPACK float32 and XNNPACK dynamic int8 (`model_tools export --quantize int8`).
ONNX Runtime's side: the same weights exported with `torch.onnx.export`, float32 and
ONNX Runtime's own dynamic int8 quantization (`quantize_dynamic`, int8 weights per
channel), on its CPU provider with its default threads. Each round runs a batch of
calls of every variant, the engine's and ONNX Runtime's alternating; the table gives
the fastest and the median round, and the ratios are medians of per-round ratios.
For the digits, the held-out accuracy of every variant. Not a test: nothing is
asserted about speed.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tools.godot_project import bench_parser, create_project  # noqa: E402

HERE = Path(__file__).resolve().parent
VARIANTS = ("executorch fp32", "executorch int8", "onnxruntime fp32", "onnxruntime int8")


def _onnx_pair(module, example, directory: Path, stem: str) -> tuple[Path, Path]:
    """float32 ONNX of the module and ONNX Runtime's dynamic int8 of it."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import onnx

    fp32 = directory / f"{stem}.onnx"
    torch.onnx.export(module, (example,), str(fp32), dynamo=True, verbose=False)
    # The exporter's intermediate shape annotations disagreed with ONNX's own
    # shape inference on the MLP (256 vs 1024, which quantize_dynamic runs
    # first); ONNX Runtime infers them itself.
    model = onnx.load(str(fp32))
    model.graph.ClearField("value_info")
    onnx.save(model, str(fp32))
    int8 = directory / f"{stem}_int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return fp32, int8


def _session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _time_session(session, feed: dict, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        session.run(None, feed)
    return (time.perf_counter() - start) / calls * 1e6


def _prepare(work: Path, log) -> dict:
    """Exports every variant of both models; returns per model the files, the
    ONNX Runtime sessions and their inputs, and the digits' held-out accuracies."""
    import numpy
    import torch

    from model_tools import MODELS, export_model
    from model_tools.training import export_digits, load_digits_data, train_digits

    models = {}
    mlp = MODELS["mlp"]()
    example = mlp.example_inputs[0]
    log("exporting the MLP 256-1024-1024-10: ExecuTorch float32 and int8, ONNX float32 and int8")
    export_model("mlp", work / "mlp.pte", "xnnpack")
    export_model("mlp", work / "mlp_int8.pte", "xnnpack", quantize="int8")
    onnx = _onnx_pair(mlp.module, example, work, "mlp")
    models["MLP 256-1024-1024-10"] = {"pte": ("mlp.pte", "mlp_int8.pte"), "onnx": onnx, "input": example.numpy()}

    log("training the digits CNN (scikit-learn's 8x8 digits), exporting its four variants")
    data = load_digits_data()
    model = train_digits(data, log=lambda _: None)
    reports = [export_digits(model, data, work / name, quantize, log=lambda _: None)
               for name, quantize in (("digits.pte", None), ("digits_int8.pte", "int8"))]
    onnx = _onnx_pair(model, data.held_out_images[:1], work, "digits")
    accuracy = {"executorch fp32": reports[0].pte_accuracy, "executorch int8": reports[1].pte_accuracy}
    for variant, path in zip(VARIANTS[2:], onnx):
        session = _session(path)
        name = session.get_inputs()[0].name
        predicted = [int(numpy.argmax(session.run(None, {name: image.numpy()})[0])) for image in data.held_out_images.split(1)]
        accuracy[variant] = float((torch.tensor(predicted) == data.held_out_labels).double().mean())
    models["digits CNN (trained)"] = {"pte": ("digits.pte", "digits_int8.pte"), "onnx": onnx,
                                      "input": data.held_out_images[:1].numpy(), "accuracy": accuracy}
    return models


def main() -> int:
    parser = bench_parser(__doc__, rounds=15)
    parser.add_argument("--calls", type=int, default=200, help="calls per batch")
    args = parser.parse_args()
    log = lambda message: print(message, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as work_name:
        work = Path(work_name)
        project = create_project(work / "project", (HERE / "bench_execute_rounds.gd",))
        models = _prepare(project, log)
        sessions = {}
        for label, model in models.items():
            for variant, path in zip(VARIANTS[2:], model["onnx"]):
                session = _session(path)
                feed = {session.get_inputs()[0].name: model["input"]}
                for _ in range(50):  # warm up
                    session.run(None, feed)
                sessions[(label, variant)] = (session, feed)
        ptes = [str(project / name) for model in models.values() for name in model["pte"]]
        engine = subprocess.Popen(
            [str(args.godot), "--headless", "--path", str(project), "--script", "res://bench_execute_rounds.gd",
             "--", str(args.calls), *ptes],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = ""
            while not line.startswith("READY"):
                line = engine.stdout.readline()
                if not line:
                    raise SystemExit("the engine quit before its models loaded (run the script by hand to see why)")
            samples = {(label, variant): [] for label in models for variant in VARIANTS}
            for round_index in range(args.rounds):
                engine.stdin.write("r")
                engine.stdin.flush()
                line = engine.stdout.readline()
                while line and not line.startswith("ROUND "):
                    line = engine.stdout.readline()
                per_call = json.loads(line[len("ROUND "):])
                for label, model in models.items():
                    for variant, name in zip(VARIANTS[:2], model["pte"]):
                        samples[(label, variant)].append(per_call[name])
                for (label, variant), (session, feed) in sessions.items():
                    samples[(label, variant)].append(_time_session(session, feed, args.calls))
                log(f"  round {round_index + 1}/{args.rounds}")
            engine.stdin.write("q")
            engine.stdin.flush()
            engine.wait(timeout=60)
        finally:
            if engine.poll() is None:
                engine.kill()
    _report(models, samples, args)
    return 0


def _report(models: dict, samples: dict, args) -> None:
    import onnxruntime

    print(f"\nper call, µs ({args.rounds} rounds of {args.calls} calls, interleaved; ONNX Runtime "
          f"{onnxruntime.__version__} CPU, its default threads)")
    for label, model in models.items():
        print(f"\n{label}")
        header = f"   {'':20s} {'fastest':>9s} {'median':>9s}"
        if "accuracy" in model:
            header += f" {'held-out accuracy':>18s}"
        print(header)
        for variant in VARIANTS:
            values = samples[(label, variant)]
            row = f"   {variant:20s} {min(values):9.1f} {statistics.median(values):9.1f}"
            if "accuracy" in model:
                row += f" {model['accuracy'][variant]:17.2%}"
            print(row)
        ours = samples[(label, "executorch int8")]
        for against in ("onnxruntime fp32", "onnxruntime int8", "executorch fp32"):
            ratios = [theirs / mine for theirs, mine in zip(samples[(label, against)], ours)]
            print(f"   {against} / executorch int8, median of per-round ratios: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    sys.exit(main())
