"""The model bank, exported at test time by model_tools, run by the engine with
typed tensors and compared with eager PyTorch: int64 embedding ids, a uint8
image into a conv net, a bool mask (and a 0-d int64 count), float16, two methods
in one program, a dynamic batch dimension at several sizes, an XNNPACK MLP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model_tools import export_bank
from model_tools.models import MODELS, method_specs
from model_tools.pte_runtime import shape_dynamism
from tests.integration.conftest import MODELS as MODEL_DIR
from tests.integration.conftest import PROJECT, run_engine

DTYPES = {  # torch dtype -> (ExecuTorchTensor constant, name)
    torch.float32: ("DTYPE_FLOAT32", "float32"), torch.float64: ("DTYPE_FLOAT64", "float64"),
    torch.float16: ("DTYPE_FLOAT16", "float16"), torch.bfloat16: ("DTYPE_BFLOAT16", "bfloat16"),
    torch.int8: ("DTYPE_INT8", "int8"), torch.int16: ("DTYPE_INT16", "int16"), torch.int32: ("DTYPE_INT32", "int32"),
    torch.int64: ("DTYPE_INT64", "int64"), torch.uint8: ("DTYPE_UINT8", "uint8"), torch.bool: ("DTYPE_BOOL", "bool"),
}
BANK = {"embedding": "embedding", "uint8_conv": "uint8_conv", "bool_mask": "bool_mask", "float16": "float16",
        "two_methods": "two_methods", "dynamic_batch": "dynamic_batch", "mlp_xnnpack": "mlp"}


def _tensor_json(tensor: torch.Tensor) -> dict:
    constant, name = DTYPES[tensor.dtype]
    values = tensor.flatten().tolist()
    if tensor.dtype == torch.bool:
        values = [bool(v) for v in values]
    return {"dtype_constant": constant, "dtype": name, "shape": list(tensor.shape), "data": values}


def _cases() -> tuple[list[dict], dict[str, list[torch.Tensor]]]:
    cases, expected = [], {}
    for stem, model_name in BANK.items():
        for method, spec in method_specs(MODELS[model_name]()).items():
            for number, inputs in enumerate((spec.example_inputs, *spec.extra_cases)):
                case_id = f"{stem}.{method}.{number}"
                with torch.no_grad():
                    outputs = getattr(spec.module, "forward")(*inputs)
                expected[case_id] = list(outputs) if isinstance(outputs, tuple) else [outputs]
                cases.append({"id": case_id, "file": f"res://models/bank/{stem}.pte", "method": method,
                              "inputs": [_tensor_json(t) for t in inputs]})
    return cases, expected


@pytest.fixture(scope="module")
def bank_run(godot_bin: Path, test_models: Path):
    directory = MODEL_DIR / "bank"
    export_bank(directory, names=[*BANK], log=lambda *_: None)
    cases, expected = _cases()
    (directory / "cases.json").write_text(json.dumps(cases))
    run = run_engine(godot_bin, ["--path", str(PROJECT), "--script", "res://bank_runner.gd", "--",
                                 "res://models/bank/cases.json"], timeout=300)
    assert "BANK DONE" in run.stdout, run.output[-5000:]
    results = {}
    for line in run.stdout.splitlines():
        if line.startswith("BANK {"):
            row = json.loads(line[len("BANK "):])
            results[row["id"]] = row
    return cases, expected, results, run


def test_bank_runs_without_errors(bank_run):
    _, _, _, run = bank_run
    assert "ERROR" not in run.stderr, run.stderr[-4000:]


@pytest.mark.parametrize("stem", list(BANK))
def test_bank_model_matches_eager_pytorch(bank_run, stem):
    cases, expected, results, _ = bank_run
    checked = 0
    for case in (c for c in cases if c["id"].startswith(stem + ".")):
        got = results.get(case["id"])
        assert got is not None, f"no result for {case['id']}"
        assert len(got["outputs"]) == len(expected[case["id"]]), case["id"]
        for index, (output, reference) in enumerate(zip(got["outputs"], expected[case["id"]])):
            where = f"{case['id']} output {index}"
            assert output["dtype"] == DTYPES[reference.dtype][1], where
            assert output["shape"] == list(reference.shape), where
            actual = torch.tensor(output["data"], dtype=torch.float64).reshape(reference.shape)
            if reference.dtype.is_floating_point:
                tolerance = 1e-2 if reference.dtype in (torch.float16, torch.bfloat16) else 1e-4
                torch.testing.assert_close(actual, reference.double(), atol=tolerance, rtol=tolerance, msg=where)
            else:
                assert actual.tolist() == reference.double().tolist(), where
            checked += 1
    assert checked > 0


def test_dynamic_batch_ran_at_several_sizes(bank_run):
    cases, _, results, _ = bank_run
    batches = {results[c["id"]]["outputs"][0]["shape"][0] for c in cases if c["id"].startswith("dynamic_batch.")}
    assert len(batches) >= 2, batches


def test_xnnpack_delegation_is_reported(bank_run):
    _, _, results, _ = bank_run
    assert results["mlp_xnnpack.forward.0"]["backends"] == ["XnnpackBackend"]


@pytest.mark.parametrize("stem", list(BANK))
def test_engine_reports_the_dynamism_the_flatbuffer_holds(bank_run, stem):
    """get_method_info's dynamism (read from the method's tensors in C++) agrees
    with model_tools' independent reading of the flatbuffer, tensor by tensor."""
    cases, _, results, _ = bank_run
    expected = shape_dynamism((MODEL_DIR / "bank" / f"{stem}.pte").read_bytes())
    for case in (c for c in cases if c["id"].startswith(stem + ".")):
        for kind in ("inputs", "outputs"):
            # model_tools says None for a non-tensor value; the engine calls those static.
            want = [name or "static" for name in expected[case["method"]][kind]]
            assert results[case["id"]]["dynamism"][kind] == want, f"{case['id']} {kind}"
    if stem == "dynamic_batch":
        assert results["dynamic_batch.forward.0"]["dynamism"] == {"inputs": ["dynamic_bound"], "outputs": ["dynamic_bound"]}
