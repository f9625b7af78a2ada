"""Thin layer over ExecuTorch's Python runtime (``executorch.runtime``).

Used API (ExecuTorch 1.5.1)::

    from executorch.runtime import Runtime
    program = Runtime.get().load_program(Path("model.pte"))
    program.method_names                 # {"forward"}
    meta = program.metadata("forward")   # MethodMeta, without loading the method
    meta.num_inputs(); meta.input_tensor_meta(i).sizes() / .dtype() / .nbytes()
    method = program.load_method("forward")
    outputs = method.execute([tensor, ...])   # list of torch.Tensor

It wraps the pybind module ``executorch.extension.pybindings.portable_lib``,
which links the portable *and* optimized CPU kernels plus the XNNPACK backend;
a runtime built with fewer kernels (e.g. a game engine module) may reject a
.pte this one runs. ``info`` lists the operators and delegates a program needs
so that mismatch is easy to spot.
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import torch

from model_tools.errors import UserError
from model_tools.models import FORWARD, torch_dtype_name

SCALAR_TYPE_NAMES: Mapping[int, str] = MappingProxyType(
    {
        0: "uint8",
        1: "int8",
        2: "int16",
        3: "int32",
        4: "int64",
        5: "float16",
        6: "float32",
        7: "float64",
        11: "bool",
        15: "bfloat16",
    }
)
"""ExecuTorch ScalarType codes (as returned by TensorInfo.dtype()) -> dtype names."""

SHAPE_DYNAMISM_NAMES: Mapping[int, str] = MappingProxyType(
    {0: "static", 1: "dynamic_bound", 2: "dynamic_unbound"}
)
"""ExecuTorch TensorShapeDynamism codes (flatbuffer ``Tensor.shape_dynamism``) -> names.

For ``dynamic_bound`` tensors the method metadata's sizes are the upper bound
(e.g. [8, 3] for a batch dimension with max 8); any shape of the same rank
whose dimensions do not exceed it is accepted at run time.
"""


@dataclass(frozen=True)
class LoadedMethod:
    """A method plus the program that owns it (kept so the program outlives the method)."""

    program: Any
    method: Any
    name: str
    path: Path

    @functools.cached_property
    def input_dynamism(self) -> tuple[str | None, ...]:
        """Per input: a SHAPE_DYNAMISM_NAMES value, or None for a non-tensor input.

        Read from the flatbuffer on first use only: that parse is slow, and
        only an input whose shape differs from the declared one needs it."""
        return tuple(shape_dynamism(self.path.read_bytes()).get(self.name, {}).get("inputs", []))

    def run(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Execute once; returns the outputs as a list of tensors."""
        return list(self.method.execute(list(inputs)))


def require_file(path: Path, what: str = ".pte file") -> Path:
    """Fail early with a fixable message instead of a runtime-internal error."""
    if not path.is_file():
        raise UserError(f"{what} not found: {path}", "check the path or run 'python -m model_tools export' first")
    return path


def load_program(path: Path) -> Any:
    """Load a .pte with the Python runtime; corrupt files become a UserError."""
    require_file(path)
    from executorch.runtime import Runtime

    try:
        return Runtime.get().load_program(path)
    except RuntimeError as exc:
        raise UserError(
            f"ExecuTorch could not load {path} ({exc})",
            "re-export it with 'python -m model_tools export'",
        ) from exc


def load_method(path: Path, method_name: str = FORWARD) -> LoadedMethod:
    """Load one method, naming the available ones if it is missing."""
    program = load_program(path)
    if method_name not in program.method_names:
        available = ", ".join(sorted(program.method_names))
        raise UserError(f"{path} has no method '{method_name}'", f"use one of: {available}")
    try:
        method = program.load_method(method_name)
    except RuntimeError as exc:
        raise UserError(
            f"ExecuTorch could not load method '{method_name}' of {path} ({exc})",
            "check that this runtime has every operator/backend the program needs (see 'info')",
        ) from exc
    return LoadedMethod(program=program, method=method, name=method_name, path=path)


def dtype_name(code: int) -> str:
    """Readable dtype for an ExecuTorch ScalarType code."""
    return SCALAR_TYPE_NAMES.get(int(code), f"scalar_type_{int(code)}")


def torch_dtype(code: int) -> torch.dtype:
    """torch dtype for an ExecuTorch ScalarType code (same numbering as c10)."""
    name = dtype_name(code)
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise UserError(f"unsupported input dtype code {code}", "only standard numeric dtypes are supported")
    return dtype


def _tensor_info(info: Any, index: int) -> dict[str, Any]:
    """One input/output description as plain JSON-able data."""
    return {
        "index": index,
        "dtype": dtype_name(info.dtype()),
        "shape": [int(s) for s in info.sizes()],
        "nbytes": int(info.nbytes()),
    }


def _io_list(meta: Any, count: int, getter_name: str) -> list[dict[str, Any]]:
    """Describe each input or output; non-tensor values (ints, None) are marked as such."""
    getter = getattr(meta, getter_name)
    entries: list[dict[str, Any]] = []
    for index in range(count):
        try:
            entries.append(_tensor_info(getter(index), index))
        except RuntimeError:
            entries.append({"index": index, "dtype": None, "shape": None, "tensor": False})
    return entries


