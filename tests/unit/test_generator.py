"""The spec model, the renderer and the CLI, without building anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from generator.cli import main as generator_main
from generator.errors import SpecError
from generator.model import load_spec, parse_spec
from generator.output import MANIFEST
from generator.render import render_module

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "module_spec.yaml"

# A minimal valid spec; the error tests change one thing in it.
BASE = """\
module:
  name: executorch
  hooks:
    - {level: scene, header: executorch_support.h, initialize: initialize_executorch_support, uninitialize: uninitialize_executorch_support}
  link_libraries: [executorch]
classes:
  - name: Runner
    inherits: RefCounted
    brief: Runs things.
    methods:
      - name: run
        args:
          - {name: inputs, type: Dictionary}
          - {name: method, type: String, default: forward}
        returns: Dictionary
        doc: Runs.
mcp_tools:
  - name: run
    handler: run
    description: Run it.
    input_schema:
      type: object
      properties:
        inputs: {type: object}
        method: {type: string}
      required: [inputs]
"""


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as raised:
        parse_spec(textwrap.dedent(text), "spec.yaml")
    return str(raised.value)


# --- the spec model ---------------------------------------------------------------


def test_base_spec_parses_into_typed_objects():
    spec = parse_spec(BASE, "spec.yaml")
    (runner,) = spec.classes
    (run,) = runner.methods
    assert [a.name for a in run.args] == ["inputs", "method"]
    assert run.args[1].default == "forward" and not run.args[0].has_default
    assert run.returns.cpp_return == "Dictionary"
    assert runner.location.line == 7 and run.location.line == 11
    assert spec.tools[0].input_schema["required"] == ["inputs"]


def test_the_project_spec_is_valid():
    spec = load_spec(SPEC_PATH)
    assert {c.name for c in spec.classes} == {"ExecuTorchModel", "ExecuTorchRuntime", "ExecuTorchTensor", "ExecuTorchMCPServer"}
    runtime = spec.find_class("ExecuTorchRuntime")
    assert runtime is not None
    for name in ("load_model_from_file", "is_model_loaded", "run_inference", "get_model_info", "health_check",
                 "list_mcp_tools", "call_mcp_tool", "reset_performance_stats", "get_total_inferences",
                 "get_last_inference_time"):
        assert runtime.method(name) is not None, name


def test_spec_objects_are_immutable():
    spec = parse_spec(BASE, "spec.yaml")
    with pytest.raises(AttributeError):
        spec.classes[0].name = "Other"  # type: ignore[misc]


def test_unknown_key_names_the_allowed_keys():
    text = BASE.replace("        doc: Runs.\n", "        doc: Runs.\n        colour: red\n")
    assert error_of(text) == (
        "spec.yaml:17: error: unknown key 'colour' in method Runner.run; "
        "allowed keys: args, const, doc, name, returns, static"
    )


def test_unknown_top_level_key():
    assert error_of(BASE + "extras: 1\n") == (
        "spec.yaml:27: error: unknown key 'extras' in the spec's top level; allowed keys: classes, mcp_tools, module"
    )


def test_missing_required_key():
    text = BASE.replace("        returns: Dictionary\n", "")
    assert error_of(text) == "spec.yaml:11: error: method Runner.run is missing required key 'returns'"


def test_wrong_value_type():
    text = BASE.replace("        doc: Runs.\n", "        doc: [a, b]\n")
    assert error_of(text) == "spec.yaml:16: error: 'doc' of method Runner.run must be a string, got a list"


def test_unsupported_type_lists_the_supported_ones():
    message = error_of(BASE.replace("{name: inputs, type: Dictionary}", "{name: inputs, type: Vector9}"))
    assert message.startswith("spec.yaml:13: error: unsupported type 'Vector9' for argument 'inputs' of Runner.run; use one of: ")
    assert "PackedFloat32Array" in message
    assert message.endswith("Image, a class declared in this spec, or one of its enums as ClassName.EnumName")
    assert "void" not in message


def test_an_engine_image_is_passed_as_a_reference():
    text = BASE.replace("{name: inputs, type: Dictionary}", "{name: inputs, type: Image}")
    bind = {f.relative_path: f.content for f in render_module(parse_spec(text, "spec.yaml"))}["runner_bind.gen.cpp"]
    assert "Dictionary (Runner::*)(const Ref<Image> &, const String &)" in bind


def test_the_tensor_binds_its_image_conversions(rendered):
    bind = rendered["executorch_tensor_bind.gen.cpp"]
    assert ('ClassDB::bind_static_method("ExecuTorchTensor", D_METHOD("from_image", "image", "channels", "layout", "dtype", "mean", "std"), '
            "&ExecuTorchTensor::from_image, DEFVAL(3), DEFVAL(ExecuTorchTensor::LAYOUT_NCHW), DEFVAL(ExecuTorchTensor::DTYPE_FLOAT32), "
            "DEFVAL(PackedFloat32Array()), DEFVAL(PackedFloat32Array()));") in bind
    assert "BIND_ENUM_CONSTANT(LAYOUT_NHWC);" in bind
    doc = rendered["doc_classes/ExecuTorchTensor.xml"]
    assert '<method name="to_image" qualifiers="const">\n\t\t\t<return type="Image" />' in doc


def test_duplicate_method():
    method = BASE[BASE.index("      - name: run\n"):BASE.index("mcp_tools:")]
    text = BASE.replace("mcp_tools:", method + "mcp_tools:")
    assert error_of(text) == (
        "spec.yaml:17: error: duplicate method in class Runner 'run' (first at line 11); rename or remove one"
    )


def test_duplicate_yaml_key():
    text = BASE.replace("    brief: Runs things.\n", "    brief: Runs things.\n    brief: Again.\n")
    assert error_of(text) == "spec.yaml:10: error: duplicate key 'brief' (first at line 9); remove one of them"


def test_tool_handler_must_be_an_identifier():
    assert error_of(BASE.replace("handler: run", "handler: Runner.run")) == (
        "spec.yaml:19: error: handler of MCP tool 'run' name 'Runner.run' is not a usable identifier; use letters, "
        "digits and '_' (not starting with a digit, not a C++ or Python keyword)"
    )


def test_two_tools_cannot_share_a_handler():
    tool = BASE[BASE.index("  - name: run\n    handler"):]
    assert error_of(BASE + tool.replace("- name: run", "- name: walk")) == (
        "spec.yaml:27: error: MCP tools 'run' and 'walk' name the same handler 'run'; give each tool its own"
    )


def test_tool_schema_type_must_be_a_json_type():
    text = BASE.replace("method: {type: string}", "method: {type: text}")
    assert error_of(text) == (
        "spec.yaml:21: error: input_schema property 'method' of MCP tool 'run' has type 'text'; use one of: "
        "array, boolean, integer, null, number, object, string"
    )


def test_tool_must_declare_what_it_requires():
    text = BASE.replace("      required: [inputs]\n", "      required: [inputs, speed]\n")
    assert error_of(text) == "spec.yaml:21: error: MCP tool 'run' requires 'speed', which is not under 'properties'"


def test_hooks_name_a_level_and_a_header():
    assert error_of(BASE.replace("{level: scene,", "{level: later,")) == (
        "spec.yaml:4: error: hook level 'later' is not one of Godot's: core, servers, scene, editor"
    )
    assert error_of(BASE.replace("header: executorch_support.h", "header: ../outside.h")).startswith(
        "spec.yaml:4: error: 'header' of the scene hook must be a header under src/"
    )
    twice = BASE.replace("  link_libraries: [executorch]\n", "    - {level: scene, header: b.h, initialize: b, uninitialize: c}\n"
                         "  link_libraries: [executorch]\n")
    assert error_of(twice) == "spec.yaml:5: error: two hooks for level 'scene' (first at line 4); one function per level can call the others"


def test_singletons_and_properties():
    text = BASE.replace("mcp_tools:", textwrap.dedent("""\
          - name: Hub
            inherits: Object
            file: mcp/hub
            singleton: true
            brief: The hub.
            methods:
              - {name: get_label, returns: String, const: true, doc: The label.}
              - {name: set_label, args: [{name: label, type: String}], returns: void, doc: Sets it.}
            properties:
              - {name: label, type: String, getter: get_label, setter: set_label, default: "", doc: Its label.}
        mcp_tools:"""))
    spec = parse_spec(text, "spec.yaml")
    assert [c.name for c in spec.singletons] == ["Hub"] and [c.name for c in spec.scene_classes] == ["Runner"]
    files = {f.relative_path: f.content for f in render_module(spec)}
    register = files["register_types.cpp"]
    servers = register[register.index("MODULE_INITIALIZATION_LEVEL_SERVERS"):register.index("MODULE_INITIALIZATION_LEVEL_SCENE")]
    assert "GDREGISTER_CLASS(Hub);" in servers and 'Engine::Singleton("Hub", hub_singleton)' in servers
    assert '#include "mcp/hub.h"' in register
    assert 'ADD_PROPERTY(PropertyInfo(Variant::STRING, "label"), "set_label", "get_label");' in files["mcp/hub_bind.gen.cpp"]
    assert '#include "mcp/hub.h"' in files["mcp/hub_bind.gen.cpp"]  # src/ is on the include path
    assert '<member name="label" type="String" setter="set_label" getter="get_label" default="&quot;&quot;">' in files["doc_classes/Hub.xml"]
    assert "static_assert(std::is_same_v<decltype(&Hub::get_label), String (Hub::*)() const>," in files["mcp/hub_bind.gen.cpp"]
    assert "mcp/hub.gen.h" not in files  # the class is declared by hand in src/mcp/hub.h
    assert error_of(text.replace("inherits: Object\n    file: mcp/hub", "inherits: RefCounted\n    file: mcp/hub")) == (
        "spec.yaml:20: error: singleton class Hub must inherit Object (an engine singleton is not reference-counted), not RefCounted"
    )
    assert error_of(text.replace("getter: get_label", "getter: set_label")) == (
        "spec.yaml:26: error: property Hub.label needs a getter 'set_label' declared in the class with no arguments, returning String"
    )


def test_default_must_fit_the_type():
    text = BASE.replace("{name: method, type: String, default: forward}", "{name: method, type: String, default: 3}")
    assert error_of(text) == (
        "spec.yaml:14: error: default 3 of argument 'method' of Runner.run does not fit its type String; "
        "give a literal of that type (containers: only {} or [])"
    )


def test_bool_is_not_an_int_default():
    text = BASE.replace("{name: method, type: String, default: forward}", "{name: count, type: int, default: true}")
    assert "default True of argument 'count' of Runner.run does not fit its type int" in error_of(text)


def test_required_argument_after_a_default():
    text = BASE.replace(
        "          - {name: method, type: String, default: forward}\n",
        "          - {name: method, type: String, default: forward}\n          - {name: extra, type: int}\n",
    )
    assert error_of(text) == (
        "spec.yaml:15: error: argument 'extra' of Runner.run needs a default because 'method' before it has one"
    )


def test_reserved_word_as_a_name():
    assert error_of(BASE.replace("{name: inputs,", "{name: class,")) == (
        "spec.yaml:13: error: argument name 'class' is not a usable identifier; use letters, digits and '_' "
        "(not starting with a digit, not a C++ or Python keyword)"
    )


def test_unsupported_base_class():
    assert error_of(BASE.replace("inherits: RefCounted", "inherits: Node3D")) == (
        "spec.yaml:8: error: class Runner inherits 'Node3D'; use one of: Object, RefCounted, Resource"
    )


def test_invalid_yaml_reports_its_line():
    assert error_of(BASE.replace("    brief: Runs things.", "    brief: [unclosed")).startswith("spec.yaml:10: error: invalid YAML")


def test_errors_never_come_from_assert(monkeypatch):
    # python -O strips asserts; validation must not depend on them.
    source = (REPO_ROOT / "generator" / "model.py").read_text()
    assert "\n    assert " not in source and "\n        assert " not in source


# --- rendering --------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {f.relative_path: f.content for f in render_module(load_spec(SPEC_PATH))}


def test_renders_the_module_files(rendered):
    for path in ("register_types.h", "register_types.cpp", "config.py", "SCsub", "mcp/mcp_tools.gen.cpp",
                 "mcp/executorch_mcp_server_bind.gen.cpp", "executorch_runtime_bind.gen.cpp",
                 "doc_classes/ExecuTorchRuntime.xml", "doc_classes/ExecuTorchModel.xml"):
        assert path in rendered, path
    assert "doc_classes/ExecuTorchMCPServer.xml" in rendered


def test_the_outputs_are_known_from_the_spec_alone(rendered):
    """SConstruct declares output_paths() as the generate step's targets (scons -c removes them):
    exactly what rendering writes, plus the operator table, which its own node derives."""
    from generator.render import OPERATOR_TABLE, output_paths

    assert output_paths(load_spec(SPEC_PATH)) == sorted([*rendered, OPERATOR_TABLE])


def test_rendering_the_spec_does_not_import_torch():
    """The operator table (torch's schemas) is its own step; a spec edit renders in a fraction of a second."""
    code = ("import sys; from generator.model import load_spec; from generator.render import render_module; "
            "render_module(load_spec(__import__('pathlib').Path('module_spec.yaml'))); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_module_holds_only_generated_files(rendered):
    """src/ is compiled where it is: no hand-written file is copied, and no generated header declares a class."""
    sources = {p.relative_to(REPO_ROOT / "src").as_posix() for p in (REPO_ROOT / "src").rglob("*") if p.is_file()}
    assert not sources & set(rendered), sorted(sources & set(rendered))
    assert not [p for p in rendered if p.endswith(".gen.h") and p != "pte/pte_operators.gen.h"]
    assert "executorch_src" in rendered["config.py"] and "os.walk(src_dir)" in rendered["SCsub"]


def test_no_header_in_src_takes_declarations_from_a_generated_macro():
    for header in (REPO_ROOT / "src").rglob("*.h"):
        text = header.read_text(encoding="utf-8")
        assert not re.search(r"_GENERATED_(API|ENUMS|CASTS)|#include \"[^\"]*\.gen\.h\"", text), header


def test_generated_files_carry_the_banner(rendered):
    for path, content in rendered.items():
        if ".gen." in path or path in ("register_types.cpp", "config.py", "SCsub") or path.endswith(".xml"):
            origin = "Generated by generator/operator_kinds.py" if path == "pte/pte_operators.gen.h" else "Generated from module_spec.yaml"
            assert origin in content and "Edits will be lost" in content, path


def test_bindings_follow_the_spec(rendered):
    bind = rendered["executorch_runtime_bind.gen.cpp"]
    assert ('ClassDB::bind_method(D_METHOD("run_inference", "inputs", "method"), '
            '&ExecuTorchRuntime::run_inference, DEFVAL("forward"));') in bind
    assert 'ADD_SIGNAL(MethodInfo("model_loaded", PropertyInfo(Variant::STRING, "path")));' in bind
    # A header that drifts from the spec fails to compile with the spec entry and the declaration to write.
    line = SPEC_PATH.read_text(encoding="utf-8").splitlines().index("      - name: run_inference") + 1
    assert ("static_assert(std::is_same_v<decltype(&ExecuTorchRuntime::run_inference), "
            "Dictionary (ExecuTorchRuntime::*)(const Dictionary &, const String &)>,\n"
            f"\t\t\"module_spec.yaml:{line}: ExecuTorchRuntime.run_inference in the spec does not match src/executorch_runtime.h; "
            "declare it there as: Dictionary run_inference(const Dictionary &p_inputs, const String &p_method = \\\"forward\\\");\");") in bind
    assert "static_assert(std::is_same_v<decltype(&ExecuTorchRuntime::get_thread_count), int64_t (*)()>," in bind
    assert ("void ExecuTorchRuntime::emit_model_loaded(const String &p_path) {\n"
            "\temit_signal(SNAME(\"model_loaded\"), p_path);\n}") in bind


def test_scsub_links_the_spec_libraries(tmp_path):
    text = BASE.replace("  link_libraries: [executorch]\n",
                        "  link_whole_libraries: [executorch, extra_backend]\n  link_libraries: [helpers, executorch_core]\n"
                        "  link_libraries_if_built: [arm_kernels]\n")
    scsub = {f.relative_path: f.content for f in render_module(parse_spec(text, "spec.yaml"))}["SCsub"]
    assert 'LINK_LIBRARIES_IF_BUILT = [\n    "arm_kernels",\n]' in scsub
    assert 'LINK_WHOLE_LIBRARIES = [\n    "executorch",\n    "extra_backend",\n]' in scsub
    assert 'LINK_LIBRARIES = [\n    "helpers",\n    "executorch_core",\n]' in scsub


def test_a_library_is_linked_one_way():
    text = BASE.replace("  link_libraries: [executorch]\n",
                        "  link_whole_libraries: [executorch]\n  link_libraries: [helpers, executorch]\n")
    assert error_of(text) == ("spec.yaml:6: error: 'executorch' is in both 'link_whole_libraries' and 'link_libraries'; "
                              "a library is linked one way: whole if it registers operators or backends, else in order")
    twice = BASE.replace("  link_libraries: [executorch]\n", "  link_libraries: [executorch, executorch]\n")
    assert error_of(twice) == "spec.yaml:5: error: 'executorch' is twice in 'link_libraries'; name each library once"


def test_link_library_must_be_a_name():
    text = BASE.replace("  link_libraries: [executorch]\n", "  link_libraries:\n    - executorch\n    - -lfoo\n")
    assert error_of(text) == ("spec.yaml:7: error: each of 'link_libraries' must be a library name such as executorch "
                              "(for libexecutorch.a), got '-lfoo'")


def test_config_doc_classes_match_registered_exposed_classes(rendered):
    namespace: dict = {}
    exec(compile(rendered["config.py"], "config.py", "exec"), namespace)  # noqa: S102 - our own generated file
    assert namespace["get_doc_classes"]() == ["ExecuTorchMCPServer", "ExecuTorchModel", "ExecuTorchRuntime", "ExecuTorchTensor"]
    registered = rendered["register_types.cpp"]
    assert "GDREGISTER_CLASS(ExecuTorchRuntime);" in registered and "GDREGISTER_CLASS(ExecuTorchModel);" in registered
    assert "GDREGISTER_CLASS(ExecuTorchMCPServer);" in registered


def test_doc_xml_is_valid_and_complete(rendered):
    root = ET.fromstring(rendered["doc_classes/ExecuTorchRuntime.xml"])
    assert root.get("name") == "ExecuTorchRuntime" and root.get("inherits") == "RefCounted"
    methods = [m.get("name") for m in root.iter("method")]
    assert methods == sorted(methods) and "run_inference" in methods
    run = next(m for m in root.iter("method") if m.get("name") == "run_inference")
    params = run.findall("param")
    assert [(p.get("name"), p.get("type"), p.get("default")) for p in params] == [
        ("inputs", "Dictionary", None), ("method", "String", '"forward"')]
    assert "input_0" in run.find("description").text
    assert [s.get("name") for s in root.iter("signal")] == ["inference_completed", "model_loaded", "model_reloaded"]
    (member,) = root.iter("member")
    assert (member.get("name"), member.get("setter"), member.get("getter")) == ("model_name", "set_model_name", "get_model_name")


def test_tool_schemas_are_embedded_as_json(rendered):
    tools = rendered["mcp/mcp_tools.gen.cpp"]
    assert tools.index('"get_model_info"') < tools.index('"health_check"') < tools.index('"list_models"') < tools.index('"run_inference"')
    assert "tool.handler = &MCPToolbox::run_inference;" in tools
    assert '\\"propertyNames\\":' in tools


def test_rendering_is_deterministic():
    spec = load_spec(SPEC_PATH)
    assert render_module(spec) == render_module(load_spec(SPEC_PATH))


def test_output_has_no_absolute_paths_or_timestamps(rendered):
    for path, content in rendered.items():
        assert str(REPO_ROOT) not in content, path
        assert not re.search(r"20\d\d-\d\d-\d\dT|\d\d:\d\d:\d\d", content), path  # no timestamps (MCP revisions are dates)


# --- the CLI ----------------------------------------------------------------------


def test_cli_writes_then_reports_up_to_date(tmp_path, capsys):
    out = tmp_path / "executorch"
    assert generator_main(["--out", str(out)]) == 0
    assert (out / "register_types.cpp").is_file() and (out / MANIFEST).is_file()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert generator_main(["--out", str(out), "--check"]) == 0
    assert generator_main(["--out", str(out)]) == 0
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert before == after, "an unchanged file was rewritten"
    assert "0 written" in capsys.readouterr().out


def test_cli_check_detects_stale_output(tmp_path, capsys):
    out = tmp_path / "executorch"
    generator_main(["--out", str(out), "-q"])
    (out / "register_types.cpp").write_text("// edited by hand\n")
    assert generator_main(["--out", str(out), "--check"]) == 1
    assert "stale (1 file(s): register_types.cpp)" in capsys.readouterr().err
    assert generator_main(["--out", str(out), "-q"]) == 0
    assert generator_main(["--out", str(out), "--check"]) == 0


def test_cli_spec_error_exits_2_and_writes_nothing(tmp_path, capsys):
    spec = tmp_path / "module_spec.yaml"
    spec.write_text(BASE.replace("type: Dictionary}", "type: Nope}"))
    out = tmp_path / "out"
    assert generator_main(["--spec", str(spec), "--out", str(out)]) == 2
    assert "error: unsupported type 'Nope'" in capsys.readouterr().err
    assert not out.exists()


def test_cli_removes_outputs_a_spec_edit_no_longer_produces(tmp_path):
    out = tmp_path / "executorch"
    generator_main(["--out", str(out), "-q"])
    stale = out / "old_class.gen.h"
    stale.write_text("// from an older spec\n")
    (out / MANIFEST).write_text((out / MANIFEST).read_text() + "old_class.gen.h\n")
    object_file = out / "register_types.linuxbsd.template_debug.x86_64.o"
    object_file.write_bytes(b"\0")  # Godot's build products live beside the sources
    generator_main(["--out", str(out), "-q"])
    assert not stale.exists()
    assert object_file.exists()


def test_out_gives_a_standalone_module(tmp_path):
    out = tmp_path / "my_godot" / "modules" / "executorch"
    assert generator_main(["--out", str(out), "-q"]) == 0
    names = {p.name for p in out.iterdir()}
    # only generated files: the module's SCsub compiles src/ where it is (executorch_src=)
    assert {"SCsub", "config.py", "register_types.cpp", "executorch_runtime_bind.gen.cpp"} <= names
    assert "executorch_runtime.cpp" not in names
    copied = shutil.copytree(out, tmp_path / "copy")
    assert generator_main(["--out", str(copied), "--check", "-q"]) == 0


# --- enums and static methods ---------------------------------------------------------

ENUM_SPEC = BASE.replace("""    methods:
      - name: run
""", """    enums:
      - name: Mode
        doc: How to run.
        values:
          - {name: MODE_FAST, value: 0, doc: Quickly.}
          - {name: MODE_SAFE, value: 1, doc: Carefully.}
    methods:
      - name: make
        static: true
        args:
          - {name: mode, type: Runner.Mode, default: MODE_SAFE}
        returns: Runner
        doc: Makes one.
      - name: run
""")


def test_enums_and_static_methods_parse_and_render(tmp_path):
    spec = parse_spec(ENUM_SPEC, "spec.yaml")
    runner = spec.classes[0]
    assert [v.name for v in runner.enums[0].values] == ["MODE_FAST", "MODE_SAFE"]
    make = runner.method("make")
    assert make.is_static and make.args[0].type.is_enum and make.args[0].type.cpp_arg == "Runner::Mode"
    spec_file = tmp_path / "module_spec.yaml"
    spec_file.write_text(ENUM_SPEC)
    out = tmp_path / "out"
    assert generator_main(["--spec", str(spec_file), "--out", str(out), "-q"]) == 0
    assert not (out / "runner.gen.h").exists()
    bind = (out / "runner_bind.gen.cpp").read_text()
    assert "static_assert(std::is_same_v<std::underlying_type_t<Runner::Mode>, int64_t>," in bind
    assert ('static_assert(Runner::MODE_SAFE == 1, "module_spec.yaml:15: Runner.MODE_SAFE is 1 in the spec; '
            'src/runner.h must declare `enum Mode : int64_t` with MODE_SAFE = 1");') in bind
    assert ("static_assert(std::is_same_v<decltype(&Runner::make), Ref<Runner> (*)(Runner::Mode)>,\n\t\t\"module_spec.yaml:17: "
            "Runner.make in the spec does not match src/runner.h; declare it there as: "
            "static Ref<Runner> make(Runner::Mode p_mode = Runner::MODE_SAFE);\");") in bind
    assert 'ClassDB::bind_static_method("Runner", D_METHOD("make", "mode"), &Runner::make, DEFVAL(Runner::MODE_SAFE));' in bind
    assert "BIND_ENUM_CONSTANT(MODE_SAFE);" in bind
    doc = ET.fromstring((out / "doc_classes" / "Runner.xml").read_text())
    method = next(m for m in doc.iter("method") if m.get("name") == "make")
    assert method.get("qualifiers") == "static"
    param = method.find("param")
    assert (param.get("type"), param.get("enum"), param.get("default")) == ("int", "Runner.Mode", "1")
    assert [(c.get("name"), c.get("value"), c.get("enum")) for c in doc.iter("constant")] == [
        ("MODE_FAST", "0", "Mode"), ("MODE_SAFE", "1", "Mode")]


def test_enum_default_must_name_a_value():
    text = ENUM_SPEC.replace("default: MODE_SAFE", "default: MODE_TURBO")
    assert error_of(text) == (
        "spec.yaml:20: error: default 'MODE_TURBO' of argument 'mode' of Runner.make is not a value of Runner.Mode; "
        "use one of: MODE_FAST, MODE_SAFE"
    )


def test_enum_value_must_be_an_integer():
    text = ENUM_SPEC.replace("{name: MODE_SAFE, value: 1,", "{name: MODE_SAFE, value: one,")
    assert error_of(text) == "spec.yaml:15: error: 'value' of enum value MODE_SAFE must be an integer, got str 'one'"


def test_const_and_static_together_is_an_error():
    text = ENUM_SPEC.replace("        static: true\n", "        static: true\n        const: true\n")
    assert "cannot be both 'const' and 'static'" in error_of(text)
