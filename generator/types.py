"""The GDScript types a spec may use, and how each one is spelled elsewhere.

One table, so the C++ signature, the ClassDB binding, the doc XML and the MCP
JSON Schema can never disagree about what a spec type means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GodotType:
    """A spec type name and its spellings in C++, docs and JSON Schema."""

    name: str
    cpp_arg: str  # how a parameter of this type is declared
    cpp_return: str  # how a return value of this type is declared
    json_types: tuple[str, ...]  # JSON Schema "type" values it accepts ("" = any)
    default_kinds: tuple[type, ...]  # Python types a YAML default may have
    variant_type: str  # the Variant::Type enumerator, for PropertyInfo
    enum_values: tuple[tuple[str, int], ...] = ()  # (name, value) for an enum type

    @property
    def is_void(self) -> bool:
        return self.name == "void"

    @property
    def is_enum(self) -> bool:
        return bool(self.enum_values)

    @property
    def doc_type(self) -> str:
        """The `type` Godot's doc XML gives it (an enum is documented as int)."""
        return "int" if self.is_enum else self.name

    def enum_value(self, name: str) -> int | None:
        return next((value for value_name, value in self.enum_values if value_name == name), None)


def _by_ref(cpp: str) -> str:
    return f"const {cpp} &"


def _variant_enum(packed: str) -> str:
    # PackedFloat32Array -> PACKED_FLOAT32_ARRAY
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", packed).upper()


_PACKED = (
    "PackedByteArray",
    "PackedInt32Array",
    "PackedInt64Array",
    "PackedFloat32Array",
    "PackedFloat64Array",
    "PackedStringArray",
)

BUILTIN_TYPES: dict[str, GodotType] = {
    t.name: t
    for t in [
        GodotType("void", "", "void", (), (), "NIL"),
        GodotType("bool", "bool", "bool", ("boolean",), (bool,), "BOOL"),
        GodotType("int", "int64_t", "int64_t", ("integer",), (int,), "INT"),
        GodotType("float", "double", "double", ("number", "integer"), (int, float), "FLOAT"),
        GodotType("String", _by_ref("String"), "String", ("string",), (str,), "STRING"),
        GodotType("Dictionary", _by_ref("Dictionary"), "Dictionary", ("object",), (dict,), "DICTIONARY"),
        GodotType("Array", _by_ref("Array"), "Array", ("array",), (list,), "ARRAY"),
        GodotType("Variant", _by_ref("Variant"), "Variant", ("",), (type(None), bool, int, float, str), "NIL"),
        *[GodotType(p, _by_ref(p), p, ("array",), (list,), _variant_enum(p)) for p in _PACKED],
    ]
}

# Engine classes a spec class may inherit from. RefCounted-based only: the
# generated code hands instances around as Ref<T>.
SUPPORTED_BASES = ("Object", "RefCounted", "Resource")


# Engine classes that arguments and return values may be (passed as Ref<T>);
# the hand-written header includes the class's header.
ENGINE_CLASSES = ("Image",)


def object_type(class_name: str) -> GodotType:
    """The type of an argument or return value that is one of the spec's classes or an ENGINE_CLASSES one."""
    return GodotType(
        class_name,
        f"const Ref<{class_name}> &",
        f"Ref<{class_name}>",
        ("",),
        (type(None),),
        "OBJECT",
    )


def supported_type_names(include_void: bool = True) -> str:
    return ", ".join(sorted(name for name in BUILTIN_TYPES if include_void or name != "void"))


def enum_type(class_name: str, enum_name: str, values: tuple[tuple[str, int], ...]) -> GodotType:
    """The type `ClassName.EnumName` of an enum declared in the spec."""
    cpp = f"{class_name}::{enum_name}"
    return GodotType(f"{class_name}.{enum_name}", cpp, cpp, ("integer",), (str,), "INT", values)
