"""Check a .pte against eager PyTorch on the example inputs plus random ones.

Random inputs catch a program that only happens to match at the example
point (e.g. constant-folded or wrong weights that agree at one x).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch

from model_tools.models import ModelSpec
from model_tools.pte_runtime import LoadedMethod, input_mismatches, load_method
from model_tools.sources import resolve_model

RANDOM_CASES = 3
VERIFY_SEED = 1234
"""Seed for the random verification inputs, so a failure reproduces."""


def _flatten(value: Any) -> list[torch.Tensor]:
    """Eager outputs may be a tensor or nested tuples/lists; the .pte returns a flat list."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _flatten(item)]
    raise TypeError(f"unsupported eager output type {type(value).__name__}")


def _random_like(example: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random tensor with the example's shape and dtype."""
    if example.dtype.is_floating_point:
        return torch.randn(example.shape, generator=generator, dtype=torch.float32).to(example.dtype)
    if example.dtype == torch.bool:
        return torch.randint(0, 2, example.shape, generator=generator).bool()
    return torch.randint(0, 10, example.shape, generator=generator, dtype=example.dtype)


def input_cases(spec: ModelSpec, random_cases: int = RANDOM_CASES) -> list[tuple[torch.Tensor, ...]]:
    """The example inputs first, then ``random_cases`` seeded random ones."""
    generator = torch.Generator().manual_seed(VERIFY_SEED)
    cases = [tuple(spec.example_inputs)]
    for _ in range(random_cases):
        cases.append(tuple(_random_like(t, generator) for t in spec.example_inputs))
    return cases


def _max_errors(expected: Sequence[torch.Tensor], actual: Sequence[torch.Tensor]) -> list[float]:
    """Max abs error per output; shape mismatch counts as infinite error."""
    errors = []
    for want, got in zip(expected, actual):
        if want.shape != got.shape:
            errors.append(float("inf"))
            continue
        diff = (want.to(torch.float64) - got.to(torch.float64)).abs()
        errors.append(float(diff.max()) if diff.numel() else 0.0)
    return errors


def compare(
    loaded: LoadedMethod, spec: ModelSpec, random_cases: int = RANDOM_CASES
) -> tuple[list[float], list[str]]:
    """Run every case through both; return worst error per output and structural problems."""
    worst: list[float] = []
    problems: list[str] = []
    for case in input_cases(spec, random_cases):
        with torch.no_grad():
            expected = _flatten(spec.module(*case))
        try:
            actual = loaded.run(case)
        except RuntimeError as exc:  # the C++ runtime reports kernel failures this way
            problems.append(f"running the program failed: {exc}")
            break
        if len(actual) != len(expected):
            problems.append(f"program returned {len(actual)} outputs, eager model {len(expected)}")
            break
        errors = _max_errors(expected, actual)
        worst = [max(a, b) for a, b in zip(worst, errors)] if worst else errors
    return worst, problems


def verify(
    pte_path: str | os.PathLike[str],
    name: str | None = None,
    atol: float = 1e-4,
    *,
    module_spec: str | None = None,
    example_shapes: Sequence[tuple[int, ...]] = (),
    random_cases: int = RANDOM_CASES,
) -> dict[str, Any]:
    """Compare a .pte with its eager model; returns a report, ``ok`` says if it passed.

    Mismatches are data, not exceptions, so callers (the CLI, tests) decide
    how to react; only user errors (missing file, unknown model) raise.
    """
    label, spec = resolve_model(name, module_spec, example_shapes)
    path = Path(pte_path)
    loaded = load_method(path)
    problems = input_mismatches(loaded, spec.example_inputs)
    errors: list[float] = []
    if problems:
        problems.append(f"is {path.name} really an export of '{label}'?")
    else:
        errors, problems = compare(loaded, spec, random_cases)
    mismatched = [i for i, err in enumerate(errors) if not err <= atol]
    if mismatched:
        problems.append(
            "outputs " + ", ".join(f"output_{i} (max abs error {errors[i]:.3g})" for i in mismatched)
            + f" exceed atol={atol:g}"
        )
    return {
        "pte": str(path),
        "model": label,
        "ok": not problems,
        "atol": atol,
        "cases": 1 + random_cases,
        "max_abs_error": errors,
        "problems": problems,
    }
