"""Export an eager PyTorch module to an ExecuTorch .pte file.

Pipeline: ``torch.export.export`` -> ``executorch.exir.to_edge_transform_and_lower``
(with ``XnnpackPartitioner`` for the xnnpack backend) -> ``to_executorch`` ->
write ``.buffer``. A :class:`~model_tools.models.ProgramSpec` (several
methods) is exported method by method and lowered together, as
``to_edge_transform_and_lower({"encode": ep1, "decode": ep2})``, into one .pte.
Dynamic shapes (``ModelSpec.dynamic_shapes``) go to ``torch.export.export``.

About the portable backend and ``nn.Linear``: by default the edge dialect
decomposes ``aten.linear`` into ``permute_copy`` + ``addmm``, and the portable
``addmm`` kernel is naive (measured ~10.6 ms per call for the 256-1024-1024-10
MLP in the Python runtime, versus ~0.33 ms with ``aten.linear`` kept and ~0.05
ms with XNNPACK). ``preserve_linear=True`` keeps ``aten.linear`` via
``EdgeCompileConfig(preserve_ops=[aten.linear.default])``; the program then
needs the ``aten::linear.out`` kernel, which lives in ExecuTorch's *optimized*
kernels library, not the portable one. The pip runtime has it; a runtime
linked against portable kernels only fails to load such a program with a
missing-operator error. That kernel also rejects 1-D inputs (so the ``linear``
model, input [1], cannot use it; export refuses). So it is opt-in, and the
default stays runnable everywhere.

Quantization (``quantize=``, XNNPACK only) goes through PT2E with the
``XNNPACKQuantizer`` that ships with executorch: weights int8 per output
channel (symmetric), and activations either quantized at run time per row
(``"int8"``: dynamic, no calibration, for linear layers) or with fixed
per-tensor scales (``"int8-static"``: linear and convolution layers, pooling
and more, calibrated on the example inputs plus seeded random inputs of the
same shapes). Both leave float32 inputs and outputs: the delegate converts at
its edges.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from model_tools.errors import UserError
from model_tools.models import FORWARD, AnySpec, ModelSpec, ProgramSpec, is_single_forward, method_specs, torch_dtype_name
from model_tools.sources import builtin_model, user_model

BACKENDS = ("portable", "xnnpack")
"""Backends ``export`` accepts."""

QUANTIZATIONS = ("int8", "int8-static")
"""``quantize=`` modes: dynamic int8 (activations quantized at run time) and static int8."""

CALIBRATION_SAMPLES = 32
"""Random input sets (seeded) that calibrate ``int8-static``, after the example inputs."""

BANK: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "linear": ("linear", "portable"),
        "two_io": ("two_io", "portable"),
        "embedding": ("embedding", "portable"),
        "uint8_conv": ("uint8_conv", "portable"),
        "bool_mask": ("bool_mask", "portable"),
        "float16": ("float16", "portable"),
        "two_methods": ("two_methods", "portable"),
        "dynamic_batch": ("dynamic_batch", "portable"),
        "mlp_xnnpack": ("mlp", "xnnpack"),
    }
)
"""The model bank for the engine's tests: file stem -> (built-in model, backend).

