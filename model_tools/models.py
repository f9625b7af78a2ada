"""Built-in example models, deterministic so exported .pte files are reproducible.

Shapes as exported by ``torch.export`` + ExecuTorch 1.5.1 (what the .pte's
method metadata reports; all tensors float32):

- ``linear``: input_0 [1] -> output_0 [1]; y = 2x + 3 (nn.Linear(1, 1), weight 2, bias 3)
- ``mlp``: input_0 [1, 256] -> output_0 [1, 10]; 256-1024-1024-10 MLP with ReLU, seed 0
- ``two_io``: input_0 [3], input_1 [3] -> output_0 [3], output_1 [3]; (a - b, a * b)

``linear`` takes a 1-D input of one element (not [1, 1]) so that GDScript's
``{"input_0": [2.5]}`` maps one element onto it; export keeps that shape and
produces a [1] output.  ``two_io`` uses ``a - b`` (not ``a + b``) for its first
output so that swapping input_0 and input_1 changes the result, and a different
op for its second output so that swapping the outputs is visible as well.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping, NamedTuple

import torch
from torch import nn

MLP_SEED = 0
"""Seed for the MLP's random weights; fixed so every export is byte-identical."""


class ModelSpec(NamedTuple):
    """A module in eval mode plus the example inputs used to export it."""

    module: nn.Module
    example_inputs: tuple[torch.Tensor, ...]


class TwoInTwoOut(nn.Module):
    """Two inputs, two outputs; order-sensitive in both (see module docstring)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return a - b, a * b


def make_linear() -> ModelSpec:
    """The concept's linear regression y = 2x + 3 with exact weights."""
    module = nn.Linear(1, 1)
    with torch.no_grad():
        module.weight.fill_(2.0)
        module.bias.fill_(3.0)
    return ModelSpec(module.eval(), (torch.tensor([2.5], dtype=torch.float32),))


def make_mlp() -> ModelSpec:
    """A 256 -> 1024 -> 1024 -> 10 ReLU MLP, big enough for kernel choice to matter.

    The global RNG is forked so that building the model does not change the
    caller's random state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(MLP_SEED)
        module = nn.Sequential(
            nn.Linear(256, 1024),
            nn.ReLU(),
            nn.Linear(1024, 1024),
            nn.ReLU(),
            nn.Linear(1024, 10),
        )
        example = torch.randn(1, 256, dtype=torch.float32)
    return ModelSpec(module.eval(), (example,))


def make_two_io() -> ModelSpec:
    """Two [3] float inputs and two [3] outputs, for input/output ordering tests."""
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
    b = torch.tensor([4.0, 5.0, 7.0], dtype=torch.float32)
    return ModelSpec(TwoInTwoOut().eval(), (a, b))


MODELS: Mapping[str, Callable[[], ModelSpec]] = MappingProxyType(
    {
        "linear": make_linear,
        "mlp": make_mlp,
        "two_io": make_two_io,
    }
)
"""Registry of built-in models: name -> factory. Read-only."""
