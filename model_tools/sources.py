"""Turn what the user names (a built-in model or ``file.py:Attr``) into a ModelSpec.

Both ``export`` and ``verify`` need the same eager model, so resolution lives
here once. Everything that can be wrong with the user's input raises
:class:`UserError` before any heavy import happens.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import torch
from torch import nn

from model_tools.errors import UserError
from model_tools.models import MODELS, AnySpec, ModelSpec

EXAMPLE_SEED = 0
"""Seed for example inputs built from --example-shape, so exports are reproducible."""


def builtin_model(name: str) -> AnySpec:
    """Build a registered model, or explain which names exist."""
    factory = MODELS.get(name)
    if factory is None:
        known = ", ".join(sorted(MODELS))
        raise UserError(f"unknown model name '{name}'", f"use one of: {known}")
    return factory()


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse '1,4' (or '1x4') into (1, 4); every dimension must be a positive int."""
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UserError(
            f"bad shape '{text}'", "give positive integers separated by commas, e.g. 1,4"
        )
    return tuple(int(p) for p in parts)


def inputs_for_shapes(shapes: Sequence[tuple[int, ...]]) -> tuple[torch.Tensor, ...]:
    """Deterministic float32 example inputs, one per shape."""
    generator = torch.Generator().manual_seed(EXAMPLE_SEED)
    return tuple(torch.randn(shape, generator=generator, dtype=torch.float32) for shape in shapes)


def split_module_spec(spec: str) -> tuple[Path, str]:
    """Split 'some/file.py:Name' into an existing file and an attribute name."""
    path_text, sep, attr = spec.rpartition(":")
    if not sep or not path_text.endswith(".py") or not attr.isidentifier():
        raise UserError(
            f"bad --module spec '{spec}'",
            "write it as path/to/file.py:ClassOrFactory",
        )
    path = Path(path_text)
    if not path.is_file():
        raise UserError(
            f"--module file not found: {path}", "check the path (relative to the current directory)"
        )
    return path, attr


def load_python_file(path: Path) -> ModuleType:
    """Execute a user's .py file as a fresh module.

    Any exception from the user's own code is reported as a UserError: the
    problem is in their file, and one line naming it is more useful here than
    our stack.
    """
    module_name = f"model_tools_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import {path}", "pass a Python source file ending in .py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # user code may raise anything; report it in one line
        raise UserError(
            f"importing {path} failed with {type(exc).__name__}: {exc}", "fix the error in that file"
        ) from exc
    return module


def _call_user(obj: Any, what: str) -> Any:
    """Call a user class/factory without arguments, reporting failures as UserError.

    The global RNG is seeded (inside a fork, so the caller's state is kept)
    because ``verify`` rebuilds the model: randomly initialised weights must
    come out the same as at export time or the comparison is meaningless.
    """
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(EXAMPLE_SEED)
            return obj()
    except Exception as exc:  # user code may raise anything; report it in one line
        raise UserError(
            f"calling {what}() failed with {type(exc).__name__}: {exc}",
            "it must be callable without arguments",
        ) from exc


def _as_spec(result: Any, what: str, shapes: Sequence[tuple[int, ...]]) -> ModelSpec:
    """Accept an nn.Module (needs shapes) or a (module, example_inputs) pair."""
    if isinstance(result, nn.Module):
        if not shapes:
            raise UserError(
                f"{what} gives an nn.Module without example inputs",
                "pass --example-shape (once per input), e.g. --example-shape 1,4",
            )
        return ModelSpec(result.eval(), inputs_for_shapes(shapes))
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], nn.Module)
        and isinstance(result[1], (tuple, list))
        and all(isinstance(t, torch.Tensor) for t in result[1])
    ):
        inputs = inputs_for_shapes(shapes) if shapes else tuple(result[1])
        return ModelSpec(result[0].eval(), inputs)
    raise UserError(
        f"{what} returned {type(result).__name__}",
        "return an nn.Module or a (module, tuple_of_example_tensors) pair",
    )


def user_model(spec: str, shapes: Sequence[tuple[int, ...]]) -> ModelSpec:
    """Load ``file.py:Attr`` where Attr is an nn.Module class or a factory.

    --example-shape, when given, overrides a factory's own example inputs.
    """
    path, attr = split_module_spec(spec)
    module = load_python_file(path)
    obj = getattr(module, attr, None)
    if obj is None:
        raise UserError(f"{path} has no attribute '{attr}'", "name a class or function defined in it")
    if not callable(obj):
        raise UserError(f"{path}:{attr} is not callable", "name an nn.Module class or a factory function")
    what = f"{path.name}:{attr}"
    if inspect.isclass(obj) and not issubclass(obj, nn.Module):
        raise UserError(f"{what} is a class but not an nn.Module", "subclass torch.nn.Module")
    return _as_spec(_call_user(obj, what), what, shapes)


def resolve_model(
    name: str | None, module_spec: str | None, shapes: Sequence[tuple[int, ...]] = ()
) -> tuple[str, AnySpec]:
    """Return (display name, spec) for exactly one of a model name or a --module spec."""
    if (name is None) == (module_spec is None):
        raise UserError(
            "give exactly one model", "pass a built-in model NAME or --module file.py:ClassOrFactory"
        )
    if name is not None:
        if shapes:
            raise UserError(
                "--example-shape only applies to --module models",
                f"drop it; built-in model '{name}' has its own example inputs",
            )
        return name, builtin_model(name)
    assert module_spec is not None
    return module_spec, user_model(module_spec, shapes)
