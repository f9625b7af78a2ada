"""Export an eager PyTorch module to an ExecuTorch .pte file.

Pipeline: ``torch.export.export`` -> ``executorch.exir.to_edge_transform_and_lower``
(with ``XnnpackPartitioner`` for the xnnpack backend) -> ``to_executorch`` ->
write ``.buffer``.

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
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from model_tools.errors import UserError
from model_tools.models import ModelSpec
from model_tools.sources import builtin_model, user_model

BACKENDS = ("portable", "xnnpack")
"""Backends ``export`` accepts."""

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


def lower_to_pte_bytes(
    spec: ModelSpec, backend: str = "portable", preserve_linear: bool = False, log: Log = _silent
) -> bytes:
    """Run the export pipeline and return the serialized program."""
    from executorch.exir import to_edge_transform_and_lower

    partitioners = _partitioners(backend)
    exported = torch.export.export(spec.module, spec.example_inputs)
    if preserve_linear:
        check_linear_inputs_2d(exported)
    edge = to_edge_transform_and_lower(
        exported,
        partitioner=partitioners or None,
        compile_config=_compile_config(preserve_linear),
    )
    log(f"  ops: {_op_summary(edge.exported_program().graph_module)}")
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
    name_or_module: str | nn.Module | ModelSpec,
    example_inputs: Sequence[torch.Tensor] | None,
) -> tuple[str, ModelSpec]:
    """Accept a built-in name, a 'file.py:Attr' spec, a ModelSpec, or a module + inputs."""
    if isinstance(name_or_module, ModelSpec):
        return type(name_or_module.module).__name__, name_or_module
    if isinstance(name_or_module, nn.Module):
        if example_inputs is None:
            raise UserError("an nn.Module needs example inputs", "pass example_inputs=(tensor, ...)")
        return type(name_or_module).__name__, ModelSpec(name_or_module.eval(), tuple(example_inputs))
    if ":" in name_or_module:
        return name_or_module, user_model(name_or_module, ())
    return name_or_module, builtin_model(name_or_module)


def export_model(
    name_or_module: str | nn.Module | ModelSpec,
    out_path: str | os.PathLike[str],
    backend: str = "portable",
    *,
    example_inputs: Sequence[torch.Tensor] | None = None,
    preserve_linear: bool = False,
    log: Log = _silent,
) -> Path:
    """Export a model to ``out_path`` and return that path.

    ``name_or_module`` is a built-in model name (see ``model_tools.MODELS``), a
    ``'file.py:ClassOrFactory'`` spec, a ``ModelSpec``, or an ``nn.Module``
    together with ``example_inputs``.
    """
    label, spec = _to_spec(name_or_module, example_inputs)
    return export_spec(label, spec, out_path, backend, preserve_linear=preserve_linear, log=log)


def export_spec(
    label: str,
    spec: ModelSpec,
    out_path: str | os.PathLike[str],
    backend: str = "portable",
    *,
    preserve_linear: bool = False,
    log: Log = _silent,
) -> Path:
    """Export an already-resolved model; ``label`` only names it in progress lines."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")
    out = Path(out_path)
    shapes = ", ".join(str(list(t.shape)) for t in spec.example_inputs)
    log(f"exporting {label} (backend={backend}, preserve_linear={preserve_linear}, inputs: {shapes})")
    data = lower_to_pte_bytes(spec, backend, preserve_linear, log)
    write_atomically(data, out)
    log(f"wrote {out} ({len(data)} bytes)")
    return out
