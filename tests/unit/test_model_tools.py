"""Tests for model_tools: export, verify, info, bench-python, the model bank and the CLI's user errors.

Exports take seconds each, so .pte files are built once per module (the
whole bank, ~12 s, by one ``export_bank`` call). CLI user
errors run as real subprocesses (to prove exit code 2 and no traceback);
other CLI paths run ``model_tools.cli.main`` in-process to avoid paying the
executorch import (~6 s) per test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from model_tools import BANK, MODELS, ModelSpec, ProgramSpec, UserError, export_bank, export_model, verify  # noqa: E402
from model_tools.cli import main  # noqa: E402
from model_tools.models import HalfAffine, PositiveMask  # noqa: E402


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m model_tools`` as a user would, from the repo root."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "model_tools", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def execute(pte: Path, *inputs: torch.Tensor, method: str = "forward") -> list[torch.Tensor]:
    """Run a .pte with ExecuTorch's Python runtime directly (independent of model_tools)."""
    from executorch.runtime import Runtime

    loaded = Runtime.get().load_program(pte).load_method(method)
    return list(loaded.execute(list(inputs)))


@pytest.fixture(scope="module")
def pte_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pte")


@pytest.fixture(scope="module")
def linear_pte(pte_dir: Path) -> Path:
    return export_model("linear", pte_dir / "nested" / "linear.pte")


@pytest.fixture(scope="module")
def two_io_pte(pte_dir: Path) -> Path:
    return export_model("two_io", pte_dir / "two_io.pte")


@pytest.fixture(scope="module")
def bank(pte_dir: Path) -> dict[str, Path]:
    return export_bank(pte_dir / "bank")


def test_export_creates_output_directory(linear_pte: Path) -> None:
    assert linear_pte.is_file()
    assert linear_pte.read_bytes()[4:8] == b"ET12"  # ExecuTorch flatbuffer identifier


def test_linear_verifies(linear_pte: Path) -> None:
    report = verify(linear_pte, "linear", 1e-4)
    assert report["ok"], report["problems"]
    assert report["cases"] == 4
    assert len(report["max_abs_error"]) == 1 and report["max_abs_error"][0] <= 1e-4


@pytest.mark.parametrize("x, y", [(0.0, 3.0), (1.0, 5.0), (2.0, 7.0), (-1.0, 1.0), (2.5, 8.0)])
def test_linear_predicts_2x_plus_3(linear_pte: Path, x: float, y: float) -> None:
    (out,) = execute(linear_pte, torch.tensor([x], dtype=torch.float32))
    assert list(out.shape) == [1]
    assert abs(out.item() - y) <= 1e-4


def test_verify_reports_wrong_weights(pte_dir: Path) -> None:
    wrong = torch.nn.Linear(1, 1)
    with torch.no_grad():
        wrong.weight.fill_(2.0)
        wrong.bias.fill_(4.0)  # off by one from the 'linear' model
    pte = export_model(wrong, pte_dir / "wrong.pte", example_inputs=(torch.zeros(1),))
    report = verify(pte, "linear", 1e-4)
    assert not report["ok"]
    assert report["max_abs_error"][0] == pytest.approx(1.0, abs=1e-5)
    assert "exceed atol" in report["problems"][0]


def test_verify_reports_wrong_model_shapes(two_io_pte: Path) -> None:
    report = verify(two_io_pte, "linear", 1e-4)
    assert not report["ok"]
    assert "takes 2 input(s), got 1" in report["problems"][0]


def test_two_io_keeps_input_and_output_order(two_io_pte: Path) -> None:
    a = torch.tensor([1.0, 2.0, 3.0])
    b = torch.tensor([10.0, 20.0, 30.0])
    first, second = execute(two_io_pte, a, b)
    assert first.tolist() == [-9.0, -18.0, -27.0]  # a - b: swapped inputs would flip the sign
    assert second.tolist() == [10.0, 40.0, 90.0]  # a * b
    assert verify(two_io_pte, "two_io", 1e-4)["ok"]


def test_mlp_xnnpack_verifies_and_is_delegated(bank: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pte = bank["mlp_xnnpack"]
    report = verify(pte, "mlp", 1e-4)
    assert report["ok"], report["problems"]
    assert main(["info", str(pte), "--json"]) == 0
    forward = json.loads(capsys.readouterr().out)["methods"]["forward"]
    assert forward["delegates"] == ["XnnpackBackend"]
    assert forward["inputs"][0]["shape"] == [1, 256]
    assert forward["outputs"][0]["shape"] == [1, 10]


def test_preserve_linear_refuses_1d_input(pte_dir: Path) -> None:
    with pytest.raises(UserError, match="1-D input"):
        export_model("linear", pte_dir / "refused.pte", preserve_linear=True)
    assert not (pte_dir / "refused.pte").exists()


def test_user_module_export_and_verify(tmp_path: Path) -> None:
    source = tmp_path / "user_model.py"
    source.write_text(
        "import torch\n"
        "class Tiny(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(4, 2)\n"
        "    def forward(self, x):\n"
        "        return torch.tanh(self.fc(x))\n"
    )
    spec = f"{source}:Tiny"
    assert main(["export", "--module", spec, "--example-shape", "1,4", "--out", str(tmp_path / "t.pte")]) == 0
    # Random init must be reproduced by verify, or this would mismatch.
    assert main(["verify", str(tmp_path / "t.pte"), "--module", spec, "--example-shape", "1,4"]) == 0


def test_cli_verify_exits_1_on_mismatch(two_io_pte: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(two_io_pte), "--model", "linear"]) == 1
    assert "MISMATCH" in capsys.readouterr().err


def test_cli_bench_python_prints_json(linear_pte: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-python", str(linear_pte), "--input-shape", "1", "--iterations", "50"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["iterations"] == 50
    assert 0 < result["median_us"] < 1_000_000


def test_cli_info_json_subprocess(linear_pte: Path) -> None:
    proc = run_cli("info", str(linear_pte), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    forward = info["methods"]["forward"]
    assert info["size_bytes"] == linear_pte.stat().st_size
    assert [(e["dtype"], e["shape"]) for e in forward["inputs"]] == [("float32", [1])]
    assert [(e["dtype"], e["shape"]) for e in forward["outputs"]] == [("float32", [1])]


@pytest.mark.parametrize(
    "args, message",
    [
        (("info", "no/such/model.pte"), ".pte file not found: no/such/model.pte"),
        (("verify", "no/such/model.pte", "--model", "linear"), ".pte file not found"),
        (("export", "no_such_model", "--out", "x.pte"), "unknown model name 'no_such_model'; use one of: linear"),
        (("export", "--module", "model.py", "--out", "x.pte"), "bad --module spec 'model.py'"),
        (("export", "--module", "missing.py:Net", "--out", "x.pte"), "--module file not found: missing.py"),
        (("export-bank", "x.pte", "--only", "nope"), "not in the bank: nope; use some of: linear, two_io"),
    ],
)
def test_cli_user_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (REPO_ROOT / "x.pte").exists()