``export_bank(directory)`` writes each as ``directory/STEM.pte``. The portable
``mlp`` is left out on purpose: its naive addmm kernels make it slow to run,
and the XNNPACK build covers the same model plus a delegate.
"""

Log = Callable[[str], None]


def _silent(_: str) -> None:
    """Default logger for the Python API: say nothing."""


def _partitioners(backend: str) -> list[Any]:
    """Partitioners for a backend; imported lazily because executorch is slow to import."""
    if backend == "portable":
        return []
    if backend == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        return [XnnpackPartitioner()]
    raise UserError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")


def _compile_config(preserve_linear: bool) -> Any:
    """Edge config; optionally keeps aten.linear so it is not lowered to addmm."""
    from executorch.exir import EdgeCompileConfig

    if not preserve_linear:
        return EdgeCompileConfig()
    return EdgeCompileConfig(preserve_ops=[torch.ops.aten.linear.default])


def _op_summary(graph_module: torch.fx.GraphModule) -> str:
    """One line naming the ops left outside delegates, so slow kernels are visible."""
    names = Counter(
        getattr(node.target, "__name__", str(node.target))
        for node in graph_module.graph.nodes
        if node.op == "call_function" and "getitem" not in str(node.target)
    )
    return ", ".join(f"{name} x{count}" for name, count in sorted(names.items())) or "(none)"


def check_linear_inputs_2d(exported: torch.export.ExportedProgram) -> None:
    """Refuse --preserve-linear when an nn.Linear sees a 1-D input.

    Measured with ExecuTorch 1.5.1: the optimized ``aten::linear.out`` kernel
    fails with error 0x12 (InvalidArgument) on a 1-D input such as the
    ``linear`` model's [1], while 2-D and 3-D inputs are correct. Catching it
    at export time beats a .pte that fails at run time.
    """
    for node in exported.graph.nodes:
        if node.op != "call_function" or node.target != torch.ops.aten.linear.default:
            continue
        value = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else None
        if isinstance(value, torch.Tensor) and value.dim() < 2:
            raise UserError(
                f"--preserve-linear cannot be used here: linear '{node.name}' gets a "
                f"{value.dim()}-D input, which the optimized linear kernel rejects",
                "drop --preserve-linear, use --backend xnnpack, or give the model 2-D inputs",
            )


def check_quantize(backend: str, quantize: str | None) -> None:
    """Refuse a quantization mode that does not exist or a backend that cannot run it."""
    if quantize is None:
        return
    if quantize not in QUANTIZATIONS:
        raise UserError(f"unknown quantization '{quantize}'", f"use one of: {', '.join(QUANTIZATIONS)}")
    if backend != "xnnpack":
        raise UserError(f"--quantize {quantize} needs the xnnpack backend, not '{backend}'", "add --backend xnnpack")


def calibration_inputs(method: ModelSpec, samples: int = CALIBRATION_SAMPLES) -> list[tuple[torch.Tensor, ...]]:
    """The spec's own calibration data if it has some; else the example inputs,
    then ``samples`` seeded random sets shaped like them (float inputs drawn
    around the example's own mean and spread; other dtypes repeated as they are)."""
    if method.calibration:
        return [tuple(inputs) for inputs in method.calibration]
    generator = torch.Generator().manual_seed(0)
    sets = [tuple(method.example_inputs)]
    for _ in range(samples):
        one = []
        for example in method.example_inputs:
            if example.is_floating_point():
                spread = float(example.float().std()) if example.numel() > 1 else 1.0
                noise = torch.randn(example.shape, generator=generator) * (spread or 1.0)
                one.append((example.float().mean() + noise).to(example.dtype))
            else:
                one.append(example)
        sets.append(tuple(one))
    return sets


def quantize_module(method: ModelSpec, quantize: str) -> nn.Module:
    """PT2E: capture, annotate with XNNPACKQuantizer, calibrate (static), convert."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=quantize == "int8")
    captured = torch.export.export(method.module, method.example_inputs, dynamic_shapes=method.dynamic_shapes).module()
    prepared = prepare_pt2e(captured, XNNPACKQuantizer().set_global(config))
    for inputs in calibration_inputs(method) if quantize == "int8-static" else [method.example_inputs]:
        prepared(*inputs)
    return convert_pt2e(prepared)


def lower_to_pte_bytes(
    spec: AnySpec,
    backend: str = "portable",
    preserve_linear: bool = False,
    log: Log = _silent,
    quantize: str | None = None,
) -> bytes:
    """Run the export pipeline and return the serialized program (all methods of ``spec``)."""
    from executorch.exir import to_edge_transform_and_lower

    check_quantize(backend, quantize)
    partitioners = _partitioners(backend)
    programs = {}
    for name, method in method_specs(spec).items():
        module = quantize_module(method, quantize) if quantize else method.module
        exported = torch.export.export(module, method.example_inputs, dynamic_shapes=method.dynamic_shapes)
        if preserve_linear:
            check_linear_inputs_2d(exported)
        programs[name] = exported
    single = is_single_forward(programs)
    edge = to_edge_transform_and_lower(
        programs[FORWARD] if single else programs,
        partitioner=partitioners or None,
        compile_config=_compile_config(preserve_linear),
    )
    for name in programs:
        prefix = "" if single else f"{name} "
        log(f"  {prefix}ops: {_op_summary(edge.exported_program(name).graph_module)}")
    return bytes(edge.to_executorch().buffer)


def write_atomically(data: bytes, out_path: Path) -> None:
    """Write via a temp file + rename so a failed export never leaves half a .pte."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, out_path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _to_spec(
    name_or_module: str | nn.Module | AnySpec,
    example_inputs: Sequence[torch.Tensor] | None,
) -> tuple[str, AnySpec]:
    """Accept a built-in name, a 'file.py:Attr' spec, a Model/ProgramSpec, or a module + inputs."""
    if isinstance(name_or_module, ModelSpec):
        return type(name_or_module.module).__name__, name_or_module
    if isinstance(name_or_module, ProgramSpec):
        return "+".join(name_or_module.methods), name_or_module
    if isinstance(name_or_module, nn.Module):
        if example_inputs is None:
            raise UserError("an nn.Module needs example inputs", "pass example_inputs=(tensor, ...)")
        return type(name_or_module).__name__, ModelSpec(name_or_module.eval(), tuple(example_inputs))
    if ":" in name_or_module:
        return name_or_module, user_model(name_or_module, ())
    return name_or_module, builtin_model(name_or_module)


