"""No call crashes the game: the thread count changed while inferences run (in
fresh engines, several times, as races do not fail every run), model files
changed under a loaded model, numbers outside what the API takes, and int8
programs. The GDScript suites hold the checks; this file runs them the way
their failures showed, and pins the error each bad value prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from model_tools import export_model
from tests.integration.conftest import assert_errors_printed, assert_suite_passed, run_engine
from tools.godot_project import create_project

RACE_RUNS = 4
"""Fresh engines running the thread-count suite. Before the fix, 8 of 9 debug runs
of the independent fuzz failed; this suite failed every run (heap corruption
or a dangling pool)."""

EXPECTED_NUMERIC_ERRORS = [
    "The tensor 'shape' [4294967296, 4294967296] has dimension 0 of size 4294967296; ExecuTorch tensors allow at most 2147483647 per dimension.",
    "The tensor 'shape' [4611686018427387904, 4] has dimension 0 of size 4611686018427387904;",
    "The tensor 'shape' [1099511627776, 1073741824] has dimension 0 of size 1099511627776;",
    "The tensor 'shape' [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] has 17 dimensions; ExecuTorch tensors have at most 16.",
    "Unknown tensor 'dtype' 9223372036854775807; use one of ExecuTorchTensor's DTYPE_* constants.",
    "Unknown tensor 'dtype' -2;",
    "Unknown tensor 'dtype' 10;",
    "Element 1 of the tensor 'data' is nan, which has no int8 value; pass finite numbers within the int64 range, or use a float dtype.",
    "Element 0 of the tensor 'data' is inf, which has no int64 value;",
    "Element 0 of the tensor 'data' is -inf, which has no uint8 value;",
    "'input_0'[2] is nan, which has no int64 value for input 0 of 'forward'; pass finite numbers within the int64 range.",
    "inputs[0][4] is -inf, which has no int64 value for input 0 of 'forward';",
    "'time_budget_ms' must be a positive, finite number of milliseconds, not inf.",
    "'time_budget_ms' must be a positive, finite number of milliseconds, not nan.",
    "'iterations' must be positive, not -9223372036854775807.",
    "The thread 'count' must be between 1 and ",
    "The MCP server 'port' must be 0 (any free port) or 1-65535, not 4294967376.",
    "The MCP server 'port' must be 0 (any free port) or 1-65535, not 8589934593.",
]


@pytest.mark.parametrize("run", range(RACE_RUNS))
def test_thread_count_races_in_fresh_engines(run_suite, run):
    assert_suite_passed(run_suite("test_thread_count_races.gd"))


def test_numeric_inputs_print_each_error(run_suite):
    run = run_suite("test_numeric_inputs.gd")
    assert_suite_passed(run)
    assert_errors_printed(run, EXPECTED_NUMERIC_ERRORS)


def test_file_changes_with_hot_reload_off(run_suite):
    run = run_suite("test_model_file_changes.gd")
    assert_suite_passed(run)
    assert "Hot reload" not in run.output, "hot reload was meant to be off: the loaded program alone must serve the calls"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def read_only_directory(tmp_path: Path, test_models: Path):
    """linear.pte on a tmpfs mounted read-only (needs root; skipped otherwise)."""
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    if shutil.which("mount") is None or not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)):
        pytest.skip("mounting a tmpfs needs root")
    try:
        shutil.copy(test_models / "linear.pte", mount_point / "linear.pte")
        assert _mount("-o", "remount,ro", str(mount_point))
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_only_read_only_files_are_memory_mapped(godot_bin: Path, tmp_path: Path, read_only_directory: Path, test_models: Path):
    project = create_project(tmp_path / "game")
    (project / "mapped.gd").write_text(
        "extends SceneTree\n"
        "func _initialize():\n"
        "\tfor path in ['%s', '%s']:\n"
        "\t\tvar model := ExecuTorchModel.new()\n"
        "\t\tmodel.load_from_file(path)\n"
        "\t\tprint('MAPPED ', path.get_base_dir().get_file(), ' ', model.is_memory_mapped(), ' ', model.execute('forward', [[2.5]])[0].get_data()[0])\n"
        "\tquit()\n" % (read_only_directory / "linear.pte", test_models / "linear.pte")
    )
    run = run_engine(godot_bin, ["--path", str(project), "--script", "res://mapped.gd"])
    assert "MAPPED ro true 8" in run.stdout, run.output[-3000:]
    assert "MAPPED models false 8" in run.stdout, run.output[-3000:]


class _Concatenate(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b])


def test_a_refusal_names_the_list_kind_whole(godot_bin: Path, tmp_path: Path):
    """The validator's message for a bad TensorList item read "(ensorList)"."""
    from executorch.exir._serialize._program import deserialize_pte_binary, serialize_pte_binary

    project = create_project(tmp_path / "game")
    good = export_model(_Concatenate(), project / "cat.pte", example_inputs=(torch.ones(2), torch.ones(3)))
    pte = deserialize_pte_binary(good.read_bytes())
    values = pte.program.execution_plan[0].values
    index = next(i for i, value in enumerate(values) if type(value.val).__name__ == "TensorList")
    values[index].val.items = [0, len(values) - 1]  # a value defined after the list
    (project / "bad.pte").write_bytes(bytes(serialize_pte_binary(pte, extract_delegate_segments=True, segment_alignment=128)))
    (project / "load.gd").write_text(
        "extends SceneTree\nfunc _initialize():\n\tprint('LOADED ', ExecuTorchModel.new().load_from_file('res://bad.pte'))\n\tquit()\n")
    run = run_engine(godot_bin, ["--path", str(project), "--script", "res://load.gd"])
    assert "LOADED false" in run.stdout, run.output[-3000:]
    assert f"value {index} (TensorList) item 1 is value {len(values) - 1}, which is not an earlier value; the file is corrupt." in run.stderr, run.stderr[-3000:]
