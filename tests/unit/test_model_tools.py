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
        (("export", "no_such_model", "--out", "x.pte"), "unknown model name 'no_such_model'; use one of: bool_mask, cnn, dynamic_batch, embedding"),
        (("export", "--module", "model.py", "--out", "x.pte"), "bad --module spec 'model.py'"),
        (("export", "--module", "missing.py:Net", "--out", "x.pte"), "--module file not found: missing.py"),
        (("export-bank", "x.pte", "--only", "nope"), "not in the bank: nope; use some of: linear, two_io"),
        (("export", "linear", "--quantize", "int8", "--backend", "portable", "--out", "x.pte"),
         "--quantize int8 needs the xnnpack backend, not 'portable'; add --backend xnnpack"),
    ],
)
def test_cli_user_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (REPO_ROOT / "x.pte").exists()


# ---------------------------------------------------------------------------
# The typed-tensor model bank
# ---------------------------------------------------------------------------

F32 = "float32"
# stem -> method -> (inputs, outputs), each entry (dtype, shape, dynamism) as `info --json` reports them
BANK_SIGNATURES = {
    "linear": {"forward": ([(F32, [1], "static")], [(F32, [1], "static")])},
    "two_io": {"forward": ([(F32, [3], "static")] * 2, [(F32, [3], "static")] * 2)},
    "embedding": {"forward": ([("int64", [5], "static")], [(F32, [5, 4], "static")])},
    "uint8_conv": {"forward": ([("uint8", [1, 3, 8, 8], "static")], [(F32, [1, 2], "static")])},
    "bool_mask": {"forward": ([(F32, [6], "static")], [("bool", [6], "static"), ("int64", [], "static")])},
    "float16": {"forward": ([("float16", [4], "static")], [("float16", [4], "static")])},
    "two_methods": {
        "encode": ([(F32, [4], "static")], [(F32, [2], "static")]),
        "decode": ([(F32, [2], "static")], [(F32, [4], "static")]),
    },
    "dynamic_batch": {"forward": ([(F32, [8, 3], "dynamic_bound")], [(F32, [8, 2], "dynamic_bound")])},
    "mlp_xnnpack": {"forward": ([(F32, [1, 256], "static")], [(F32, [1, 10], "static")])},
}


def spec_of(name: str) -> ModelSpec:
    spec = MODELS[name]()
    assert isinstance(spec, ModelSpec)
    return spec


def test_export_bank_writes_every_model(bank: dict[str, Path], pte_dir: Path) -> None:
    assert list(bank) == list(BANK_SIGNATURES) == list(BANK)
    for stem, path in bank.items():
        assert path == pte_dir / "bank" / f"{stem}.pte"
        assert path.read_bytes()[4:8] == b"ET12"
    assert sorted(p.name for p in (pte_dir / "bank").iterdir()) == sorted(f"{s}.pte" for s in BANK)


@pytest.mark.parametrize("stem", list(BANK_SIGNATURES))
def test_bank_info_reports_dtypes_shapes_and_delegates(
    bank: dict[str, Path], stem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(bank[stem]), "--json"]) == 0
    methods = json.loads(capsys.readouterr().out)["methods"]
    assert set(methods) == set(BANK_SIGNATURES[stem])
    for name, (inputs, outputs) in BANK_SIGNATURES[stem].items():
        assert [(e["dtype"], e["shape"], e["dynamism"]) for e in methods[name]["inputs"]] == inputs
        assert [(e["dtype"], e["shape"], e["dynamism"]) for e in methods[name]["outputs"]] == outputs
        assert methods[name]["delegates"] == (["XnnpackBackend"] if stem == "mlp_xnnpack" else [])


@pytest.mark.parametrize("stem", list(BANK_SIGNATURES))
def test_bank_model_verifies(bank: dict[str, Path], stem: str) -> None:
    model = BANK[stem][0]
    report = verify(bank[stem], model, 1e-4)
    assert report["ok"], report["problems"]
    assert list(report["methods"]) == list(BANK_SIGNATURES[stem])
    for result in report["methods"].values():
        assert result["max_abs_error"] and all(e <= 1e-4 for e in result["max_abs_error"])


def test_cli_verify_prints_every_method(bank: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(bank["two_methods"]), "--model", "two_methods"]) == 0
    out = capsys.readouterr().out
    assert "encode output_0 (float32, atol)" in out and "decode output_0 (float32, atol)" in out


def test_embedding_looks_up_rows(bank: dict[str, Path]) -> None:
    ids = torch.tensor([15, 0, 3, 3, 8], dtype=torch.int64)
    (out,) = execute(bank["embedding"], ids)
    assert out.dtype == torch.float32 and list(out.shape) == [5, 4]
    assert torch.equal(out, spec_of("embedding").module.weight.detach()[ids])


