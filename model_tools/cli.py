"""Command line: ``python -m model_tools {export,export-bank,train,verify,info,bench-python,list}``.

Exit codes: 0 success, 1 verification mismatch, 2 user error (one line on
stderr naming the problem and the fix; no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from model_tools.errors import UserError
from model_tools.models import is_single_forward

EXIT_MISMATCH = 1
EXIT_USER_ERROR = 2
PROG = "python -m model_tools"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return int(text)


def _shapes(values: Sequence[str] | None) -> list[tuple[int, ...]]:
    from model_tools.sources import parse_shape

    return [parse_shape(v) for v in values or []]


def cmd_export(args: argparse.Namespace) -> int:
    """Export a built-in or user model; progress goes to stdout."""
    from model_tools.exporting import export_spec
    from model_tools.sources import resolve_model

    label, spec = resolve_model(args.name, args.module, _shapes(args.example_shape))
    # --quantize runs on XNNPACK: it picks that backend unless another is named.
    backend = args.backend or ("xnnpack" if args.quantize else "portable")
    export_spec(label, spec, args.out, backend, preserve_linear=args.preserve_linear, quantize=args.quantize, log=print)
    return 0


def cmd_export_bank(args: argparse.Namespace) -> int:
    """Export the whole model bank (or --only some of it) into a directory."""
    from model_tools.exporting import export_bank

    export_bank(args.directory, args.only, log=print)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a built-in game model on its data set, export it, report held-out accuracy."""
    from model_tools.training import TRAINABLE, train_and_export_digits, train_and_export_policy

    if args.name not in TRAINABLE:
        raise UserError(f"no trainable model '{args.name}'", f"use one of: {', '.join(TRAINABLE)}")
    if args.name == "policy":
        _, error = train_and_export_policy(args.out, args.quantize, seed=args.seed, log=print)
        report = {"pte": str(args.out), "quantize": args.quantize, "mean_abs_error": error}
    else:
        report = train_and_export_digits(args.out, args.quantize, args.epochs, args.seed, log=print)[0].__dict__
    if args.json:
        _print_json(report)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Compare a .pte with eager PyTorch; exit 1 on mismatch."""
    from model_tools.verifying import verify

    report = verify(
        args.pte, args.model, args.atol, module_spec=args.module, example_shapes=_shapes(args.example_shape)
    )
    if args.json:
        _print_json(report)
    else:
        print(f"verify {report['pte']} against {report['model']} ({report['cases']} input cases, atol={args.atol:g})")
        for method, result in report["methods"].items():
            prefix = "" if is_single_forward(report["methods"]) else f"{method} "
            for index, error in enumerate(result["max_abs_error"]):
                kind = result["outputs"][index] if index < len(result["outputs"]) else {"dtype": "?", "exact": False}
                how = "exact" if kind["exact"] else "atol"
                print(f"  {prefix}output_{index} ({kind['dtype']}, {how}): max abs error {error:.3g}")
    if report["ok"]:
        if not args.json:
            print("OK")
        return 0
    print(f"{PROG}: MISMATCH: {'; '.join(report['problems'])}", file=sys.stderr)
    return EXIT_MISMATCH


def _describe(entry: dict[str, Any], kind: str) -> str:
    if entry["shape"] is None:
        return f"  {kind}_{entry['index']}: (not a tensor)"
    dynamism = entry.get("dynamism")
    bound = "" if dynamism in (None, "static") else f" ({dynamism}: sizes are the upper bound)"
    return f"  {kind}_{entry['index']}: {entry['dtype']} {entry['shape']}{bound}"


def cmd_info(args: argparse.Namespace) -> int:
    """Print methods, I/O dtypes and shapes, operators and delegates of a .pte."""
    from model_tools.pte_runtime import pte_info, require_file

    info = pte_info(require_file(Path(args.pte)))
    if args.json:
        _print_json(info)
        return 0
    print(f"{info['path']} ({info['size_bytes']} bytes)")
    for name, method in info["methods"].items():
        print(f"method {name}")
        print("\n".join(_describe(e, "input") for e in method["inputs"]))
        print("\n".join(_describe(e, "output") for e in method["outputs"]))
        print(f"  operators: {', '.join(method['operators']) or '(none)'}")
        print(f"  delegates: {', '.join(method['delegates']) or '(none)'}")
    return 0


def cmd_bench_python(args: argparse.Namespace) -> int:
    """Median per-call latency through the Python runtime, as JSON on stdout."""
    import torch

    from model_tools.pte_runtime import (
        benchmark,
        inputs_from_metadata,
        input_mismatches,
        load_method,
        require_file,
    )

    loaded = load_method(require_file(Path(args.pte)), args.method)
    shapes = _shapes(args.input_shape)
    inputs = [torch.full(s, 0.5) for s in shapes] if shapes else inputs_from_metadata(loaded)
    problems = input_mismatches(loaded, inputs)
    if problems:
        expected = [e["shape"] for e in _method_inputs(loaded)]
        fix = " ".join(f"--input-shape {','.join(map(str, s))}" for s in expected if s)
        raise UserError("; ".join(problems), f"use {fix} (or omit --input-shape)")
    result = benchmark(loaded, inputs, args.iterations, args.warmup)
    print(json.dumps(result))
    return 0


def _method_inputs(loaded: Any) -> list[dict[str, Any]]:
    from model_tools.pte_runtime import method_info

    return method_info(loaded.program, loaded.name)["inputs"]


def cmd_list(args: argparse.Namespace) -> int:
    """List built-in models with their example input dtypes and shapes."""
    from model_tools.exporting import describe_inputs
    from model_tools.models import MODELS

    for name, factory in MODELS.items():
        print(f"{name}: inputs {describe_inputs(factory())}")
    return 0


def _add_model_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--module", metavar="FILE.py:NAME", help="user model: nn.Module class or factory")
    parser.add_argument(
        "--example-shape",
        action="append",
        metavar="D0,D1,..",
        help="float32 example input shape for --module (repeat once per input)",
    )


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    from model_tools.exporting import BACKENDS, QUANTIZATIONS

    parser = argparse.ArgumentParser(prog=PROG, description="Export and check ExecuTorch .pte models.")
    sub = parser.add_subparsers(dest="command", required=True)

    export = sub.add_parser("export", help="export a model to .pte")
    export.add_argument("name", nargs="?", help="built-in model name (see 'list')")
    export.add_argument("--out", required=True, type=Path, help="output .pte path")
    export.add_argument("--backend", choices=BACKENDS, help="portable (default) or xnnpack (the default with --quantize)")
    export.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        help="int8 weights per channel, activations quantized at run time (int8) or calibrated (int8-static); XNNPACK",
    )
    export.add_argument(
        "--preserve-linear",
        action="store_true",
        help="keep aten.linear (fast, but needs the optimized kernels lib at runtime)",
    )
    _add_model_source(export)
    export.set_defaults(func=cmd_export)

    bank = sub.add_parser("export-bank", help="export the engine tests' model bank as DIR/NAME.pte")
    bank.add_argument("directory", type=Path)
    bank.add_argument("--only", action="append", metavar="NAME", help="export just this bank entry (repeatable)")
    bank.set_defaults(func=cmd_export_bank)

    train = sub.add_parser("train", help="train a game model on its data set, export it (XNNPACK), report accuracy")
    train.add_argument("name", help="digits: a CNN on scikit-learn's 8x8 handwritten digits (no download); "
                       "policy: a 16-64-64-4 steering policy for many agents (dynamic batch up to 4,096)")
    train.add_argument("--out", required=True, type=Path, help="output .pte path")
    train.add_argument("--quantize", choices=QUANTIZATIONS, help="int8 (dynamic) or int8-static (calibrated on training images)")
    train.add_argument("--epochs", type=_positive_int, default=30, help="digits: passes over the training images")
    train.add_argument("--seed", type=int, default=0, help="the split, the initial weights and the batches")
    train.add_argument("--json", action="store_true", help="also print the report as JSON")
    train.set_defaults(func=cmd_train)

    verify = sub.add_parser("verify", help="compare a .pte with eager PyTorch")
    verify.add_argument("pte", type=Path)
    verify.add_argument("--model", help="built-in model name the .pte was exported from")
    verify.add_argument("--atol", type=float, default=1e-4)
    verify.add_argument("--json", action="store_true")
    _add_model_source(verify)
    verify.set_defaults(func=cmd_verify)

    info = sub.add_parser("info", help="methods and input/output shapes of a .pte")
    info.add_argument("pte", type=Path)
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)

    bench = sub.add_parser("bench-python", help="per-call latency via ExecuTorch's Python runtime")
    bench.add_argument("pte", type=Path)
    bench.add_argument("--input-shape", action="append", metavar="D0,D1,..", help="repeat once per input")
    bench.add_argument("--iterations", type=_positive_int, default=10000)
    bench.add_argument("--warmup", type=int, default=100)
    bench.add_argument("--method", default="forward")
    bench.set_defaults(func=cmd_bench_python)

    listing = sub.add_parser("list", help="list built-in models")
    listing.set_defaults(func=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the subcommand, map UserError to exit code 2."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
