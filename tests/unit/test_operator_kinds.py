"""The operator table of the .pte pre-validator (generator/operator_kinds.py)."""

from __future__ import annotations

import re

import pytest

from generator import operator_kinds


@pytest.fixture(scope="module")
def header() -> str:
    return operator_kinds.render_operator_kinds_header()


def test_names_come_from_the_linked_libraries():
    names = operator_kinds.registered_operator_names()
    assert "aten::addmm.out" in names
    # Stored without a leading NUL in libexecutorch.so (right after a jump table).
    assert "aten::sym_size.int" in names
    assert not any(name.startswith(("vector::", "unordered_map::")) for name in names)


def test_header_is_deterministic_and_stamped_generated(header):
    assert header == operator_kinds.render_operator_kinds_header()
    assert "GENERATED" in header and "do not edit" in header
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", header)  # no dates or timestamps


def test_out_variant_slots_follow_the_schema(header):
    # aten::addmm.out(self, mat1, mat2, *, beta, alpha, out) + the return slot.
    assert '{ "aten::addmm.out", 7, ' in header
    block = header.split("// aten::addmm.out\n", 1)[1].split("// ", 1)[0]
    assert '{ "beta", KINDS_INT | KINDS_BOOL | KINDS_DOUBLE, 0 },' in block
    assert '{ "out", KINDS_TENSOR, ARGUMENT_OUT },' in block
    assert '{ "(return)", KINDS_ANY, ARGUMENT_RETURN },' in block


def test_prim_ops_are_hand_coded(header):
    assert '{ "executorch_prim::et_copy_index.tensor", 3, ' in header  # no return slot
    assert "OPERATOR_PRIM_SYM_SIZE" in header
    block = header.split("// executorch_prim::sym_max.Scalar\n", 1)[1].split("// ", 1)[0]
    assert '{ "(return)", KINDS_INT, ARGUMENT_RETURN },' in block  # an int, whatever Python says


def test_table_is_sorted_for_binary_search(header):
    names = re.findall(r'^\t\{ "([^"]+)", \d+, \d+, OPERATOR_', header, re.M)
    assert names == sorted(names) and len(names) == len(set(names)) and len(names) > 200
