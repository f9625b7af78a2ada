"""The spec model: frozen, typed objects built once from module_spec.yaml.

Parsing happens in two passes, as in torchgen: each entry is parsed on its own
(keys, types, identifiers), then `_check_cross_references` applies the rules
that span entries (duplicate names, tools pointing at methods, schemas that
must match a method's arguments). Every error names `file:line` and the fix.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import SpecError
from generator.located_yaml import LocatedDict, LocatedList, load_located
from generator.types import BUILTIN_TYPES, ENGINE_CLASSES, SUPPORTED_BASES, GodotType, enum_type, object_type, supported_type_names

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_FILE_STEM = re.compile(r"^([a-z][a-z0-9_]*/)?[a-z][a-z0-9_]*$")  # a src/ sub-folder at most
# C++ words a generated identifier must not be (Python's keywords are checked too,
# so a name stays usable from the generator's own code and from GDScript).
_CPP_RESERVED = frozenset(
    "auto bool break case catch char class const continue default delete do double else enum "
    "explicit extern false float for friend goto if inline int long namespace new operator private "
    "protected public register return short signed sizeof static struct switch template this throw "
    "true try typedef union unsigned using virtual void volatile while".split()
)

_NO_DEFAULT = object()
_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null", None})


@dataclass(frozen=True)
class Location:
    path: str
    line: int

    def error(self, message: str) -> SpecError:
        return SpecError(self.path, self.line, message)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Argument:
    name: str
    type: GodotType
    default: Any  # `_NO_DEFAULT` when the argument is required
    location: Location

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class Method:
    name: str
    args: tuple[Argument, ...]
    returns: GodotType
    is_const: bool  # a C++ const member function (getters)
    is_static: bool  # bound with ClassDB::bind_static_method
    doc: str
    location: Location

    @property
    def doc_qualifiers(self) -> str:
        return " ".join(q for q, on in (("const", self.is_const), ("static", self.is_static)) if on)


@dataclass(frozen=True)
class Signal:
    name: str
    args: tuple[Argument, ...]
    doc: str
    location: Location


@dataclass(frozen=True)
class PropertySpec:
    """A GDScript property backed by a getter and a setter of the class."""

    name: str
    type: GodotType
    getter: str
    setter: str
    default: Any  # what a new instance holds (the class reference shows it)
    doc: str
    location: Location


@dataclass(frozen=True)
class EnumValue:
    name: str
    value: int
    doc: str
    location: Location


@dataclass(frozen=True)
class EnumSpec:
    name: str
    doc: str
    values: tuple[EnumValue, ...]
    location: Location


@dataclass(frozen=True)
class ClassSpec:
    name: str
    inherits: str
    exposed: bool
    file: str  # stem of the hand-written and generated C++ files
    brief: str
    description: str
    methods: tuple[Method, ...]
    signals: tuple[Signal, ...]
    enums: tuple[EnumSpec, ...]
    location: Location
    # An engine singleton: registered at the SERVERS level, one instance made
    # there and named after the class (GDScript: ClassName.method()).
    singleton: bool = False
    properties: tuple[PropertySpec, ...] = ()

    def method(self, name: str) -> Method | None:
        return next((m for m in self.methods if m.name == name), None)

    @property
    def stem(self) -> str:
        """The file name without its folder: generated files sit beside the hand-written ones."""
        return self.file.rsplit("/", 1)[-1]

    @property
    def macro_prefix(self) -> str:
        return self.stem.upper()


@dataclass(frozen=True)
class McpTool:
    name: str
    handler: str  # the hand-written MCPToolbox member function that serves it (src/mcp/)
    description: str
    input_schema: dict[str, Any]  # plain JSON-compatible data, keys as written
    output_schema: dict[str, Any] | None  # what structuredContent holds, when declared
    location: Location
    schema_location: Location  # of the 'input_schema' key, for errors about the schema


# The initialization levels of a Godot module, in the order Godot runs them.
HOOK_LEVELS = ("core", "servers", "scene", "editor")


@dataclass(frozen=True)
class Hook:
    """Hand-written functions register_types calls at one initialization level
    (before that level's classes are registered; the uninitialize after they
    are gone). Editor hooks are compiled into editor builds only."""

    level: str
    header: str
    initialize: str
    uninitialize: str
    location: Location

    @property
    def godot_level(self) -> str:
        return f"MODULE_INITIALIZATION_LEVEL_{self.level.upper()}"


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    hooks: tuple[Hook, ...]  # in HOOK_LEVELS order, at most one per level
    # ExecuTorch's static libraries the engine links, without the lib prefix
    # and .a suffix ("executorch" is libexecutorch.a). The whole ones register
    # operators or backends from static constructors: nothing references them
    # by symbol, so they are linked whole (and the pre-validator's operator
    # table is read from them); the others follow in link order.
    link_whole_libraries: tuple[str, ...]
    link_libraries: tuple[str, ...]
    # Linked last, and only where the build made them (KleidiAI: arm64 only).
    link_libraries_if_built: tuple[str, ...]
    location: Location

    def hook(self, level: str) -> Hook | None:
        return next((h for h in self.hooks if h.level == level), None)


@dataclass(frozen=True)
class Spec:
    path: str
    module: ModuleInfo
    classes: tuple[ClassSpec, ...]
    tools: tuple[McpTool, ...]

    def find_class(self, name: str) -> ClassSpec | None:
        return next((c for c in self.classes if c.name == name), None)

    @property
    def exposed_classes(self) -> tuple[ClassSpec, ...]:
        return tuple(c for c in self.classes if c.exposed)

    @property
    def singletons(self) -> tuple[ClassSpec, ...]:
        return tuple(c for c in self.classes if c.singleton)

    @property
    def scene_classes(self) -> tuple[ClassSpec, ...]:
        """The classes registered at the SCENE level (singletons go at SERVERS)."""
        return tuple(c for c in self.classes if not c.singleton)


# --- per-entry parsing ---------------------------------------------------------------


_LIBRARY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


class _Entry:
    """One YAML mapping being parsed: hands out keys and rejects leftovers."""

    def __init__(self, data: Any, location: Location, what: str) -> None:
        if not isinstance(data, LocatedDict):
            raise location.error(f"{what} must be a mapping of keys to values, got {_kind(data)}")
        self.data = data
        self.location = Location(location.path, data.line)
        self.what = what
        self.taken: set[str] = set()

    def at(self, key: str) -> Location:
        return Location(self.location.path, self.data.key_lines.get(key, self.location.line))

    def _get(self, key: str, required: bool) -> Any:
        self.taken.add(key)
        if key not in self.data:
            if required:
                raise self.location.error(f"{self.what} is missing required key '{key}'")
            return _NO_DEFAULT
        return self.data[key]

    def string(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._get(key, required)
        if value is _NO_DEFAULT:
            return default
        if not isinstance(value, str):
            raise self.at(key).error(f"'{key}' of {self.what} must be a string, got {_kind(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is _NO_DEFAULT:
            return default
        if not isinstance(value, bool):
            raise self.at(key).error(f"'{key}' of {self.what} must be true or false, got {_kind(value)}")
        return value

    def items(self, key: str) -> list[tuple[Any, Location]]:
        value = self._get(key, False)
        if value is _NO_DEFAULT or value is None:
            return []
        if not isinstance(value, LocatedList):
            raise self.at(key).error(f"'{key}' of {self.what} must be a list, got {_kind(value)}")
        return [(item, Location(self.location.path, line)) for item, line in zip(value, value.item_lines)]

    def raw(self, key: str, required: bool = True) -> Any:
        return self._get(key, required)

    def finish(self) -> None:
        leftovers = [k for k in self.data if k not in self.taken]
        if leftovers:
            key = leftovers[0]
            allowed = ", ".join(sorted(self.taken))
            raise self.at(key).error(f"unknown key '{key}' in {self.what}; allowed keys: {allowed}")


def _kind(value: Any) -> str:
    if isinstance(value, LocatedDict):
        return "a mapping"
    if isinstance(value, LocatedList):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


def _identifier(name: str, location: Location, what: str) -> str:
    if not _IDENTIFIER.match(name) or name in _CPP_RESERVED or keyword.iskeyword(name):
        raise location.error(
            f"{what} name '{name}' is not a usable identifier; use letters, digits and '_' "
            "(not starting with a digit, not a C++ or Python keyword)"
        )
    return name


def _snake_case(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def _default_fits(value: Any, godot_type: GodotType) -> bool:
    # bool is an int in Python; an int default must not accept `true`.
    if isinstance(value, bool) and bool not in godot_type.default_kinds:
        return False
    if isinstance(value, (dict, list)) and value:
        return False  # only empty containers: their C++ and doc spellings are unambiguous
    return isinstance(value, godot_type.default_kinds)


class _Parser:
    def __init__(self, path: str, class_names: set[str]) -> None:
        self.path = path
        self.class_names = class_names
        self.enums: dict[str, GodotType] = {}  # "Class.Enum" -> type, filled before methods are parsed
        self.enum_specs: dict[tuple[str, int], EnumSpec] = {}  # (class, line) -> the enum collect_enums parsed

    def type_named(self, name: Any, location: Location, what: str, allow_void: bool) -> GodotType:
        if not isinstance(name, str):
            raise location.error(f"type of {what} must be a string naming a type, got {_kind(name)}")
        if name in self.class_names or name in ENGINE_CLASSES:
            return object_type(name)
        if name in self.enums:
            return self.enums[name]
        godot_type = BUILTIN_TYPES.get(name)
        if godot_type is None or (godot_type.is_void and not allow_void):
            choices = supported_type_names(include_void=allow_void)
            raise location.error(
                f"unsupported type '{name}' for {what}; use one of: {choices}, {', '.join(ENGINE_CLASSES)}, a class declared in this spec, "
                "or one of its enums as ClassName.EnumName"
            )
        return godot_type

    def argument(self, data: Any, location: Location, owner: str) -> Argument:
        entry = _Entry(data, location, f"an argument of {owner}")
        name = _identifier(entry.string("name"), entry.at("name"), "argument")
        what = f"argument '{name}' of {owner}"
        godot_type = self.type_named(entry.raw("type"), entry.at("type"), what, allow_void=False)
        default = entry.raw("default", required=False)
        if default is not _NO_DEFAULT and godot_type.is_enum:
            if not isinstance(default, str) or godot_type.enum_value(default) is None:
                names = ", ".join(n for n, _ in godot_type.enum_values)
                raise entry.at("default").error(
                    f"default {default!r} of {what} is not a value of {godot_type.name}; use one of: {names}"
                )
        elif default is not _NO_DEFAULT and not _default_fits(default, godot_type):
            raise entry.at("default").error(
                f"default {default!r} of {what} does not fit its type {godot_type.name}; "
                "give a literal of that type (containers: only {} or [])"
            )
        entry.finish()
        return Argument(name, godot_type, default, entry.location)

    def arguments(self, entry: _Entry, owner: str) -> tuple[Argument, ...]:
        args = [self.argument(item, loc, owner) for item, loc in entry.items("args")]
        seen: dict[str, Argument] = {}
        for arg in args:
            if arg.name in seen:
                raise arg.location.error(
                    f"duplicate argument '{arg.name}' of {owner} (first at line {seen[arg.name].location.line}); "
                    "rename one"
                )
            seen[arg.name] = arg
        for before, arg in zip(args, args[1:]):
            if before.has_default and not arg.has_default:
                raise arg.location.error(
                    f"argument '{arg.name}' of {owner} needs a default because '{before.name}' before it has one"
                )
        return tuple(args)

    def method(self, data: Any, location: Location, class_name: str) -> Method:
        entry = _Entry(data, location, f"a method of {class_name}")
        name = _identifier(entry.string("name"), entry.at("name"), "method")
        owner = f"{class_name}.{name}"
        entry.what = f"method {owner}"
        args = self.arguments(entry, owner)
        returns = self.type_named(entry.string("returns"), entry.at("returns"), f"the return of {owner}", True)
        is_const = entry.boolean("const", default=False)
        is_static = entry.boolean("static", default=False)
        if is_const and is_static:
            raise entry.at("static").error(f"method {owner} cannot be both 'const' and 'static'; keep one")
        doc = entry.string("doc").strip()
        if not doc:
            raise entry.at("doc").error(f"method {owner} has an empty 'doc'; say what it does and returns")
        entry.finish()
        return Method(name, args, returns, is_const, is_static, doc, entry.location)

    def signal(self, data: Any, location: Location, class_name: str) -> Signal:
        entry = _Entry(data, location, f"a signal of {class_name}")
        name = _identifier(entry.string("name"), entry.at("name"), "signal")
        entry.what = f"signal {class_name}.{name}"
        args = self.arguments(entry, f"signal {class_name}.{name}")
        for arg in args:
            if arg.has_default:
                raise arg.location.error(f"signal argument '{arg.name}' cannot have a default; remove it")
        doc = entry.string("doc").strip()
        entry.finish()
        return Signal(name, args, doc, entry.location)

    def class_spec(self, data: Any, location: Location) -> ClassSpec:
        entry = _Entry(data, location, "a class")
        name = entry.string("name")
        if not _CLASS_NAME.match(name):
            raise entry.at("name").error(f"class name '{name}' must be CamelCase letters and digits")
        entry.what = f"class {name}"
        inherits = entry.string("inherits")
        if inherits not in SUPPORTED_BASES:
            raise entry.at("inherits").error(
                f"class {name} inherits '{inherits}'; use one of: {', '.join(SUPPORTED_BASES)}"
            )
        file = entry.string("file", required=False, default=_snake_case(name))
        if not _FILE_STEM.match(file):
            raise entry.at("file").error(
                f"'file' of class {name} must be a lower_snake_case file stem, optionally in one folder of src/ "
                f"(mcp/mcp_server), got '{file}'"
            )
        exposed = entry.boolean("exposed", default=True)
        singleton = entry.boolean("singleton", default=False)
        if singleton and inherits != "Object":
            raise entry.at("singleton").error(
                f"singleton class {name} must inherit Object (an engine singleton is not reference-counted), not {inherits}"
            )
        if singleton and not exposed:
            raise entry.at("singleton").error(f"singleton class {name} is reached from GDScript by name; it cannot be 'exposed: false'")
        brief = entry.string("brief").strip()
        description = entry.string("description", required=False).strip()
        enums = tuple(self.enum_specs.get((name, loc.line)) or self.enum(item, loc, name) for item, loc in entry.items("enums"))
        methods = tuple(self.method(item, loc, name) for item, loc in entry.items("methods"))
        signals = tuple(self.signal(item, loc, name) for item, loc in entry.items("signals"))
        properties = tuple(self.property(item, loc, name) for item, loc in entry.items("properties"))
        entry.finish()
        return ClassSpec(name, inherits, exposed, file, brief, description, methods, signals, enums, entry.location,
                         singleton, properties)

    def property(self, data: Any, location: Location, class_name: str) -> PropertySpec:
        entry = _Entry(data, location, f"a property of {class_name}")
        name = _identifier(entry.string("name"), entry.at("name"), "property")
        entry.what = f"property {class_name}.{name}"
        godot_type = self.type_named(entry.raw("type"), entry.at("type"), entry.what, allow_void=False)
        getter = _identifier(entry.string("getter"), entry.at("getter"), f"getter of {entry.what}")
        setter = _identifier(entry.string("setter"), entry.at("setter"), f"setter of {entry.what}")
        default = entry.raw("default")
        if not _default_fits(default, godot_type):
            raise entry.at("default").error(f"default {default!r} of {entry.what} does not fit its type {godot_type.name}")
        doc = entry.string("doc").strip()
        entry.finish()
        return PropertySpec(name, godot_type, getter, setter, default, doc, entry.location)

    def enum(self, data: Any, location: Location, class_name: str) -> EnumSpec:
        entry = _Entry(data, location, f"an enum of {class_name}")
        name = entry.string("name")
        if not _CLASS_NAME.match(name):
            raise entry.at("name").error(f"enum name '{name}' must be CamelCase letters and digits")
        entry.what = f"enum {class_name}.{name}"
        doc = entry.string("doc", required=False).strip()
        values = []
        for item, loc in entry.items("values"):
            value_entry = _Entry(item, loc, f"a value of enum {class_name}.{name}")
            value_name = value_entry.string("name")
            if not re.match(r"^[A-Z][A-Z0-9_]*$", value_name):
                raise value_entry.at("name").error(f"enum value '{value_name}' must be UPPER_SNAKE_CASE")
            value = value_entry.raw("value")
            if not isinstance(value, int) or isinstance(value, bool):
                raise value_entry.at("value").error(f"'value' of enum value {value_name} must be an integer, got {_kind(value)}")
            value_doc = value_entry.string("doc", required=False).strip()
            value_entry.finish()
            values.append(EnumValue(value_name, value, value_doc, value_entry.location))
        if not values:
            raise entry.location.error(f"enum {class_name}.{name} has no 'values'; list at least one")
        _check_unique(tuple(values), f"value in enum {class_name}.{name}")
        entry.finish()
        return EnumSpec(name, doc, tuple(values), entry.location)

    def collect_enums(self, class_items: list[tuple[Any, Location]]) -> None:
        """Registers every `Class.Enum` type first, so methods of any class may use it."""
        for item, loc in class_items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            enums = item.get("enums") or []
            for enum_item, enum_line in zip(enums, getattr(enums, "item_lines", [])):
                spec = self.enum(enum_item, Location(self.path, enum_line), item["name"])
                self.enum_specs[(item["name"], enum_line)] = spec
                self.enums[f"{item['name']}.{spec.name}"] = enum_type(
                    item["name"], spec.name, tuple((v.name, v.value) for v in spec.values)
                )

    def tool(self, data: Any, location: Location) -> McpTool:
        entry = _Entry(data, location, "an MCP tool")
        name = entry.string("name")
        if not re.match(r"^[A-Za-z0-9_.-]{1,128}$", name):
            raise entry.at("name").error(
                f"MCP tool name '{name}' must be 1-128 letters, digits, '_', '-' or '.'"
            )
        entry.what = f"MCP tool '{name}'"
        handler = _identifier(entry.string("handler"), entry.at("handler"), f"handler of MCP tool '{name}'")
        description = entry.string("description").strip()
        schema = entry.raw("input_schema")
        if not isinstance(schema, LocatedDict) or schema.get("type") != "object":
            raise entry.at("input_schema").error(
                f"'input_schema' of MCP tool '{name}' must be a JSON Schema mapping with 'type: object'"
            )
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise entry.at("input_schema").error(f"'properties' of the input_schema of '{name}' must be a mapping")
        for prop, prop_schema in properties.items():
            json_type = prop_schema.get("type") if isinstance(prop_schema, dict) else None
            for one in json_type if isinstance(json_type, list) else [json_type]:
                if one not in _JSON_TYPES:
                    raise entry.at("input_schema").error(
                        f"input_schema property '{prop}' of MCP tool '{name}' has type {one!r}; "
                        f"use one of: {', '.join(sorted(t for t in _JSON_TYPES if t))}"
                    )
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise entry.at("input_schema").error(f"'required' of the input_schema of '{name}' must be a list of names")
        for missing in [r for r in required if r not in properties]:
            raise entry.at("input_schema").error(f"MCP tool '{name}' requires '{missing}', which is not under 'properties'")
        output_schema = entry.raw("output_schema", required=False)
        if output_schema is _NO_DEFAULT:
            output_schema = None
        elif not isinstance(output_schema, LocatedDict) or output_schema.get("type") != "object":
            # MCP's structuredContent is always a JSON object.
            raise entry.at("output_schema").error(
                f"'output_schema' of MCP tool '{name}' must be a JSON Schema mapping with 'type: object'"
            )
        entry.finish()
        return McpTool(
            name, handler, description, _plain(schema), None if output_schema is None else _plain(output_schema),
            entry.location, entry.at("input_schema"),
        )

    def module(self, data: Any, location: Location) -> ModuleInfo:
        entry = _Entry(data, location, "'module'")
        name = _identifier(entry.string("name"), entry.at("name"), "module")
        hooks = [self.hook(item, loc) for item, loc in entry.items("hooks")]
        seen: dict[str, Hook] = {}
        for hook in hooks:
            if hook.level in seen:
                raise hook.location.error(
                    f"two hooks for level '{hook.level}' (first at line {seen[hook.level].location.line}); "
                    "one function per level can call the others"
                )
            seen[hook.level] = hook
        whole = self.library_names(entry, "link_whole_libraries")
        libraries = self.library_names(entry, "link_libraries")
        if_built = self.library_names(entry, "link_libraries_if_built")
        for library, at in entry.items("link_libraries"):
            if library in whole:
                raise at.error(f"'{library}' is in both 'link_whole_libraries' and 'link_libraries'; a library is linked "
                               "one way: whole if it registers operators or backends, else in order")
        entry.finish()
        ordered = tuple(sorted(hooks, key=lambda h: HOOK_LEVELS.index(h.level)))
        return ModuleInfo(name, ordered, whole, libraries, if_built, entry.location)

    @staticmethod
    def library_names(entry: "_Entry", key: str) -> tuple[str, ...]:
        names: list[str] = []
        for value, at in entry.items(key):
            if not isinstance(value, str) or not _LIBRARY_NAME.fullmatch(value):
                raise at.error(f"each of '{key}' must be a library name such as executorch (for libexecutorch.a), "
                               f"got {value!r}")
            if value in names:
                raise at.error(f"'{value}' is twice in '{key}'; name each library once")
            names.append(value)
        return tuple(names)

    def hook(self, data: Any, location: Location) -> Hook:
        entry = _Entry(data, location, "a hook of 'module'")
        level = entry.string("level")
        if level not in HOOK_LEVELS:
            raise entry.at("level").error(f"hook level '{level}' is not one of Godot's: {', '.join(HOOK_LEVELS)}")
        entry.what = f"the {level} hook"
        header = entry.string("header")
        if not re.fullmatch(r"[a-z0-9_]+(/[a-z0-9_]+)*\.h", header):
            raise entry.at("header").error(f"'header' of the {level} hook must be a header under src/, such as "
                                           f"executorch_module.h, got '{header}'")
        initialize = _identifier(entry.string("initialize"), entry.at("initialize"), f"{level} initialize hook")
        uninitialize = _identifier(entry.string("uninitialize"), entry.at("uninitialize"), f"{level} uninitialize hook")
        entry.finish()
        return Hook(level, header, initialize, uninitialize, entry.location)


def _plain(value: Any) -> Any:
    """Strips the Located wrappers so schemas are ordinary JSON data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- rules across entries ---------------------------------------------------------------


