"""The operator table of the `.pte` pre-validator (src/pte/pte_validator.cpp).

``render_operator_kinds_header()`` returns the text of ``pte/pte_operators.gen.h``:
for every operator the engine's ExecuTorch libraries register, the number of
``KernelCall.args`` slots the kernel expects and, per slot, which EValue kinds it
may hold without ExecuTorch aborting (``EValue::toTensor()`` and friends are
``ET_CHECK`` asserts), which slots the kernel writes, and which carry a dtype.

Where the facts come from:

- the operator names: the library files themselves. ExecuTorch keeps each
  registered kernel's ``"ns::op.overload"`` name as a C string in the ``.so``
  (codegen'd ``Kernel("aten::add.out", ...)`` and the hand-written prim ops), so
  the names are read from ``libexecutorch.so`` and
  ``libexecutorch_kernels_optimized.so`` of the installed wheel, the libraries
  module_spec.yaml links. This is the registry the engine really has, not
  a list that could drift from the wheel; a name without a schema is left out
  (the validator then refuses the operator) and listed in the banner.
- the argument kinds of the generated (out-variant) kernels: the torch schema
  of the installed torch (``torch.ops.aten.<op>.<overload>._schema``), and for
  ExecuTorch's own namespaces the ``func:`` lines of the wheel's kernel yaml
  files, parsed with ``torch._C.parse_schema`` (importing executorch to register
  them would take seconds). ExecuTorch's codegen unboxes argument ``i`` from
  slot ``i`` in schema order and adds one slot for the return
  (executorch/codegen/gen.py, ComputeCodegenUnboxedKernels).
- the prim ops (``executorch_prim::*``, ``aten::sym_size.int``,
  ``aten::sym_numel``, ``aten::_local_scalar_dense``): hand-coded below from
  kernels/prim_ops/register_prim_ops.cpp, because their kernels are written by
  hand and differ from the Python schemas (``sym_max`` returns an int, not a
  bool; ``et_copy_index`` has no return slot).

Output is deterministic (sorted by name, no timestamps, no paths). It only
changes when torch or the ExecuTorch libraries change, so a caller may cache it
by their versions.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Iterable, NamedTuple

HEADER_PATH = "pte/pte_operators.gen.h"
"""Where the rendered header goes in the generated module (next to src/pte/, copied verbatim)."""
# Namespaces of operators ExecuTorch registers; other "a::b" strings in the
# libraries are C++ symbols (vector::reserve, unordered_map::at).
OPERATOR_NAMESPACES = ("aten", "dim_order_ops", "et_copy", "executorch_prim", "quantized_decomposed", "llama")
LINKED_LIBRARIES = ("libexecutorch.so", "libexecutorch_kernels_optimized.so")
# Kernel yaml files of the wheel whose `func:` lines define the non-aten schemas.
KERNEL_YAMLS = ("kernels/portable/functions.yaml", "kernels/portable/custom_ops.yaml",
                "kernels/portable/et_copy_ops.yaml", "kernels/quantized/quantized.yaml")

# EValue kinds: the KernelTypes union tags of program.fbs.
KIND_NAMES = ("Null", "Int", "Bool", "Double", "Tensor", "String", "IntList", "DoubleList", "BoolList",
              "TensorList", "OptionalTensorList")
KIND_MASK = {name: f"KINDS_{re.sub(r'(?<!^)(?=[A-Z])', '_', name).upper()}" for name in KIND_NAMES}
SCALAR = ("Int", "Double", "Bool")
NUMBER = ("Int", "Double")

_NAME = re.compile(rb"(?<![A-Za-z0-9_])(" + b"|".join(ns.encode() for ns in OPERATOR_NAMESPACES)
                   + rb")::([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?(?=\x00)")


class Arg(NamedTuple):
    name: str
    kinds: tuple[str, ...]
    out: bool = False  # the kernel writes this slot's tensor(s)
    scalar_type: bool = False  # an int holding a ScalarType (checked against the supported dtypes)
    ret: bool = False  # the return slot: a prim op stores its result EValue here


class Operator(NamedTuple):
    name: str
    args: tuple[Arg, ...]
    rule: str  # how the validator treats it (OperatorRule in pte_operator_table.h)


RET_UNUSED = Arg("(return)", KIND_NAMES, ret=True)
"""The return slot of an out-variant kernel: in range, never read (the outs are the slots before it)."""


def _prim(name: str, rule: str, *args: Arg, ret: tuple[str, ...] | None = None) -> Operator:
    slots = args if ret is None else args + (Arg("(return)", ret, ret=True),)
    return Operator(name, slots, rule)


# From kernels/prim_ops/register_prim_ops.cpp, et_view.cpp and et_copy_index.cpp:
# the slots each hand-written kernel checks (`stack.size() == N`), what it
# unboxes, and what it stores in its last slot.
PRIM_OPERATORS = (
    _prim("aten::sym_size.int", "PRIM_SYM_SIZE", Arg("self", ("Tensor",)), Arg("dim", ("Int",)), ret=("Int",)),
    _prim("aten::sym_numel", "PRIM_RESULT_INT", Arg("self", ("Tensor",)), ret=("Int",)),
    _prim("aten::_local_scalar_dense", "PRIM_LOCAL_SCALAR", Arg("self", ("Tensor",)), ret=SCALAR),
    _prim("executorch_prim::sym_max.Scalar", "PRIM_RESULT_INT", Arg("a", ("Int",)), Arg("b", ("Int",)), ret=("Int",)),
    _prim("executorch_prim::sym_min.Scalar", "PRIM_RESULT_INT", Arg("a", ("Int",)), Arg("b", ("Int",)), ret=("Int",)),
    _prim("executorch_prim::add.Scalar", "PRIM_ARITHMETIC", Arg("a", NUMBER), Arg("b", NUMBER), ret=NUMBER),
    _prim("executorch_prim::sub.Scalar", "PRIM_ARITHMETIC", Arg("a", NUMBER), Arg("b", NUMBER), ret=NUMBER),
    _prim("executorch_prim::mul.Scalar", "PRIM_ARITHMETIC", Arg("a", NUMBER), Arg("b", NUMBER), ret=NUMBER),
    _prim("executorch_prim::floordiv.Scalar", "PRIM_FLOOR_DIVIDE", Arg("a", NUMBER), Arg("b", NUMBER), ret=NUMBER),
    _prim("executorch_prim::truediv.Scalar", "PRIM_RESULT_DOUBLE", Arg("a", NUMBER), Arg("b", NUMBER),
          ret=("Double",)),
    _prim("executorch_prim::sym_float.Scalar", "PRIM_RESULT_DOUBLE", Arg("a", SCALAR), ret=("Double",)),
    _prim("executorch_prim::sym_int.Scalar", "PRIM_RESULT_INT", Arg("a", SCALAR), ret=("Int",)),
    *(_prim(f"executorch_prim::{op}.Scalar", "PRIM_COMPARE", Arg("a", SCALAR), Arg("b", SCALAR), ret=("Bool",))
      for op in ("eq", "gt", "lt", "ge", "le")),
    _prim("executorch_prim::neg.Scalar", "PRIM_SAME_AS_FIRST", Arg("a", NUMBER), ret=NUMBER),
    _prim("executorch_prim::sym_not.Scalar", "PRIM_RESULT_BOOL", Arg("a", ("Bool",)), ret=("Bool",)),
    _prim("executorch_prim::sym_ite.Scalar", "PRIM_IF_THEN_ELSE", Arg("b", ("Bool",)), Arg("t", SCALAR),
          Arg("f", SCALAR), ret=SCALAR),
    _prim("executorch_prim::floordiv.int", "PRIM_INTEGER_DIVIDE", Arg("a", ("Int",)), Arg("b", ("Int",)),
          ret=("Int",)),
    _prim("executorch_prim::mod.int", "PRIM_INTEGER_DIVIDE", Arg("a", ("Int",)), Arg("b", ("Int",)), ret=("Int",)),
    _prim("executorch_prim::mod.Scalar", "PRIM_INTEGER_DIVIDE", Arg("a", ("Int",)), Arg("b", ("Int",)),
          ret=("Int",)),
    *(_prim(f"executorch_prim::{op}.Scalar", "PRIM_RESULT_INT", Arg("a", ("Double",)), ret=("Int",))
      for op in ("ceil", "round", "trunc")),
    # et_copy_index(copy_to, copy_from, index): three slots, no return; writes copy_to.
    _prim("executorch_prim::et_copy_index.tensor", "PRIM_COPY_INDEX", Arg("copy_to", ("Tensor",), out=True),
          Arg("copy_from", ("Tensor",)), Arg("index", ("Int",))),
    # et_view(self, size, out): points out's data at self's at run time.
    _prim("executorch_prim::et_view.default", "PRIM_VIEW", Arg("self", ("Tensor",)), Arg("size", ("IntList",)),
          Arg("out", ("Tensor",), out=True)),
)


def _executorch_root() -> Path:
    """The installed executorch package directory, found without importing it (that takes seconds).
    `executorch` is a namespace package, so the repository's executorch/ (the C++
    source submodule, or its empty folder) is one of its locations when Python
    runs from the repository: the installed one is the one with version.py."""
    spec = importlib.util.find_spec("executorch")
    installed = [Path(p) for p in (spec.submodule_search_locations or []) if (Path(p) / "version.py").is_file()] if spec else []
    if not installed:
        raise RuntimeError("the executorch package is not installed in this Python environment")
    return installed[0]


def library_paths() -> list[Path]:
    """The wheel's shared libraries that register kernels: the default registry
    when no build's archives are given (the generator's CLI, unit tests)."""
    lib_dir = _executorch_root() / "lib"
    return [lib_dir / name for name in LINKED_LIBRARIES]


def registered_operator_names(libraries: Iterable[Path] | None = None) -> list[str]:
    """Every "ns::op.overload" the given ExecuTorch libraries register (default:
    library_paths()), sorted. Strings are not always preceded by a NUL (the
    linker packs some right after a jump table), so only what follows the name
    is anchored."""
    names = set()
    for library in library_paths() if libraries is None else libraries:
        data = Path(library).read_bytes()
        for match in _NAME.finditer(data):
            names.add(match.group(0).decode("ascii"))
    if not names:
        raise RuntimeError("no operator names found in the ExecuTorch libraries; is the wheel complete?")
    return sorted(names)


def _kinds(jit_type) -> tuple[tuple[str, ...], bool]:
    """(allowed EValue kinds, holds a ScalarType) for a torch JIT argument type,
    following ExecuTorch's unboxing (codegen/api/unboxing.py, evalue.h)."""
    kind = jit_type.kind()
    if kind == "OptionalType":
        inner, scalar_type = _kinds(jit_type.getElementType())
        return tuple(sorted(set(inner) | {"Null"}, key=KIND_NAMES.index)), scalar_type
    if kind == "TensorType":
        return ("Tensor",), False
    if kind in ("IntType", "SymIntType"):
        return ("Int",), False
    if kind == "ScalarTypeType":
        return ("Int",), True
    if kind in ("LayoutType", "MemoryFormatType", "DeviceObjType"):
        return ("Int",), False
    if kind == "FloatType":
        return ("Double",), False
    if kind == "BoolType":
        return ("Bool",), False
    if kind == "NumberType":  # Scalar: EValue::toScalar takes a Double, Int or Bool
        return ("Int", "Double", "Bool"), False
    if kind == "StringType":
        return ("String",), False
    if kind == "ListType":
        element = jit_type.getElementType()
        element_kind = element.kind()
        if element_kind in ("IntType", "SymIntType"):
            return ("IntList",), False
        if element_kind == "FloatType":
            return ("DoubleList",), False
        if element_kind == "BoolType":
            return ("BoolList",), False
        if element_kind == "TensorType":
            return ("TensorList",), False
        if element_kind == "OptionalType" and element.getElementType().kind() == "TensorType":
            return ("OptionalTensorList",), False
    return (), False  # unsupported by ExecuTorch's unboxing: the operator is left out