def test_embedding_verify_rejects_int32_ids(pte_dir: Path) -> None:
    spec = spec_of("embedding")
    pte = export_model(spec.module, pte_dir / "embedding_i32.pte", example_inputs=(spec.example_inputs[0].int(),))
    report = verify(pte, "embedding", 1e-4)
    assert not report["ok"]
    assert "input_0 has dtype torch.int64, the program expects int32" in report["problems"][0]


def test_uint8_conv_normalises_inside_the_model(bank: dict[str, Path]) -> None:
    conv = spec_of("uint8_conv").module.conv
    image = torch.full((1, 3, 8, 8), 255, dtype=torch.uint8)
    image[0, 1] = 0
    (out,) = execute(bank["uint8_conv"], image)
    scaled = torch.ones(1, 3, 8, 8)
    scaled[0, 1] = 0.0
    with torch.no_grad():
        want = torch.relu(torch.nn.functional.conv2d(scaled, conv.weight, conv.bias)).mean(dim=(2, 3))
    assert out.dtype == torch.float32 and list(out.shape) == [1, 2]
    assert torch.allclose(out, want, atol=1e-6)
    assert float(out.abs().sum()) > 0  # ReLU did not zero everything: the check is not vacuous


def test_bool_mask_outputs_bool_and_int64_count(bank: dict[str, Path]) -> None:
    x = torch.tensor([-1.0, 2.0, 0.0, 5.0, -3.0, 0.5])
    mask, count = execute(bank["bool_mask"], x)
    assert mask.dtype == torch.bool and mask.tolist() == [False, True, False, True, False, True]
    assert count.dtype == torch.int64 and count.dim() == 0 and count.item() == 3


def test_verify_compares_bool_outputs_exactly(pte_dir: Path) -> None:
    class Threshold(PositiveMask):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mask = x > 0.5
            return mask, mask.sum()

    spec = spec_of("bool_mask")
    pte = export_model(Threshold(), pte_dir / "threshold.pte", example_inputs=spec.example_inputs)
    report = verify(pte, "bool_mask", atol=100.0)  # a huge atol must not excuse bool/int differences
    assert not report["ok"]
    assert "must match exactly" in report["problems"][0]
    assert "output_0 (bool" in report["problems"][0] and "output_1 (int64" in report["problems"][0]


def test_verify_reports_wrong_output_dtype(pte_dir: Path) -> None:
    class Int32Count(PositiveMask):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mask = x > 0
            return mask, mask.sum().to(torch.int32)

    pte = export_model(Int32Count(), pte_dir / "int32_count.pte", example_inputs=spec_of("bool_mask").example_inputs)
    report = verify(pte, "bool_mask", atol=100.0)
    assert not report["ok"]
    assert "output_1 is int32, eager gives int64" in report["problems"][0]


def test_float16_runs_in_float16(bank: dict[str, Path]) -> None:
    x = torch.tensor([1.0, -2.0, 0.5, 1000.0], dtype=torch.float16)
    (out,) = execute(bank["float16"], x)
    assert out.dtype == torch.float16
    assert out.tolist() == [3.0, -3.0, 2.0, 2001.0]


def test_float16_verify_rejects_float32_export(pte_dir: Path) -> None:
    pte = export_model(HalfAffine(), pte_dir / "affine_f32.pte", example_inputs=(torch.zeros(4),))
    report = verify(pte, "float16", 1e-4)
    assert not report["ok"]
    assert "input_0 has dtype torch.float16, the program expects float32" in report["problems"][0]


def test_two_methods_runs_each_method(bank: dict[str, Path]) -> None:
    spec = MODELS["two_methods"]()
    assert isinstance(spec, ProgramSpec)
    encoder, decoder = spec.methods["encode"].module, spec.methods["decode"].module
    x = torch.tensor([1.0, -2.0, 0.5, 3.0])
    (code,) = execute(bank["two_methods"], x, method="encode")
    (back,) = execute(bank["two_methods"], code, method="decode")
    with torch.no_grad():
        assert torch.allclose(code, x @ encoder.weight.T + encoder.bias, atol=1e-6)
        assert torch.allclose(back, code @ decoder.weight.T + decoder.bias, atol=1e-6)
    assert list(code.shape) == [2] and list(back.shape) == [4]