def method_info(program: Any, method_name: str) -> dict[str, Any]:
    """Inputs and outputs of a method from its metadata (no execution needed)."""
    meta = program.metadata(method_name)
    return {
        "inputs": _io_list(meta, meta.num_inputs(), "input_tensor_meta"),
        "outputs": _io_list(meta, meta.num_outputs(), "output_tensor_meta"),
    }


def _flatbuffer(data: bytes) -> Any:
    """The program flatbuffer as Python objects, via ExecuTorch's (private) deserializer."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    return deserialize_pte_binary(data).program


def _requirements_of(program: Any) -> dict[str, dict[str, list[str]]]:
    return {
        plan.name: {
            "operators": sorted({f"{op.name}.{op.overload}" if op.overload else op.name for op in plan.operators}),
            "delegates": sorted({delegate.id for delegate in plan.delegates}),
        }
        for plan in program.execution_plan
    }


def _dynamism_of(program: Any) -> dict[str, dict[str, list[str | None]]]:
    def names(plan: Any, indices: Sequence[int]) -> list[str | None]:
        result: list[str | None] = []
        for index in indices:
            code = getattr(plan.values[index].val, "shape_dynamism", None)
            result.append(None if code is None else SHAPE_DYNAMISM_NAMES.get(int(code), f"dynamism_{int(code)}"))
        return result

    return {
        plan.name: {"inputs": names(plan, plan.inputs), "outputs": names(plan, plan.outputs)}
        for plan in program.execution_plan
    }


def shape_dynamism(data: bytes) -> dict[str, dict[str, list[str | None]]]:
    """Per method, each input's and output's shape dynamism (None for non-tensors).

    The runtime's MethodMeta does not expose it; the flatbuffer does.
    """
    return _dynamism_of(_flatbuffer(data))


def pte_info(path: Path) -> dict[str, Any]:
    """Everything ``info`` prints: size, methods, their I/O, operators and delegates."""
    program = load_program(path)
    flatbuffer = _flatbuffer(path.read_bytes())
    requirements = _requirements_of(flatbuffer)
    dynamism = _dynamism_of(flatbuffer)
    methods = {}
    for name in sorted(program.method_names):
        methods[name] = method_info(program, name)
        for kind in ("inputs", "outputs"):
            kinds = dynamism.get(name, {}).get(kind, [])
            for entry in methods[name][kind]:
                index = entry["index"]
                entry["dynamism"] = kinds[index] if entry["shape"] is not None and index < len(kinds) else None
        methods[name].update(requirements.get(name, {"operators": [], "delegates": []}))
    return {"path": str(path), "size_bytes": path.stat().st_size, "methods": methods}


def inputs_from_metadata(loaded: LoadedMethod, fill: float = 0.5) -> list[torch.Tensor]:
    """Constant inputs matching the method's declared shapes and dtypes."""
    meta = loaded.program.metadata(loaded.name)
    return [
        torch.full(tuple(info.sizes()), fill, dtype=torch_dtype(info.dtype()))
        for info in (meta.input_tensor_meta(i) for i in range(meta.num_inputs()))
    ]


def input_mismatches(loaded: LoadedMethod, inputs: Sequence[torch.Tensor]) -> list[str]:
    """Differences between given inputs and the method's declared inputs (count, shape, dtype).

    The runtime's own error for a mismatch is a generic C++ failure; this
    names which input is wrong and what it should be. A ``dynamic_bound``
    input accepts any shape of the declared rank within the declared sizes
    (which are its upper bounds).
    """
    info = method_info(loaded.program, loaded.name)["inputs"]
    if len(inputs) != len(info):
        return [f"method '{loaded.name}' takes {len(info)} input(s), got {len(inputs)}"]
    problems = []
    for given, expected in zip(inputs, info):
        if expected["shape"] is None:
            continue
        index = expected["index"]
        shape = list(given.shape)
        if shape == expected["shape"]:
            dynamism = "static"  # the declared shape fits any dynamism
        else:
            dynamism = loaded.input_dynamism[index] if index < len(loaded.input_dynamism) else "static"
        if dynamism == "dynamic_bound":
            fits = len(shape) == len(expected["shape"]) and all(g <= e for g, e in zip(shape, expected["shape"]))
            wanted = f"at most {expected['shape']} (dynamic, same rank)"
        elif dynamism == "dynamic_unbound":
            fits = len(shape) == len(expected["shape"])
            wanted = f"rank {len(expected['shape'])} (dynamic)"
        else:
            fits = shape == expected["shape"]
            wanted = f"{expected['shape']}"
        if not fits:
            problems.append(f"input_{index} has shape {shape}, the program expects {wanted}")
        elif torch_dtype_name(given.dtype) != expected["dtype"]:
            problems.append(f"input_{index} has dtype {given.dtype}, the program expects {expected['dtype']}")
    return problems


def benchmark(
    loaded: LoadedMethod, inputs: Sequence[torch.Tensor], iterations: int, warmup: int
) -> dict[str, Any]:
    """Time ``iterations`` calls individually (perf_counter_ns) after ``warmup`` calls.

    The median is reported because single calls are a few microseconds and
    the mean is dominated by scheduler noise.
    """
    args = list(inputs)
    execute = loaded.method.execute
    for _ in range(warmup):
        execute(args)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        execute(args)
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    return {
        "median_us": statistics.median(samples) / 1000.0,
        "iterations": iterations,
        "warmup": warmup,
        "min_us": samples[0] / 1000.0,
        "p90_us": samples[min(len(samples) - 1, int(len(samples) * 0.9))] / 1000.0,
    }
