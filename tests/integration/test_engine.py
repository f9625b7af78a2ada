"""The built engine, headless, running the GDScript suites in tests/project."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT, assert_errors_printed, assert_suite_passed, run_engine
from tools.godot_project import create_project

# Every bad input of tests/project/suites/test_errors.gd must print a Godot
# error that names the problem (and not merely fail quietly).
EXPECTED_ERRORS = [
    "No model is loaded. Call load_model_from_file() first.",
    "does_not_exist.pte'. Check the path",
    "not_a_pte.pte' is not an ExecuTorch program (.pte)",
    "'res://models/truncated.pte' is not a program this engine can run safely, so it was not loaded: ",
    "ExecuTorch failed to execute 'forward': ",
    "empty.pte' is 0 bytes long, too short to be an ExecuTorch program",
    "The 'path' of the .pte file is empty.",
    "Unknown input 'x': method 'forward' takes 1 input(s), keyed input_0 to input_0.",
    "Unknown input 'input_1'",
    "Missing input 'input_0'",
    "'input_0' has 2 value(s) but input 0 of 'forward' has shape [1] (1 value(s)); pass exactly 1 number(s).",
    "'input_0' has 0 value(s)",
    "'input_0'[0] is a String; inputs must be numbers.",
    "'input_0' is a String; pass an Array of numbers, a packed numeric array or an ExecuTorchTensor.",
    "'input_0' is a Dictionary; pass an Array",
    "The model has no method 'no_such_method'; its methods are: forward.",
    "Unknown MCP tool 'no_such_tool'; the tools are: get_model_info, health_check, list_models, run_inference, linear.forward.",
    "Argument 'inputs' of MCP tool 'run_inference' must be a Dictionary, not a String.",
    "MCP tool 'run_inference' has no argument 'bogus'. Model inputs are named input_0, input_1, ..., at the top level or inside 'inputs'.",
    "The program has no method 'nope'; its methods are: forward.",
    "No program is loaded. Call load_from_file() first.",
]

# ExecuTorch's default log format ("E 00:00:00.123 executorch:file.cpp:12] ...");
# with the module's log hook, no line may reach the output in this form.
RAW_EXECUTORCH_LOG = re.compile(r"^[DIEF] \d\d:\d\d:\d\d\.\d+ executorch:", re.M)


# Issue 3's bad inputs (tensors, execute, async, benchmark), from the suites below.
EXPECTED_TENSOR_ERRORS = [
    "The tensor 'shape' [2, 2] holds 4 element(s) but 'data' has 3.",
    "The tensor 'shape' [-1, -2] has a negative dimension.",
    "Element 0 of the tensor 'data' is a String; a tensor holds numbers or bools.",
    "The tensor 'data' is a String; pass a packed array or an Array of numbers.",
    "Unknown tensor 'dtype' 42; use one of ExecuTorchTensor's DTYPE_* constants.",
    "Method 'forward' takes 1 input(s), got 0.",
    "Method 'forward' takes 1 input(s), got 2.",
    "inputs[0] has dtype int64 but input 0 of 'forward' is float32; create the tensor with that dtype.",
    "inputs[0] has shape [1, 1] (rank 2) but input 0 of 'forward' has shape [1] (rank 1).",
    "inputs[0] has 2 value(s) but input 0 of 'forward' has shape [1] (1 value(s)); pass exactly 1 number(s).",
    "The 'model' is null. Pass an ExecuTorchModel",
    "The 'model' has no program loaded.",
    "Request 1: 'input_0'[0] is a String; inputs must be numbers.",
    "No inputs for 'forward' yet: call run_inference(inputs, \"forward\") once first",
    "'iterations' must be positive, not 0.",
    "The thread 'count' must be between 1 and ",
]

# Issue 21's image conversions, from test_tensor_images.gd.
EXPECTED_IMAGE_ERRORS = [
    "The 'image' is null; pass an Image.",
    "The 'image' is empty (no pixels); pass an Image with a size.",
    "'channels' is 2; use 3 (RGB), 4 (RGBA) or 1 (luminance).",
    "Unknown 'layout' 7; use ExecuTorchTensor.LAYOUT_NCHW or LAYOUT_NHWC.",
    "An image tensor's 'dtype' must be a float dtype or DTYPE_UINT8, not 6 (int32).",
    "Pass both 'mean' and 'std' (one value per channel), or neither.",
    "'mean' has 1 value(s) and 'std' 1, but the image has 3 channel(s); pass one value per channel.",
    "Channel 1 has 'mean' 0.5 and 'std' 0.0; each must be finite and each 'std' non-zero.",
    "DTYPE_UINT8 holds the image's bytes as they are; 'mean' and 'std' apply to float dtypes only.",
    "The tensor's shape [4] is not an image's: use [1, C, H, W] or [C, H, W] (LAYOUT_NCHW)",
    "The tensor's shape [2, 2, 1, 1] is not an image's",
    "The tensor's shape [2, 2, 2] is not an image's",
    "A tensor of dtype int64 is not an image; to_image() takes float dtypes and uint8.",
    "Channel 0 has 'mean' 0.5 and 'std' inf; each must be finite and each 'std' non-zero.",
]

SUITES = sorted(path.name for path in (PROJECT / "suites").glob("test_*.gd"))


@pytest.mark.parametrize("suite", SUITES)
def test_gdscript_suite(run_suite, suite):
    assert_suite_passed(run_suite(suite))


def test_bad_input_suite_prints_each_error(run_suite):
    run = run_suite("test_errors.gd")
    assert_suite_passed(run)
    assert_errors_printed(run, EXPECTED_ERRORS)


def test_typed_tensor_suites_print_each_error(run_suite):
    run = run_suite("test_tensors.gd", "test_models_as_resources.gd", "test_async_and_monitors.gd")
    assert_suite_passed(run)
    assert_errors_printed(run, EXPECTED_TENSOR_ERRORS)


def test_image_suite_prints_each_error(run_suite):
    run = run_suite("test_tensor_images.gd")
    assert_suite_passed(run)
    assert_errors_printed(run, EXPECTED_IMAGE_ERRORS)


def test_agents_past_the_batch_bound_get_an_error_naming_it(run_suite):
    run = run_suite("test_agents.gd")
    assert_suite_passed(run)
    assert_errors_printed(run, ["has shape [4097, 16] but input 0 of 'forward' allows at most [4096, 16] (static sizes are exact, "
                                "dynamic ones upper bounds); split the input, or export with larger bounds."])


def test_executorch_logs_go_through_godot(run_suite):
    run = run_suite("test_errors.gd")
    assert "ExecuTorch: " in run.stderr, "ExecuTorch's own error for the embedding id out of range should be routed to Godot"
    assert not RAW_EXECUTORCH_LOG.search(run.output), RAW_EXECUTORCH_LOG.search(run.output).group(0)
    assert "register_pal() called multiple times" not in run.output


def test_engine_starts_without_errors(run_suite):
    run = run_suite("test_linear.gd")
    assert "ERROR" not in run.stderr, run.stderr[-3000:]


def test_the_engine_links_no_executorch_library(godot_bin: Path):
    # ExecuTorch is linked in statically: ldd lists system libraries only.
    ldd = subprocess.run(["ldd", str(godot_bin)], capture_output=True, text=True).stdout
    assert "=>" in ldd, ldd
    assert not re.search(r"executorch|xnnpack|pthreadpool|cpuinfo", ldd, re.I), ldd
    assert not list(godot_bin.parent.glob("libexecutorch*.so")), "ExecuTorch libraries left beside the engine"


def test_bin_directory_is_relocatable(godot_bin: Path, tmp_path: Path, test_models: Path):
    moved = tmp_path / "moved-bin"
    shutil.copytree(godot_bin.parent, moved, symlinks=True)
    project = create_project(tmp_path / "project")
    script = project / "predict.gd"
    script.write_text(
        "extends SceneTree\n"
        "func _initialize():\n"
        "\tvar runtime := ExecuTorchRuntime.new()\n"
        f"\truntime.load_model_from_file('{test_models / 'linear.pte'}')\n"
        "\tprint('PREDICTED ', runtime.run_inference({'input_0': [2.5]})['output_0'][0])\n"
        "\tquit()\n"
    )
    run = run_engine(moved / godot_bin.name, ["--path", str(project), "--script", "res://predict.gd"])
    assert "PREDICTED 8" in run.stdout, run.output[-3000:]


def test_command_line_switch_starts_the_mcp_server(godot_bin: Path, tmp_path: Path, test_models: Path):
    project = create_project(tmp_path / "game", (test_models / "linear.pte",))
    (project / "main.gd").write_text(
        "extends SceneTree\n"
        "func _initialize():\n"
        "\tprint('AT START ', ExecuTorchMCPServer.is_running(), ' ', ExecuTorchMCPServer.get_port() > 0)\n"
        "\tvar runtime := ExecuTorchRuntime.new()\n"
        "\truntime.load_model_from_file('res://linear.pte')\n"
        "\tprint('RUNTIME SEES ', runtime.is_mcp_server_running(), ' ', ExecuTorchMCPServer.get_model_names())\n"
        "\tquit()\n"
    )
    with_switch = run_engine(godot_bin, ["--path", str(project), "--script", "res://main.gd", "--", "--executorch-mcp-port=0"])
    assert "AT START true true" in with_switch.stdout, with_switch.output  # the whole game's server, before any model
    assert "RUNTIME SEES true [\"linear\"]" in with_switch.stdout, with_switch.output
    assert "MCP server listening on http://127.0.0.1:" in with_switch.stdout
    without = run_engine(godot_bin, ["--path", str(project), "--script", "res://main.gd"])
    assert "AT START false false" in without.stdout, without.output
    bad = run_engine(godot_bin, ["--path", str(project), "--script", "res://main.gd", "--", "--executorch-mcp-port=http"])
    assert "--executorch-mcp-port= takes a port number from 0 (any free port) to 65535, not 'http'." in bad.stderr
    # The project setting does the same without a command-line switch.
    (project / "project.godot").write_text("config_version=5\n\n[executorch]\n\nmcp/autostart=true\nmcp/port=0\n")
    with_setting = run_engine(godot_bin, ["--path", str(project), "--script", "res://main.gd"])
    assert "AT START true true" in with_setting.stdout, with_setting.output
