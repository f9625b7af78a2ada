"""Check a .pte against eager PyTorch on the example inputs plus random ones.

Random inputs catch a program that only happens to match at the example
point (e.g. constant-folded or wrong weights that agree at one x). Random
floats are standard normal; random integers are drawn between the example's
min and max (so an embedding's example ids bound the random ids to the
table, and a uint8 image spanning 0..255 gives full-range random images).
A spec's ``extra_cases`` (e.g. other batch sizes of a dynamic model) run too.

Every method of the spec is checked (``two_methods``: ``encode`` and
``decode``), and the program must have exactly those methods. Outputs must
have the eager dtype and shape; floating-point outputs must agree within
``atol``, integer and bool outputs exactly (``atol`` does not apply).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch

from model_tools.models import AnySpec, ModelSpec, is_single_forward, method_specs, torch_dtype_name
from model_tools.pte_runtime import LoadedMethod, input_mismatches, load_method, load_program
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
    """A random tensor with the example's shape and dtype (integers within the example's range)."""
    if example.dtype.is_floating_point:
        return torch.randn(example.shape, generator=generator, dtype=torch.float32).to(example.dtype)
    if example.dtype == torch.bool:
        return torch.randint(0, 2, example.shape, generator=generator).bool()
    low, high = (int(example.min()), int(example.max())) if example.numel() else (0, 0)
    return torch.randint(low, high + 1, example.shape, generator=generator, dtype=example.dtype)


def input_cases(spec: ModelSpec, random_cases: int = RANDOM_CASES) -> list[tuple[torch.Tensor, ...]]:
    """The example inputs first, then ``random_cases`` seeded random ones, then ``extra_cases``."""
    generator = torch.Generator().manual_seed(VERIFY_SEED)
    cases = [tuple(spec.example_inputs)]
    for _ in range(random_cases):
        cases.append(tuple(_random_like(t, generator) for t in spec.example_inputs))
    cases.extend(tuple(case) for case in spec.extra_cases)
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


def _is_exact(dtype: torch.dtype) -> bool:
    """Integer and bool outputs are compared exactly, floating ones within atol."""
    return not (dtype.is_floating_point or dtype.is_complex)


def compare(
    loaded: LoadedMethod, spec: ModelSpec, random_cases: int = RANDOM_CASES
) -> tuple[list[float], list[str]]:
    """Run every case through both; return worst error per output and structural problems.

    Structural problems: inputs the program does not accept, a runtime
    failure, a different number of outputs, or an output dtype that differs
    from eager. Tolerance checks are left to the caller (see :func:`verify`).
    """
    worst: list[float] = []
    problems: list[str] = []
    for number, case in enumerate(input_cases(spec, random_cases)):
        shapes = ", ".join(str(list(t.shape)) for t in case)
        mismatched = input_mismatches(loaded, case)
        if mismatched:
            problems.append(f"case {number} (inputs {shapes}): {'; '.join(mismatched)}")
            break
        with torch.no_grad():
            expected = _flatten(spec.module(*case))
        try:
            actual = loaded.run(case)
        except RuntimeError as exc:  # the C++ runtime reports kernel failures this way
            problems.append(f"running the program failed on case {number} (inputs {shapes}): {exc}")
            break
        if len(actual) != len(expected):
            problems.append(f"program returned {len(actual)} outputs, eager model {len(expected)}")
            break
        wrong_dtypes = [
            f"output_{i} is {torch_dtype_name(got.dtype)}, eager gives {torch_dtype_name(want.dtype)}"
            for i, (want, got) in enumerate(zip(expected, actual))
            if want.dtype != got.dtype
        ]
        if wrong_dtypes:
            problems.append("; ".join(wrong_dtypes))
            break
        errors = _max_errors(expected, actual)
        worst = [max(a, b) for a, b in zip(worst, errors)] if worst else errors
    return worst, problems


def _output_kinds(spec: ModelSpec) -> list[tuple[str, bool]]:
    """(dtype name, compared exactly?) per eager output at the example inputs."""
    with torch.no_grad():
        outputs = _flatten(spec.module(*spec.example_inputs))
    return [(torch_dtype_name(t.dtype), _is_exact(t.dtype)) for t in outputs]


def _verify_method(
    path: Path, method: str, spec: ModelSpec, label: str, atol: float, random_cases: int
) -> dict[str, Any]:
    """Compare one method; the result's problems are not yet prefixed with the method name."""
    loaded = load_method(path, method)
    cases = 1 + random_cases + len(spec.extra_cases)  # what input_cases() yields
    problems = input_mismatches(loaded, spec.example_inputs)
    errors: list[float] = []
    if problems:
        problems.append(f"is {path.name} really an export of '{label}'?")
    else:
        errors, problems = compare(loaded, spec, random_cases)
    kinds = _output_kinds(spec)
    if errors and len(kinds) == len(errors):
        exact = [i for i, err in enumerate(errors) if kinds[i][1] and err != 0.0]
        loose = [i for i, err in enumerate(errors) if not kinds[i][1] and not err <= atol]
        if exact:
            problems.append(
                "outputs "
                + ", ".join(f"output_{i} ({kinds[i][0]}, max abs error {errors[i]:.3g})" for i in exact)
                + " differ from eager; integer/bool outputs must match exactly"
            )
        if loose:
            problems.append(
                "outputs " + ", ".join(f"output_{i} (max abs error {errors[i]:.3g})" for i in loose)
                + f" exceed atol={atol:g}"
            )
    return {
        "cases": cases,
        "max_abs_error": errors,
        "outputs": [{"dtype": dtype, "exact": exact} for dtype, exact in kinds],
        "problems": problems,
    }


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

    Report keys: ``pte``, ``model``, ``ok``, ``atol``, ``problems``;
    ``methods`` maps each checked method to its ``cases``, ``max_abs_error``
    (per output) and ``outputs`` (dtype, compared exactly?); ``cases`` and
    ``max_abs_error`` at the top level are the sum / concatenation over
    methods (for a single ``forward`` simply its own).
    """
    label, spec = resolve_model(name, module_spec, example_shapes)
    path = Path(pte_path)
    methods = method_specs(spec)
    available = set(load_program(path).method_names)
    problems: list[str] = []
    missing = [m for m in methods if m not in available]
    extra = sorted(available - set(methods))
    if missing or extra:
        problems.append(
            f"{path.name} has methods {', '.join(sorted(available))}, '{label}' has {', '.join(methods)}; "
            f"is {path.name} really an export of '{label}'?"
        )
    results: dict[str, dict[str, Any]] = {}
    for method, method_spec in methods.items():
        if method not in available:
            continue
        result = _verify_method(path, method, method_spec, label, atol, random_cases)
        prefix = "" if is_single_forward(methods) else f"method '{method}': "
        problems.extend(prefix + problem for problem in result.pop("problems"))
        results[method] = result
    return {
        "pte": str(path),
        "model": label,
        "ok": not problems,
        "atol": atol,
        "cases": sum(r["cases"] for r in results.values()),
        "max_abs_error": [e for r in results.values() for e in r["max_abs_error"]],
        "methods": results,
        "problems": problems,
    }
