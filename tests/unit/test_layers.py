"""The C++ of src/ is layered one way: pte/ at the bottom (Godot-free), then
ExecuTorch's platform glue and the module's settings, tensor, model, runtime,
the MCP server, and on top the editor and the module's initialization, which
knows every layer. A unit (a header and its .cpp; X_internal.h belongs to X)
may include units of its own layer or below, never above, and no two units
include each other, directly or through others. Read from the #include lines."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

LAYERS = (
    ("pte/",),
    ("executorch_platform", "executorch_settings"),
    ("executorch_tensor", "executorch_tensor_image"),
    ("executorch_model", "executorch_model_memory", "executorch_model_values", "executorch_resource_loader"),
    ("executorch_registry", "executorch_runtime"),
    ("mcp/",),
    ("editor/", "executorch_module"),
)


def unit_of(path: Path) -> str:
    """`mcp/mcp_json` for src/mcp/mcp_json.{h,cpp}; `executorch_model` for executorch_model_internal.h too
    (a unit's private header, shared by its .cpp files)."""
    unit = path.relative_to(SRC).with_suffix("").as_posix()
    folded = re.sub(r"_internal$", "", unit)
    return folded if (SRC / (folded + ".cpp")).exists() else unit


def layer_of(unit: str) -> int:
    for index, members in enumerate(LAYERS):
        if any(unit == m or (m.endswith("/") and unit.startswith(m)) for m in members):
            return index
    raise AssertionError(f"src/{unit} is in no layer: add it to LAYERS in {Path(__file__).name}")


def include_graph() -> dict[str, set[str]]:
    """unit -> the units it includes (resolved relative to the including file, then to src/)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        unit = unit_of(path)
        graph.setdefault(unit, set())
        for name in re.findall(r'^\s*#\s*include\s+"([^"]+)"', path.read_text(encoding="utf-8"), re.M):
            for base in (path.parent, SRC):
                target = (base / name).resolve()
                if target.is_file() and SRC.resolve() in target.parents:
                    included = unit_of(SRC / target.relative_to(SRC.resolve()))
                    if included != unit:
                        graph[unit].add(included)
                    break
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        stack.append(unit)
        for other in sorted(graph.get(unit, ())):
            if state.get(other) == 1:
                return stack[stack.index(other):] + [other]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        stack.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state:
            found = visit(unit)
            if found:
                return found
    return None


def test_every_unit_is_in_a_layer():
    for unit in include_graph():
        layer_of(unit)


def test_no_include_goes_up_a_layer():
    upward = [f"src/{unit} (layer {layer_of(unit)}) includes src/{other} (layer {layer_of(other)})"
              for unit, others in include_graph().items() for other in sorted(others) if layer_of(other) > layer_of(unit)]
    assert not upward, "includes that go up a layer:\n" + "\n".join(upward)


def test_no_include_cycle():
    cycle = find_cycle(include_graph())
    assert cycle is None, "include cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_are_for():
    """The cycle finder and the layer rule fail on the cases they guard against."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("pte/pte_xnnpack") < layer_of("executorch_model") < layer_of("mcp/mcp_toolbox")