def test_two_methods_verify_checks_both_methods(pte_dir: Path) -> None:
    spec = MODELS["two_methods"]()
    assert isinstance(spec, ProgramSpec)
    wrong_decoder = torch.nn.Linear(2, 4).eval()  # not the registered decoder's weights
    decode = spec.methods["decode"]._replace(module=wrong_decoder)
    pte = export_model(ProgramSpec({"encode": spec.methods["encode"], "decode": decode}), pte_dir / "wrong_decode.pte")
    report = verify(pte, "two_methods", 1e-4)
    assert not report["ok"]
    # encode matches eager PyTorch within rounding (float kernels may differ by an ulp).
    assert report["methods"]["encode"]["max_abs_error"][0] < 1e-6
    assert report["methods"]["decode"]["max_abs_error"][0] > 1e-3
    assert [p.split(":")[0] for p in report["problems"]] == ["method 'decode'"]


def test_verify_reports_method_mismatch(bank: dict[str, Path], linear_pte: Path) -> None:
    report = verify(bank["two_methods"], "linear", 1e-4)
    assert not report["ok"]
    assert "has methods decode, encode, 'linear' has forward" in report["problems"][0]
    assert not verify(linear_pte, "two_methods", 1e-4)["ok"]


@pytest.mark.parametrize("batch", [1, 5, 8])
def test_dynamic_batch_runs_at_several_batch_sizes(bank: dict[str, Path], batch: int) -> None:
    module = spec_of("dynamic_batch").module
    x = torch.arange(batch * 3, dtype=torch.float32).reshape(batch, 3) / 7.0
    (out,) = execute(bank["dynamic_batch"], x)
    assert list(out.shape) == [batch, 2]
    with torch.no_grad():
        assert torch.allclose(out, x @ module.weight.T + module.bias, atol=1e-5)


def test_dynamic_batch_refuses_batch_above_bound(bank: dict[str, Path]) -> None:
    with pytest.raises(RuntimeError):
        execute(bank["dynamic_batch"], torch.zeros(9, 3))


def test_dynamic_batch_verify_runs_extra_batch_sizes(bank: dict[str, Path], pte_dir: Path) -> None:
    report = verify(bank["dynamic_batch"], "dynamic_batch", 1e-4)
    assert report["ok"] and report["cases"] == 6  # example (B=2) + 3 random + B=1 + B=5
    static = export_model(spec_of("dynamic_batch")._replace(dynamic_shapes=None), pte_dir / "static_batch.pte")
    report = verify(static, "dynamic_batch", 1e-4)
    assert not report["ok"]
    assert "input_0 has shape [1, 3], the program expects [2, 3]" in report["problems"][0]


def test_bench_python_accepts_shapes_within_dynamic_bound(
    bank: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pte = str(bank["dynamic_batch"])
    assert main(["bench-python", pte, "--input-shape", "5,3", "--iterations", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["iterations"] == 20
    assert main(["bench-python", pte, "--input-shape", "9,3", "--iterations", "20"]) == 2
    assert "at most [8, 3]" in capsys.readouterr().err


def test_cli_export_bank_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-bank", str(tmp_path / "b"), "--only", "bool_mask", "--only", "float16"]) == 0
    out = capsys.readouterr().out
    assert "[1/2]" in out and "[2/2]" in out and "exported 2 models" in out
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["bool_mask.pte", "float16.pte"]
    assert verify(tmp_path / "b" / "float16.pte", "float16")["ok"]


# --- train (model_tools/training.py) -------------------------------------------------------


def test_digits_data_is_what_a_games_l8_image_gives() -> None:
    from model_tools.training import load_digits_data

    data = load_digits_data()
    assert data.held_out_bytes.dtype == torch.uint8 and data.held_out_bytes.shape[1:] == (8, 8)
    assert len(data.train_labels) + len(data.held_out_labels) == 1797
    assert int(data.held_out_bytes.max()) == 255 and int(data.held_out_bytes.min()) == 0
    # from_image(image, 1) gives byte / 255: the model's held-out inputs are exactly that.
    assert torch.equal(data.held_out_images[:, 0], data.held_out_bytes.float() / 255.0)
    assert torch.equal(load_digits_data().held_out_labels, data.held_out_labels)  # the split is seeded


def test_digits_shift_moves_the_image_by_at_most_a_pixel() -> None:
    from model_tools.training import _shift

    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 3, 4] = 1.0
    for seed in range(12):
        shifted = _shift(image, torch.Generator().manual_seed(seed))
        assert float(shifted.sum()) == 1.0
        y, x = (int(v) for v in (shifted[0, 0] == 1.0).nonzero()[0])
        assert abs(y - 3) <= 1 and abs(x - 4) <= 1


def test_cli_train_names_what_it_can_train(tmp_path: Path) -> None:
    result = run_cli("train", "cats", "--out", str(tmp_path / "cats.pte"))
    assert result.returncode == 2 and "no trainable model 'cats'; use one of: digits, policy" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "cats.pte").exists()
