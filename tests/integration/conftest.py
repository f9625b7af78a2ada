"""Fixtures for the engine tests: the built binary, and the models the
GDScript suites load, exported at test time by the project's own tooling."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import torch

from model_tools import MODELS as BUILTIN_MODELS
from model_tools import export_model
from model_tools.pte_runtime import load_method
from tools.godot_project import DEFAULT_ENGINE, prepare_project

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = REPO_ROOT / "tests" / "project"
MODELS = PROJECT / "models"
SENTINEL = "GDSCRIPT SUITES FINISHED"
# The int8 programs of tests/project/suites/test_quantized.gd: file stem ->
# (built-in model, quantization). QUANTIZED_CASES random inputs each.
QUANTIZED = {"mlp_int8": ("mlp", "int8"), "mlp_int8_static": ("mlp", "int8-static"), "cnn_int8_static": ("cnn", "int8-static")}
QUANTIZED_CASES = 4
# What Godot prints when a test leaks objects or resources at exit.
LEAK_MARKERS = ("leaked at exit", "still in use at exit", "Leaked instance")


@dataclass(frozen=True)
class EngineRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _default_binary() -> Path:
    configured = os.environ.get("GODOT_EXECUTORCH_BIN")
    if configured:
        return Path(configured)
    return DEFAULT_ENGINE


@pytest.fixture(scope="session")
def godot_bin() -> Path:
    binary = _default_binary()
    if not binary.is_file():
        pytest.fail(f"no engine at {binary}; build it first: .venv/bin/scons platform=linuxbsd")
    return binary


@pytest.fixture(scope="session")
def test_models() -> Path:
    """Exports the suites' models into tests/project/models/, plus broken files."""
    MODELS.mkdir(parents=True, exist_ok=True)
    prepare_project(PROJECT)
    export_model("linear", MODELS / "linear.pte")
    export_model("two_io", MODELS / "two_io.pte")
    export_model("bool_mask", MODELS / "bool_mask.pte")
    export_model("dynamic_batch", MODELS / "dynamic_batch.pte")
    export_model("embedding", MODELS / "embedding.pte")
    export_model("mlp", MODELS / "mlp_xnnpack.pte", "xnnpack")
    _export_quantized(MODELS)
    _train_digits(MODELS)
    _train_policy(MODELS)
    linear = (MODELS / "linear.pte").read_bytes()
    (MODELS / "truncated.pte").write_bytes(linear[: len(linear) // 2])
    (MODELS / "not_a_pte.pte").write_text("this is a text file, not an ExecuTorch program\n" * 4)
    (MODELS / "empty.pte").write_bytes(b"")
    return MODELS


def _export_quantized(directory: Path) -> None:
    """Exports QUANTIZED and writes quantized_cases.json: per program, random
    inputs and the outputs of eager PyTorch (float32, unquantized) and of
    ExecuTorch's own Python runtime running the same program."""
    cases = {}
    generator = torch.Generator().manual_seed(1)
    for stem, (model, quantize) in QUANTIZED.items():
        path = export_model(model, directory / f"{stem}.pte", "xnnpack", quantize=quantize)
        spec = BUILTIN_MODELS[model]()
        method = load_method(path)
        rows = []
        for _ in range(QUANTIZED_CASES):
            example = torch.randn(spec.example_inputs[0].shape, generator=generator)
            with torch.no_grad():
                eager = spec.module(example)
            executorch = method.run([example])[0]
            rows.append({"input": example.flatten().tolist(), "eager": eager.flatten().tolist(),
                         "executorch": executorch.flatten().tolist()})
        cases[stem] = {"shape": list(spec.example_inputs[0].shape), "quantize": quantize, "cases": rows}
    (directory / "quantized_cases.json").write_text(json.dumps(cases))


def _train_digits(directory: Path) -> None:
    """Trains the digits CNN (scikit-learn's 8x8 digits, seconds), exports it as
    digits.pte (float32) and digits_int8.pte (dynamic int8), and writes
    digits_cases.json: the held-out images as the L8 bytes a game's Image holds,
    their labels, and eager PyTorch's probabilities (float32 model)."""
    from model_tools.training import export_digits, load_digits_data, train_digits

    data = load_digits_data()
    model = train_digits(data, log=lambda _: None)
    report = export_digits(model, data, directory / "digits.pte", log=lambda _: None)
    int8 = export_digits(model, data, directory / "digits_int8.pte", quantize="int8", log=lambda _: None)
    with torch.no_grad():
        eager = model(data.held_out_images)
    cases = {
        "eager_accuracy": report.eager_accuracy,
        "int8_accuracy": int8.pte_accuracy,
        "images": [image.flatten().tolist() for image in data.held_out_bytes],
        "labels": data.held_out_labels.tolist(),
        "eager": [row.tolist() for row in eager],
    }
    (directory / "digits_cases.json").write_text(json.dumps(cases))


def _train_policy(directory: Path) -> None:
    """Trains the agents' steering policy (seconds), exports it as policy.pte
    (dynamic batch up to 4,096) and writes policy_cases.json: 1,000 agents'
    observations and eager PyTorch's actions for them."""
    from model_tools.exporting import export_spec
    from model_tools.training import policy_observations, policy_spec, train_policy

    policy, _ = train_policy(log=lambda _: None)
    export_spec("policy", policy_spec(policy), directory / "policy.pte", "xnnpack")
    observations = policy_observations(1000, torch.Generator().manual_seed(7))
    with torch.no_grad():
        actions = policy(observations)
    (directory / "policy_cases.json").write_text(json.dumps(
        {"agents": 1000, "observations": observations.flatten().tolist(), "actions": actions.flatten().tolist()}))


def run_engine(binary: Path, args: list[str], timeout: float = 120.0) -> EngineRun:
    result = subprocess.run(
        [str(binary), "--headless", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )
    return EngineRun(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def run_suite(godot_bin: Path, test_models: Path):
    """Runs GDScript suites in the test project; returns the EngineRun."""

    def run(*suites: str) -> EngineRun:
        return run_engine(
            godot_bin,
            ["--path", str(PROJECT), "--script", "res://run_suites.gd", "--", *(f"res://suites/{s}" for s in suites)],
        )

    return run


def assert_suite_passed(run: EngineRun) -> None:
    """Pass/fail comes from the counted checks and the sentinel, not the exit code alone."""
    failures = [line for line in run.stdout.splitlines() if "FAIL" in line or "check failed" in line]
    sentinel = [line for line in run.stdout.splitlines() if line.startswith(SENTINEL)]
    assert sentinel, f"no '{SENTINEL}' line: the engine crashed or quit early (exit {run.returncode})\n{run.output[-4000:]}"
    assert not failures, "GDScript checks failed:\n" + "\n".join(failures)
    assert sentinel[0].endswith(" 0 failed"), sentinel[0]
    assert run.returncode == 0, f"engine exit code {run.returncode}\n{run.output[-4000:]}"
    leaks = [line for line in run.output.splitlines() if any(marker in line for marker in LEAK_MARKERS)]
    assert not leaks, "leaked at exit:\n" + "\n".join(leaks)


def assert_errors_printed(run: EngineRun, expected: list[str]) -> None:
    """Each expected error sentence (or its start) appears in what the engine printed to stderr."""
    missing = [message for message in expected if message not in run.stderr]
    assert not missing, "errors not printed:\n" + "\n".join(missing) + "\n--- stderr ---\n" + run.stderr[-6000:]
