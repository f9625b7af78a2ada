"""Train the models a game ships: ``python -m model_tools train digits --out digits.pte``.

``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, inside its
wheel: no download), a small CNN trained in seconds on CPU, exported for
XNNPACK (optionally int8), and its held-out accuracy reported for eager PyTorch
and for the exported program run by ExecuTorch.

The model takes what ``ExecuTorchTensor.from_image(image, 1)`` makes of an 8x8
``FORMAT_L8`` image: float32 ``[N, 1, 8, 8]``, ``byte / 255``, ink bright on a
dark background (scikit-learn's pixels are ink intensities 0..16; they become
the bytes ``round(v * 255 / 16)`` first, so training sees exactly what a game's
image gives). It returns the ten class probabilities ``[N, 10]`` (a softmax:
a game draws them as bars). """

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from model_tools.models import ModelSpec

TRAINABLE = ("digits",)
"""What ``python -m model_tools train`` knows."""

HELD_OUT_SHARE = 0.2
"""Share of the 1,797 images kept out of training, chosen by a seeded permutation."""

Log = Callable[[str], None]


class DigitsCNN(nn.Module):
    """conv 3x3 (16) -> conv 3x3 (32) -> max-pool 2 -> 64 -> 10, softmax: 26,154 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(image))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(image), dim=1)


@dataclass(frozen=True)
class DigitsData:
    """The data set as the engine sees it: the 8x8 L8 bytes and float inputs."""

    train_images: torch.Tensor  # float32 [N, 1, 8, 8], byte / 255
    train_labels: torch.Tensor  # int64 [N]
    held_out_bytes: torch.Tensor  # uint8 [M, 8, 8]: the images a game would build
    held_out_images: torch.Tensor  # float32 [M, 1, 8, 8]
    held_out_labels: torch.Tensor  # int64 [M]


def load_digits_data(seed: int = 0) -> DigitsData:
    """scikit-learn's digits as L8 bytes, split by a seeded permutation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    as_bytes = torch.round(torch.tensor(digits.images, dtype=torch.float64) * (255.0 / 16.0)).to(torch.uint8)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    held_out = int(len(labels) * HELD_OUT_SHARE)
    test, train = order[:held_out], order[held_out:]
    images = as_bytes.to(torch.float32).unsqueeze(1) / 255.0
    return DigitsData(images[train], labels[train], as_bytes[test], images[test], labels[test])


def accuracy(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    return float((probabilities.argmax(dim=1) == labels).to(torch.float64).mean())


def train_digits(data: DigitsData, epochs: int = 30, seed: int = 0, log: Log = print) -> DigitsCNN:
    """Adam on cross-entropy, mini-batches of 64, light shift augmentation
    (drawn digits are rarely centred the way scikit-learn's are)."""
    torch.manual_seed(seed)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_function = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(data.train_labels), generator=generator)
        total = 0.0
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            images = _shift(data.train_images[batch], generator)
            optimizer.zero_grad()
            loss = loss_function(model.logits(images), data.train_labels[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        if epoch == 1 or epoch % 10 == 0 or epoch == epochs:
            model.eval()
            with torch.no_grad():
                held_out = accuracy(model(data.held_out_images), data.held_out_labels)
            log(f"  epoch {epoch}/{epochs}: loss {total / len(order):.4f}, held-out accuracy {held_out:.2%} "
                f"({time.perf_counter() - started:.1f} s)")
    return model.eval()


def _shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Moves each image by -1..1 pixels in x and y (zeros shifted in)."""
    shifted = torch.zeros_like(images)
    dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=generator))
    source = images[:, :, max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
    shifted[:, :, max(0, dy):max(0, dy) + source.shape[2], max(0, dx):max(0, dx) + source.shape[3]] = source
    return shifted


def digits_spec(model: DigitsCNN, data: DigitsData) -> ModelSpec:
    """The trained model as an export spec: [1, 1, 8, 8] -> [1, 10], one drawing at a time.

    Static, not a dynamic batch: XNNPACK's lowering of a convolution on a dynamic
    batch recorded an upper bound of 15 whatever bound was asked for (measured with
    executorch 1.5.1: Dim max=512 gave [15, 1, 8, 8] in the .pte; a linear layer
    keeps its bound), so a batched digits program would refuse 16 images or more."""
    return ModelSpec(model, (data.held_out_images[:1],))


def digits_spec_with_calibration(model: DigitsCNN, data: DigitsData) -> ModelSpec:
    """digits_spec, calibrated for int8-static on the training images (real data, not noise)."""
    calibration = tuple((image,) for image in data.train_images[:256].split(1))
    return digits_spec(model, data)._replace(calibration=calibration)


@dataclass(frozen=True)
class TrainReport:
    pte: str
    quantize: str | None
    held_out: int
    eager_accuracy: float  # the float32 model in PyTorch
    pte_accuracy: float  # the exported program in ExecuTorch's runtime
    max_probability_error: float  # largest |pte - eager| over every held-out probability
    disagreements: int  # held-out images whose predicted digit differs between the two
    seconds: float  # export and check


def export_digits(model: DigitsCNN, data: DigitsData, out_path, quantize: str | None = None,
                  log: Log = print) -> TrainReport:
    """Exports the trained model for XNNPACK (int8 if asked) and runs the held-out
    images through the exported program in ExecuTorch's Python runtime."""
    from model_tools.exporting import export_spec
    from model_tools.pte_runtime import load_method

    started = time.perf_counter()
    path = export_spec("digits", digits_spec_with_calibration(model, data), out_path, "xnnpack", quantize=quantize, log=log)
    with torch.no_grad():
        eager = model(data.held_out_images)
    method = load_method(path)
    executed = torch.cat([method.run([image])[0] for image in data.held_out_images.split(1)])
    report = TrainReport(
        pte=str(path), quantize=quantize, held_out=len(data.held_out_labels),
        eager_accuracy=accuracy(eager, data.held_out_labels),
        pte_accuracy=accuracy(executed, data.held_out_labels),
        max_probability_error=float((executed - eager).abs().max()),
        disagreements=int((executed.argmax(1) != eager.argmax(1)).sum()),
        seconds=time.perf_counter() - started,
    )
    kind = f"{quantize} " if quantize else ""
    log(f"held-out accuracy: PyTorch float32 {report.eager_accuracy:.2%}, the {kind}.pte in ExecuTorch "
        f"{report.pte_accuracy:.2%} (change {report.pte_accuracy - report.eager_accuracy:+.2%}; "
        f"{report.disagreements} of {report.held_out} predictions differ; largest probability difference "
        f"{report.max_probability_error:.3g})")
    return report


def train_and_export_digits(out_path, quantize: str | None = None, epochs: int = 30, seed: int = 0,
                            log: Log = print) -> tuple[TrainReport, DigitsCNN, DigitsData]:
    """``python -m model_tools train digits``: load, train, export, report."""
    data = load_digits_data(seed)
    log(f"training digits: {len(data.train_labels)} images, {len(data.held_out_labels)} held out "
        f"(scikit-learn's 8x8 digits), {epochs} epochs")
    model = train_digits(data, epochs, seed, log)
    return export_digits(model, data, out_path, quantize, log), model, data
