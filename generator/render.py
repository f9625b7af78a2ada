"""Renders a validated Spec into the files of the Godot module, in memory.

Templates stay dumb: every spelling decision (C++ signatures, defaults, doc
escaping, JSON) is a filter defined here, so it can be unit-tested and the
templates only place text. Output is deterministic: sorted where order does
not carry meaning, no timestamps, no absolute paths.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

import jinja2

from generator.operator_kinds import render_operator_kinds_header

from generator.model import HOOK_LEVELS, Argument, ClassSpec, Hook, Method, Spec

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "templates"
# The sub-folder of the hand-written src/ whose sources only editor builds compile
# (the generated SCsub compiles src/ in place; nothing of it is copied).
EDITOR_FOLDER = "editor"


@functools.lru_cache(maxsize=1)
def operator_kinds_header() -> str:
    """The operator table, once per process (deriving it imports torch: ~2 s)."""
    return render_operator_kinds_header()


@dataclass(frozen=True)
class RegistrationLevel:
    """What register_types does at one initialization level: call the hook,
    then register the level's classes (singletons at SERVERS, the rest at SCENE)."""

    name: str  # "servers"
    hook: Hook | None
    singletons: tuple[ClassSpec, ...]
    classes: tuple[ClassSpec, ...]

    @property
    def godot_level(self) -> str:
        return f"MODULE_INITIALIZATION_LEVEL_{self.name.upper()}"

    @property
    def editor_only(self) -> bool:
        return self.name == "editor"


def registration_levels(spec: Spec) -> list[RegistrationLevel]:
    """The levels at which register_types has something to do, in Godot's order."""
    levels = [
        RegistrationLevel(level, spec.module.hook(level), spec.singletons if level == "servers" else (),
                          spec.scene_classes if level == "scene" else ())
        for level in HOOK_LEVELS
    ]
    return [level for level in levels if level.hook or level.singletons or level.classes]


def hook_headers(spec: Spec, editor: bool) -> list[str]:
    """The headers of the module's hooks (editor ones apart: editor builds only), each once."""
    headers = [h.header for h in spec.module.hooks if (h.level == "editor") == editor]
    return list(dict.fromkeys(headers))


@dataclass(frozen=True)
class RenderedFile:
    relative_path: str  # inside the module directory, '/'-separated
    content: str


# --- filters ----------------------------------------------------------------------


def cpp_string(text: str) -> str:
    """A C++ string literal for `text` (UTF-8 kept; quotes, backslashes, newlines escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _float_literal(value: float) -> str:
    text = repr(float(value))
    return text if any(c in text for c in ".en") else text + ".0"


def cpp_default(arg: Argument) -> str:
    """The C++ expression for an argument's default value."""
    value = arg.default
    kind = arg.type.name
    if arg.type.is_enum:  # unscoped C++ enum: its values live in the class
        return f"{arg.type.name.split('.')[0]}::{value}"
    if kind == "Variant" and value is None:
        return "Variant()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "float":
        return _float_literal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, str):
        return f"String({cpp_string(value)})" if kind == "Variant" else cpp_string(value)
    if value is None:  # a null object reference
        return f"Ref<{kind}>()"
    return f"{kind}()"  # empty Dictionary, Array or packed array


