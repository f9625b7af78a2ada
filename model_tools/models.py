"""Built-in example models, deterministic so exported .pte files are reproducible.

Shapes and dtypes as exported by ``torch.export`` + ExecuTorch 1.5.1 (what the
.pte's method metadata reports, i.e. what ``info`` prints). Every model has a
single ``forward`` method unless noted; every model exports with the portable
backend, and ExecuTorch 1.5.1's Python runtime runs all of them:

- ``linear``: float32 [1] -> float32 [1]; y = 2x + 3 (nn.Linear(1, 1), weight 2, bias 3)
- ``mlp``: float32 [1, 256] -> float32 [1, 10]; 256-1024-1024-10 MLP with ReLU, seed 0
- ``two_io``: float32 [3], float32 [3] -> float32 [3], float32 [3]; (a - b, a * b)
- ``cnn``: float32 [1, 1, 8, 8] image -> float32 [1, 10]; Conv2d(1, 8, 3) + ReLU +
  MaxPool(2), Conv2d(8, 16, 3) + ReLU + MaxPool(2), Linear(64, 10), seed 0: the
  convolution, pooling and layout nodes a quantized XNNPACK graph has

The typed-tensor bank (small, seeded; see :data:`model_tools.exporting.BANK`):

- ``embedding``: int64 [5] token ids -> float32 [5, 4]; nn.Embedding(16, 4) lookup
- ``uint8_conv``: uint8 [1, 3, 8, 8] image -> float32 [1, 2]; /255 inside the
  model, then Conv2d(3, 2, 3) + ReLU + global mean
- ``bool_mask``: float32 [6] -> bool [6] (x > 0), int64 [] (0-d: number of positives)
- ``float16``: float16 [4] -> float16 [4]; x * 2 + 1 computed in float16
- ``two_methods``: methods ``encode`` float32 [4] -> float32 [2] (Linear(4, 2)) and
  ``decode`` float32 [2] -> float32 [4] (Linear(2, 4)); no ``forward``
- ``dynamic_batch``: float32 [B, 3] -> float32 [B, 2], Linear(3, 2), B in 1..8.
  The metadata reports the upper bound ([8, 3] -> [8, 2]); the flatbuffer marks
  both tensors DYNAMIC_BOUND (``info`` shows "dynamic").

``linear`` takes a 1-D input of one element (not [1, 1]) so that GDScript's
``{"input_0": [2.5]}`` maps one element onto it; export keeps that shape and
produces a [1] output.  ``two_io`` uses ``a - b`` (not ``a + b``) for its first
output so that swapping input_0 and input_1 changes the result, and a different
op for its second output so that swapping the outputs is visible as well.
The same idea holds in the bank: ``embedding``'s example ids repeat one id and
use both ends of the table, ``two_methods``' encode and decode have different
shapes so swapping them cannot go unnoticed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple, Union

import torch
from torch import nn

MLP_SEED = 0
"""Seed for the MLP's random weights; fixed so every export is byte-identical."""

BANK_SEED = 0
"""Seed for the typed-tensor bank's random weights and example inputs."""

DYNAMIC_BATCH_MAX = 8
"""Upper bound of ``dynamic_batch``'s batch dimension (the lower bound is 1)."""


class ModelSpec(NamedTuple):
    """One method: a module in eval mode plus the example inputs used to export it.

    ``dynamic_shapes`` is passed to ``torch.export.export`` unchanged.
    ``extra_cases`` are further input tuples ``verify`` runs (after the example
    and the random ones), e.g. other batch sizes of a dynamic model.
    ``calibration`` are the input tuples that calibrate ``int8-static`` (a
    trained model's real data); empty: the example and seeded random inputs.
    """

    module: nn.Module
    example_inputs: tuple[torch.Tensor, ...]
    dynamic_shapes: Any = None
    extra_cases: tuple[tuple[torch.Tensor, ...], ...] = ()
    calibration: tuple[tuple[torch.Tensor, ...], ...] = ()


class ProgramSpec(NamedTuple):
    """Several named methods exported into one .pte (method name -> ModelSpec)."""

    methods: Mapping[str, ModelSpec]


AnySpec = Union[ModelSpec, ProgramSpec]
"""What a model factory returns."""

FORWARD = "forward"


def torch_dtype_name(dtype: torch.dtype) -> str:
    """PyTorch's name of a dtype without the module prefix ("float32")."""
    return str(dtype).removeprefix("torch.")


def is_single_forward(methods: Mapping[str, Any]) -> bool:
    """Whether a program's methods are just ``forward`` (reports then omit method names)."""
    return list(methods) == [FORWARD]


def method_specs(spec: AnySpec) -> dict[str, ModelSpec]:
    """Method name -> ModelSpec; a plain ModelSpec is the single method ``forward``."""
    if isinstance(spec, ProgramSpec):
        return dict(spec.methods)
    return {FORWARD: spec}


def _seeded(seed: int, build: Callable[[], Any]) -> Any:
    """Run ``build`` with the global RNG seeded, leaving the caller's RNG state alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


class TwoInTwoOut(nn.Module):
    """Two inputs, two outputs; order-sensitive in both (see module docstring)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return a - b, a * b


