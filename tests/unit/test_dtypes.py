"""One dtype table: ExecuTorchTensor's (src/executorch_tensor.cpp) is what every
conversion, message and MCP schema of the module reads. The spec's DType enum,
the pre-validator's Godot-free copy (src/pte/) and model_tools' names must say
the same; these tests keep them so."""

from __future__ import annotations

import re
from pathlib import Path

from generator.model import load_spec
from model_tools.pte_runtime import SCALAR_TYPE_NAMES

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r'\{ ExecuTorchTensor::DTYPE_(\w+), (\d+), "(\w+)", (\d+), (true|false), "(\w+)" \}')


def tensor_table() -> list[tuple[str, int, str, int, bool, str]]:
    text = (REPO / "src" / "executorch_tensor.cpp").read_text(encoding="utf-8")
    rows = [(m[1], int(m[2]), m[3], int(m[4]), m[5] == "true", m[6]) for m in ROW.finditer(text)]
    assert len(rows) >= 10, "the DTYPE_FACTS table moved or changed its shape; update this test's pattern"
    return rows


def test_the_spec_enum_is_the_table():
    dtype = next(e for e in load_spec(REPO / "module_spec.yaml").find_class("ExecuTorchTensor").enums if e.name == "DType")
    spec = {v.name: v.value for v in dtype.values if v.name != "DTYPE_AUTO"}
    table = {f"DTYPE_{enum}": index for index, (enum, *_rest) in enumerate(tensor_table())}
    assert spec == table


def test_names_are_pytorchs_and_match_the_enum():
    for enum, _code, name, size, integer, json_type in tensor_table():
        assert enum == name.upper(), (enum, name)
        assert size in (1, 2, 4, 8)
        assert json_type == ("boolean" if name == "bool" else "integer" if integer else "number"), name


def test_the_validator_copy_is_equal():
    internal = (REPO / "src" / "pte" / "pte_internal.h").read_text(encoding="utf-8")
    codes = {m[1]: int(m[2]) for m in re.finditer(r"SCALAR_(\w+) = (\d+),", internal)}
    validator = (REPO / "src" / "pte" / "pte_validator.cpp").read_text(encoding="utf-8")
    copy = sorted((codes[m[1]], m[2], int(m[3])) for m in re.finditer(r'\{ SCALAR_(\w+), "(\w+)", (\d+) \}', validator))
    assert copy == sorted((code, name, size) for _enum, code, name, size, _integer, _json in tensor_table())


def test_model_tools_names_are_equal():
    assert SCALAR_TYPE_NAMES == {code: name for _enum, code, name, *_rest in tensor_table()}