def _check_unique(items: tuple[Any, ...], what: str) -> None:
    seen: dict[str, Any] = {}
    for item in items:
        if item.name in seen:
            raise item.location.error(
                f"duplicate {what} '{item.name}' (first at line {seen[item.name].location.line}); "
                "rename or remove one"
            )
        seen[item.name] = item


def _check_accessors(cls: ClassSpec, prop: PropertySpec) -> None:
    where = f"property {cls.name}.{prop.name}"
    getter, setter = cls.method(prop.getter), cls.method(prop.setter)
    if getter is None or getter.args or getter.returns.name != prop.type.name:
        raise prop.location.error(
            f"{where} needs a getter '{prop.getter}' declared in the class with no arguments, returning {prop.type.name}"
        )
    if setter is None or len(setter.args) != 1 or setter.args[0].type.name != prop.type.name or not setter.returns.is_void:
        raise prop.location.error(
            f"{where} needs a setter '{prop.setter}' declared in the class taking one {prop.type.name} and returning void"
        )


def _check_cross_references(spec: Spec) -> None:
    _check_unique(spec.classes, "class")
    files = {}
    for cls in spec.classes:
        if cls.file in files:
            raise cls.location.error(f"class {cls.name} uses file stem '{cls.file}' like {files[cls.file]}; set 'file'")
        files[cls.file] = cls.name
        _check_unique(cls.methods, f"method in class {cls.name}")
        _check_unique(cls.signals, f"signal in class {cls.name}")
        _check_unique(cls.properties, f"property in class {cls.name}")
        for prop in cls.properties:
            _check_accessors(cls, prop)
    _check_unique(spec.tools, "MCP tool")
    handlers: dict[str, McpTool] = {}
    for tool in spec.tools:
        if tool.handler in handlers:
            raise tool.location.error(
                f"MCP tools '{handlers[tool.handler].name}' and '{tool.name}' name the same handler '{tool.handler}'; "
                "give each tool its own"
            )
        handlers[tool.handler] = tool
    if len(spec.singletons) > 1:
        raise spec.singletons[1].location.error("the spec declares more than one singleton class; keep one")


# --- entry point ----------------------------------------------------------------------


def parse_spec(text: str, path: str) -> Spec:
    """Parses and validates spec `text`; `path` is used in error messages."""
    data = load_located(text, path)
    top = _Entry(data, Location(path, 1), "the spec's top level")
    class_items = top.items("classes")
    if not class_items:
        raise top.location.error("the spec declares no 'classes'; add at least one")
    class_names = {item.get("name") for item, _ in class_items if isinstance(item, dict)}
    parser = _Parser(path, {n for n in class_names if isinstance(n, str)})
    parser.collect_enums(class_items)
    module = parser.module(top.raw("module"), top.at("module"))
    classes = tuple(parser.class_spec(item, loc) for item, loc in class_items)
    tools = tuple(parser.tool(item, loc) for item, loc in top.items("mcp_tools"))
    top.finish()
    spec = Spec(path, module, classes, tools)
    _check_cross_references(spec)
    return spec


def load_spec(path: Path, display_path: str | None = None) -> Spec:
    """Reads and parses the spec file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(str(path), 1, f"cannot read the spec: {error.strerror}; check the path") from error
    return parse_spec(text, display_path or str(path))