class Uint8Conv(nn.Module):
    """uint8 image in, normalised inside the model: Conv2d(3, 2, 3) + ReLU + global mean."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.to(torch.float32) / 255.0
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


class PositiveMask(nn.Module):
    """x > 0 as a bool tensor, plus the number of positives as a 0-d int64 tensor."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = x > 0
        return mask, mask.sum()


class HalfAffine(nn.Module):
    """x * 2 + 1, in the input's dtype (float16 for the ``float16`` model)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 + 1


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

    def build() -> ModelSpec:
        module = nn.Sequential(
            nn.Linear(256, 1024),
            nn.ReLU(),
            nn.Linear(1024, 1024),
            nn.ReLU(),
            nn.Linear(1024, 10),
        )
        example = torch.randn(1, 256, dtype=torch.float32)
        return ModelSpec(module.eval(), (example,))

    return _seeded(MLP_SEED, build)


class SmallCnn(nn.Module):
    """Two 3x3 convolutions (padding 1) with ReLU and 2x2 max pooling, then a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(16 * 2 * 2, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(image).flatten(1))


def make_cnn() -> ModelSpec:
    """:class:`SmallCnn` on a seeded [1, 1, 8, 8] image (random weights)."""

    def build() -> ModelSpec:
        module = SmallCnn()
        return ModelSpec(module.eval(), (torch.randn(1, 1, 8, 8, dtype=torch.float32),))

    return _seeded(MLP_SEED, build)


def make_two_io() -> ModelSpec:
    """Two [3] float inputs and two [3] outputs, for input/output ordering tests."""
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
    b = torch.tensor([4.0, 5.0, 7.0], dtype=torch.float32)
    return ModelSpec(TwoInTwoOut().eval(), (a, b))


def make_embedding() -> ModelSpec:
    """nn.Embedding(16, 4) on five int64 ids (first and last row, one id twice).

    ``verify`` draws random ids between the example's min and max, so the
    example spans the whole table (0..15).
    """

    def build() -> ModelSpec:
        module = nn.Embedding(16, 4)
        ids = torch.tensor([0, 5, 9, 15, 5], dtype=torch.int64)
        return ModelSpec(module.eval(), (ids,))

    return _seeded(BANK_SEED, build)


def make_uint8_conv() -> ModelSpec:
    """A seeded uint8 [1, 3, 8, 8] image (containing 0 and 255) through :class:`Uint8Conv`."""

    def build() -> ModelSpec:
        module = Uint8Conv()
        image = torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8)
        image[0, 0, 0, 0] = 0
        image[0, 0, 0, 1] = 255  # random verify images then span the full 0..255 range
        return ModelSpec(module.eval(), (image,))

    return _seeded(BANK_SEED, build)


def make_bool_mask() -> ModelSpec:
    """:class:`PositiveMask` on a [6] float input with positives, negatives and an exact 0."""
    x = torch.tensor([1.5, -2.0, 0.0, 3.25, -0.5, 1e-3], dtype=torch.float32)
    return ModelSpec(PositiveMask().eval(), (x,))


def make_float16() -> ModelSpec:
    """:class:`HalfAffine` on a float16 [4] input (1000 * 2 + 1 = 2001 is exact in float16)."""
    x = torch.tensor([0.5, -1.25, 3.0, 1000.0], dtype=torch.float16)
    return ModelSpec(HalfAffine().eval(), (x,))


def make_two_methods() -> ProgramSpec:
    """One program, methods ``encode`` (Linear(4, 2)) and ``decode`` (Linear(2, 4))."""

    def build() -> ProgramSpec:
        encoder = nn.Linear(4, 2)
        decoder = nn.Linear(2, 4)
        code = torch.randn(2, dtype=torch.float32)
        features = torch.randn(4, dtype=torch.float32)
        return ProgramSpec(
            {
                "encode": ModelSpec(encoder.eval(), (features,)),
                "decode": ModelSpec(decoder.eval(), (code,)),
            }
        )

    return _seeded(BANK_SEED, build)


def make_dynamic_batch() -> ModelSpec:
    """Linear(3, 2) on [B, 3], B in 1..8 (example B=2; verify also runs B=1 and B=5)."""

    def build() -> ModelSpec:
        module = nn.Linear(3, 2)
        example = torch.randn(2, 3, dtype=torch.float32)
        extra = ((torch.randn(1, 3, dtype=torch.float32),), (torch.randn(5, 3, dtype=torch.float32),))
        batch = torch.export.Dim("batch", min=1, max=DYNAMIC_BATCH_MAX)
        return ModelSpec(module.eval(), (example,), dynamic_shapes=({0: batch},), extra_cases=extra)

    return _seeded(BANK_SEED, build)


MODELS: Mapping[str, Callable[[], AnySpec]] = MappingProxyType(
    {
        "linear": make_linear,
        "mlp": make_mlp,
        "cnn": make_cnn,
        "two_io": make_two_io,
        "embedding": make_embedding,
        "uint8_conv": make_uint8_conv,
        "bool_mask": make_bool_mask,
        "float16": make_float16,
        "two_methods": make_two_methods,
        "dynamic_batch": make_dynamic_batch,
    }
)
"""Registry of built-in models: name -> factory. Read-only."""