def export_model(
    name_or_module: str | nn.Module | AnySpec,
    out_path: str | os.PathLike[str],
    backend: str = "portable",
    *,
    example_inputs: Sequence[torch.Tensor] | None = None,
    preserve_linear: bool = False,
    quantize: str | None = None,
    log: Log = _silent,
) -> Path:
    """Export a model to ``out_path`` and return that path.

    ``name_or_module`` is a built-in model name (see ``model_tools.MODELS``), a
    ``'file.py:ClassOrFactory'`` spec, a ``ModelSpec`` or ``ProgramSpec``, or
    an ``nn.Module`` together with ``example_inputs``.
    """
    label, spec = _to_spec(name_or_module, example_inputs)
    return export_spec(label, spec, out_path, backend, preserve_linear=preserve_linear, quantize=quantize, log=log)


def describe_inputs(spec: AnySpec) -> str:
    """Example input shapes and dtypes, per method when there is more than one."""
    methods = method_specs(spec)

    def one(method: ModelSpec) -> str:
        text = ", ".join(f"{torch_dtype_name(t.dtype)} {list(t.shape)}" for t in method.example_inputs)
        return text + (" (dynamic)" if method.dynamic_shapes is not None else "")

    if is_single_forward(methods):
        return one(methods[FORWARD])
    return "; ".join(f"{name}: {one(method)}" for name, method in methods.items())


def export_spec(
    label: str,
    spec: AnySpec,
    out_path: str | os.PathLike[str],
    backend: str = "portable",
    *,
    preserve_linear: bool = False,
    quantize: str | None = None,
    log: Log = _silent,
) -> Path:
    """Export an already-resolved model; ``label`` only names it in progress lines."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")
    check_quantize(backend, quantize)
    out = Path(out_path)
    how = f"backend={backend}, preserve_linear={preserve_linear}" + (f", quantize={quantize}" if quantize else "")
    log(f"exporting {label} ({how}, inputs: {describe_inputs(spec)})")
    data = lower_to_pte_bytes(spec, backend, preserve_linear, log, quantize)
    write_atomically(data, out)
    log(f"wrote {out} ({len(data)} bytes)")
    return out


def export_bank(
    directory: str | os.PathLike[str],
    names: Sequence[str] | None = None,
    *,
    log: Log = _silent,
) -> dict[str, Path]:
    """Export every model of :data:`BANK` (or just ``names``) as ``directory/STEM.pte``.

    Returns stem -> path, in BANK order. Progress (one line per model with
    its export time, then the total) goes to ``log``.
    """
    selected = list(BANK) if names is None else list(names)
    unknown = [name for name in selected if name not in BANK]
    if unknown:
        raise UserError(f"not in the bank: {', '.join(unknown)}", f"use some of: {', '.join(BANK)}")
    out_dir = Path(directory)
    written: dict[str, Path] = {}
    started = time.perf_counter()
    for index, stem in enumerate(selected, start=1):
        model, backend = BANK[stem]
        began = time.perf_counter()
        written[stem] = export_model(model, out_dir / f"{stem}.pte", backend)
        log(f"[{index}/{len(selected)}] {written[stem]} ({model}, {backend}) {time.perf_counter() - began:.2f} s")
    log(f"exported {len(written)} models to {out_dir} in {time.perf_counter() - started:.2f} s")
    return written