def _schema_operator(name: str, schema) -> Operator | None:
    args = []
    for argument in schema.arguments:
        jit_type = getattr(argument, "real_type", argument.type)
        kinds, scalar_type = _kinds(jit_type)
        if not kinds:
            return None
        out = bool(argument.alias_info is not None and argument.alias_info.is_write)
        args.append(Arg(argument.name, kinds, out=out, scalar_type=scalar_type))
    if not any(arg.out for arg in args):
        return None  # every generated ExecuTorch kernel is an out variant; anything else is hand-written
    return Operator(name, tuple(args) + (RET_UNUSED,), "GENERATED")


def _yaml_schemas(root: Path) -> dict[str, str]:
    """"ns::op.overload" -> schema text from the `func:` lines of the wheel's kernel yaml files."""
    schemas = {}
    for relative in KERNEL_YAMLS:
        path = root / relative
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            match = re.match(r"\s*-\s*func:\s*(\S+?::\S+?)\((.*)$", line)
            if match:
                schemas.setdefault(match.group(1), line.split("func:", 1)[1].strip())
    return schemas


def operator_table(names: Iterable[str] | None = None) -> tuple[list[Operator], list[str]]:
    """(the operators of the table, sorted; the registered names left out for want of a usable schema)."""
    import torch  # imported here: the generator imports this module without needing torch

    if names is None:
        names = registered_operator_names()
    prims = {op.name: op for op in PRIM_OPERATORS}
    yaml_schemas = _yaml_schemas(_executorch_root())
    table, missing = [], []
    for name in sorted(set(names)):
        if name in prims:
            table.append(prims[name])
            continue
        namespace, rest = name.split("::", 1)
        op, _, overload = rest.partition(".")
        schema = None
        if namespace == "aten":
            try:
                schema = getattr(getattr(torch.ops.aten, op), overload or "default")._schema
            except (AttributeError, RuntimeError):
                schema = None
        elif name in yaml_schemas:
            try:
                schema = torch._C.parse_schema(yaml_schemas[name])
            except RuntimeError:
                schema = None
        operator = _schema_operator(name, schema) if schema is not None else None
        if operator is None:
            missing.append(name)
        else:
            table.append(operator)
    return table, missing


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mask(kinds: tuple[str, ...]) -> str:
    if set(kinds) == set(KIND_NAMES):
        return "KINDS_ANY"
    return " | ".join(KIND_MASK[kind] for kind in sorted(kinds, key=KIND_NAMES.index))