def doc_default(arg: Argument) -> str:
    """The default as Godot's doc XML writes it (before XML escaping)."""
    value = arg.default
    if arg.type.is_enum:
        return str(arg.type.enum_value(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if arg.type.name == "float":
        return _float_literal(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if arg.type.name.startswith("Packed"):
        return f"{arg.type.name}()"
    return "{}" if isinstance(value, dict) else "[]"


def doc_property_default(prop: Any) -> str:
    """A property's default as Godot's doc XML writes it (before XML escaping)."""
    return doc_default(Argument(prop.name, prop.type, prop.default, prop.location))


def cpp_parameters(args: tuple[Argument, ...], with_defaults: bool = True) -> str:
    parts = []
    for arg in args:
        text = f"{arg.type.cpp_arg}p_{arg.name}" if arg.type.cpp_arg.endswith("&") else f"{arg.type.cpp_arg} p_{arg.name}"
        if with_defaults and arg.has_default:
            text += f" = {cpp_default(arg)}"
        parts.append(text)
    return ", ".join(parts)


def cpp_declaration(method: Method) -> str:
    """`static Ref<T> create(const Variant &p_data = Variant()) const`, as the class declares it."""
    text = f"{method.returns.cpp_return} {method.name}({cpp_parameters(method.args)})"
    if method.is_static:
        text = "static " + text
    return text + (" const" if method.is_const else "")


def member_pointer(method: Method, cls: ClassSpec) -> str:
    """The exact type of `&Class::method` for the spec's signature: what the
    hand-written header must declare (static methods are plain function pointers)."""
    parameters = ", ".join(arg.type.cpp_arg.rstrip() for arg in method.args)
    if method.is_static:
        return f"{method.returns.cpp_return} (*)({parameters})"
    return f"{method.returns.cpp_return} ({cls.name}::*)({parameters})" + (" const" if method.is_const else "")


def spec_location(location: Any) -> str:
    """`module_spec.yaml:218`: the spec's file name (never an absolute path: output is reproducible) and line."""
    return f"{Path(location.path).name}:{location.line}"


def signature_mismatch(method: Method, cls: ClassSpec) -> str:
    """The static_assert message when a header drifts from the spec: the spec
    entry, then the declaration to write."""
    return cpp_string(
        f"{spec_location(method.location)}: {cls.name}.{method.name} in the spec does not match src/{cls.file}.h;"
        f" declare it there as: {cpp_declaration(method)};"
    )


def enum_mismatch(cls: ClassSpec, enum: Any, value: Any) -> str:
    return cpp_string(
        f"{spec_location(value.location)}: {cls.name}.{value.name} is {value.value} in the spec;"
        f" src/{cls.file}.h must declare `enum {enum.name} : int64_t` with {value.name} = {value.value}"
    )


def d_method(method: Method) -> str:
    names = [cpp_string(method.name)] + [cpp_string(a.name) for a in method.args]
    return f"D_METHOD({', '.join(names)})"


def defvals(method: Method) -> str:
    """The trailing DEFVAL(...) arguments of a bind_method call, or ''."""
    return "".join(f", DEFVAL({cpp_default(a)})" for a in method.args if a.has_default)


def doc_type(godot_type: Any) -> str:
    """The type attributes of a doc XML <param> or <return>."""
    return f'type="{godot_type.doc_type}"' + (f' enum="{godot_type.name}"' if godot_type.is_enum else "")


def property_info(arg: Argument) -> str:
    name = cpp_string(arg.name)
    if arg.type.is_enum:
        return (f'PropertyInfo(Variant::INT, {name}, PROPERTY_HINT_NONE, "", PROPERTY_USAGE_CLASS_IS_ENUM, '
                f"{cpp_string(arg.type.name)})")
    if arg.type.variant_type == "OBJECT":
        return f'PropertyInfo(Variant::OBJECT, {name}, PROPERTY_HINT_RESOURCE_TYPE, "{arg.type.name}")'
    if arg.type.name == "Variant":
        return f'PropertyInfo(Variant::NIL, {name}, PROPERTY_HINT_NONE, "", PROPERTY_USAGE_NIL_IS_VARIANT)'
    return f"PropertyInfo(Variant::{arg.type.variant_type}, {name})"


def xml_text(text: str) -> str:
    return _xml_escape(text)


def xml_attr(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def indent_lines(text: str, tabs: int) -> str:
    """Indents every line of doc text by `tabs` tabs, as Godot's doc XML does."""
    prefix = "\t" * tabs
    return "\n".join(prefix + line if line else "" for line in text.splitlines())


def json_compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sorted_by_name(items: Any) -> list[Any]:
    return sorted(items, key=lambda item: item.name)


# --- environment and plan ---------------------------------------------------------------


def make_environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # C++, Python and XML are escaped by explicit filters
    )
    env.filters.update(
        cpp_string=cpp_string,
        cpp_default=cpp_default,
        doc_default=doc_default,
        doc_property_default=doc_property_default,
        cpp_parameters=cpp_parameters,
        cpp_declaration=cpp_declaration,
        d_method=d_method,
        defvals=defvals,
        property_info=property_info,
        doc_type=doc_type,
        xml_text=xml_text,
        xml_attr=xml_attr,
        indent_lines=indent_lines,
        json_compact=json_compact,
        sorted_by_name=sorted_by_name,
        member_pointer=member_pointer,
        signature_mismatch=signature_mismatch,
    )
    env.globals["enum_mismatch"] = enum_mismatch
    return env


def _banner(comment: str) -> str:
    return (
        f"{comment} Generated from module_spec.yaml by generator/ (python -m generator)."
        f" Edits will be lost: change the spec, templates/ or src/ instead."
    )


def render_module(spec: Spec) -> list[RenderedFile]:
    """Every file of the module, rendered in memory, sorted by path."""
    env = make_environment()
    context: dict[str, Any] = {
        "spec": spec,
        "module": spec.module,
        "classes": spec.classes,
        "exposed_classes": sorted_by_name(spec.exposed_classes),
        "singletons": spec.singletons,
        "levels": registration_levels(spec),
        "hook_headers": hook_headers(spec, editor=False),
        "editor_hook_headers": hook_headers(spec, editor=True),
        "tools": sorted_by_name(spec.tools),
        "cpp_banner": _banner("//"),
        "py_banner": _banner("#"),
        "xml_banner": _banner(""),
    }
    files: list[RenderedFile] = []

    def render(template: str, out: str, **extra: Any) -> None:
        files.append(RenderedFile(out, env.get_template(template).render(**context, **extra)))

    render("register_types.h.j2", "register_types.h")
    render("register_types.cpp.j2", "register_types.cpp")
    render("config.py.j2", "config.py")
    render("mcp_tools.gen.cpp.j2", "mcp/mcp_tools.gen.cpp")
    render("module_info.gen.h.j2", "module_info.gen.h")
    # The pre-validator's operator table comes from the installed torch and
    # ExecuTorch, not from the spec (generator/operator_kinds.py).
    files.append(RenderedFile("pte/pte_operators.gen.h",
                              "// Generated by generator/operator_kinds.py from the installed torch and executorch."
                              " Edits will be lost.\n" + operator_kinds_header()))
    for cls in spec.classes:
        render("class_bind.gen.cpp.j2", f"{cls.file}_bind.gen.cpp", cls=cls)
    # SCsub compiles the generated sources by name (Godot's glob skips
    # *.gen.cpp, so a stale one never builds): exactly those rendered above.
    # The hand-written sources it finds in src/ when it runs.
    render("SCsub.j2", "SCsub",
           generated_sources=sorted(f.relative_path for f in files if f.relative_path.endswith(".gen.cpp")),
           editor_folder=EDITOR_FOLDER,
           anchor_header=f"{spec.classes[0].file}.h")
    for cls in spec.exposed_classes:
        render("doc_class.xml.j2", f"doc_classes/{cls.name}.xml", cls=cls)
    paths = [f.relative_path for f in files]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise RuntimeError(f"two outputs claim {', '.join(duplicates)}; rename the hand-written file in src/")
    return sorted(files, key=lambda f: f.relative_path)