def _flags(arg: Arg) -> str:
    flags = [flag for flag, on in (("ARGUMENT_OUT", arg.out), ("ARGUMENT_SCALAR_TYPE", arg.scalar_type),
                                   ("ARGUMENT_RETURN", arg.ret)) if on]
    return " | ".join(flags) or "0"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def render_operator_kinds_header(libraries: Iterable[Path] | None = None) -> str:
    """The C++ text of pte/pte_operators.gen.h (see the module docstring).
    ``libraries``: the kernel libraries (or static archives) whose registered
    operators the table lists; default: the wheel's LINKED_LIBRARIES."""
    from_wheel = libraries is None
    libraries = library_paths() if libraries is None else [Path(path) for path in libraries]
    table, missing = operator_table(registered_operator_names(libraries))
    lines = [
        "/* pte_operators.gen.h: GENERATED by generator/operator_kinds.py; do not edit.",
        f" * From the schemas of torch {_version('torch')} and the operators registered in",
        (f" * executorch {_version('executorch')} ({', '.join(path.name for path in libraries)})." if from_wheel
         else f" * ExecuTorch's kernel libraries {', '.join(path.name for path in libraries)}."),
        " * For each operator: KernelCall.args slots, and per slot the EValue kinds the kernel",
        " * unboxes without aborting and whether the kernel writes it.",
    ]
    if missing:
        lines.append(" * Registered but without a usable schema, so refused by the validator:")
        lines += [f" *   {name}" for name in missing]
    lines += [" */", "", "#pragma once", "", '#include "pte/pte_operator_table.h"', "", "namespace pte {", "",
              "static const OperatorArgument OPERATOR_ARGUMENTS[] = {"]
    starts = []
    position = 0
    for operator in table:
        starts.append(position)
        lines.append(f"\t// {operator.name}")
        for arg in operator.args:
            lines.append(f"\t{{ {_c_string(arg.name)}, {_mask(arg.kinds)}, {_flags(arg)} }},")
            position += 1
    lines += ["};", "", "static const OperatorKinds OPERATOR_KINDS[] = {"]
    for operator, start in zip(table, starts):
        entry = f"{_c_string(operator.name)}, {len(operator.args)}, {start}, OPERATOR_{operator.rule}"
        lines.append(f"\t{{ {entry} }},")
    lines += ["};", "", f"static const uint32_t OPERATOR_KIND_COUNT = {len(table)};", "",
              "} // namespace pte", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_operator_kinds_header(), end="")
