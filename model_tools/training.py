"""Train the models a game ships: ``python -m model_tools train {digits,policy} --out model.pte``.

``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, inside its
wheel: no download), a small CNN trained in seconds on CPU, exported for
XNNPACK (optionally int8), and its held-out accuracy reported for eager PyTorch
and for the exported program run by ExecuTorch.

The model takes what ``ExecuTorchTensor.from_image(image, 1)`` makes of an 8x8
``FORMAT_L8`` image: float32 ``[N, 1, 8, 8]``, ``byte / 255``, ink bright on a
dark background (scikit-learn's pixels are ink intensities 0..16; they become
the bytes ``round(v * 255 / 16)`` first, so training sees exactly what a game's
image gives). It returns the ten class probabilities ``[1, 10]`` (a softmax:
a game draws them as bars).

``policy``: a 16 -> 64 -> 64 -> 4 steering policy for many agents, trained in
seconds to imitate a hand-written rule (each agent orbits the target on its own
ring; see :func:`steering_rule`), exported with a dynamic batch: float32
``[B, 16] -> [B, 4]``, B in 1..4,096, so a game evaluates all its agents in one
call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from model_tools.models import ModelSpec

TRAINABLE = ("digits", "policy")
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
    """The trained model as an export spec: [1, 1, 8, 8] -> [1, 10], one drawing at a
    time, calibrated for int8-static on training images (real data, not noise).

    Static, not a dynamic batch: XNNPACK's lowering of a convolution on a dynamic
    batch recorded an upper bound of 15 whatever bound was asked for (measured with
    executorch 1.5.1: Dim max=512 gave [15, 1, 8, 8] in the .pte; a linear layer
    keeps its bound), so a batched digits program would refuse 16 images or more."""
    calibration = tuple((image,) for image in data.train_images[:256].split(1))
    return ModelSpec(model, (data.held_out_images[:1],), calibration=calibration)


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
    path = export_spec("digits", digits_spec(model, data), out_path, "xnnpack", quantize=quantize, log=log)
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


# --- policy: many agents per frame ------------------------------------------------------

POLICY_MAX_BATCH = 4096
"""Upper bound of the policy's batch dimension: agents evaluated in one call."""

POLICY_OBSERVATIONS = 16
POLICY_ACTIONS = 4


class PolicyMLP(nn.Module):
    """16 -> 64 -> 64 -> 4, ReLU, tanh out: a steering policy, one row per agent."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(POLICY_OBSERVATIONS, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, POLICY_ACTIONS),
        )

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.layers(observations))


def steering_rule(observations: torch.Tensor) -> torch.Tensor:
    """What the policy imitates: each agent orbits the target on its own ring.

    Observations (one row per agent, lengths in units of the ring scale):
    0-1 the vector to the target, 2-3 the agent's velocity (1 = top speed),
    4 its ring's radius, 5 its direction (+1 counter-clockwise, -1 clockwise),
    6-9 how close the left, right, top and bottom walls are (1 = touching, 0 =
    far), 10-11 the target's velocity, 12-15 the agent's previous action.
    Actions: 0-1 the acceleration, 2 how far off its ring (signed, for colour),
    3 how hard it steers (0..1, for size)."""
    to_target, velocity = observations[:, 0:2], observations[:, 2:4]
    radius, spin = observations[:, 4:5], observations[:, 5:6]
    walls, target_velocity, previous = observations[:, 6:10], observations[:, 10:12], observations[:, 12:14]
    distance = to_target.norm(dim=1, keepdim=True).clamp_min(1e-3)
    radial = to_target / distance
    tangent = spin * torch.cat([-radial[:, 1:2], radial[:, 0:1]], dim=1)
    off_ring = distance - radius
    desired = 0.8 * tangent + radial * torch.clamp(3.0 * off_ring, -1.0, 1.0) + target_velocity
    # Walls push back, harder the closer they are (left/right on x, top/bottom on y).
    push = torch.stack([walls[:, 0] - walls[:, 1], walls[:, 2] - walls[:, 3]], dim=1) ** 3 * 2.0
    steer = torch.tanh(2.0 * (desired - velocity + push) + 0.3 * previous)
    return torch.cat([steer, torch.tanh(off_ring), torch.tanh(steer.norm(dim=1, keepdim=True))], dim=1)


def policy_observations(count: int, generator: torch.Generator) -> torch.Tensor:
    """Observations drawn over the ranges a game meets."""
    observations = torch.empty(count, POLICY_OBSERVATIONS)
    observations[:, 0:2] = torch.empty(count, 2).uniform_(-3.0, 3.0, generator=generator)
    observations[:, 2:4] = torch.empty(count, 2).uniform_(-1.2, 1.2, generator=generator)
    observations[:, 4] = torch.empty(count).uniform_(0.2, 1.5, generator=generator)
    observations[:, 5] = torch.randint(0, 2, (count,), generator=generator).float() * 2.0 - 1.0
    observations[:, 6:10] = torch.empty(count, 4).uniform_(0.0, 1.0, generator=generator) ** 4
    observations[:, 10:12] = torch.empty(count, 2).uniform_(-0.5, 0.5, generator=generator)
    observations[:, 12:16] = torch.empty(count, 4).uniform_(-1.0, 1.0, generator=generator)
    return observations


def train_policy(steps: int = 3000, seed: int = 0, log: Log = print) -> tuple[PolicyMLP, float]:
    """Imitates steering_rule on fresh random observations each step (MSE, Adam);
    returns the policy and its mean absolute error on held-out observations."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    policy = PolicyMLP()
    optimizer = torch.optim.Adam(policy.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    held_out = policy_observations(4096, torch.Generator().manual_seed(seed + 1))
    target = steering_rule(held_out)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        observations = policy_observations(512, generator)
        loss = torch.mean((policy(observations) - steering_rule(observations)) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step == 1 or step % 1000 == 0 or step == steps:  # the last step is always measured
            with torch.no_grad():
                error = float((policy(held_out) - target).abs().mean())
            log(f"  step {step}/{steps}: held-out mean abs error {error:.4f} ({time.perf_counter() - started:.1f} s)")
    return policy.eval(), error


def policy_spec(policy: PolicyMLP) -> ModelSpec:
    """[B, 16] -> [B, 4], B in 1..POLICY_MAX_BATCH (example B=2; verify also runs 1 and 1,000)."""
    generator = torch.Generator().manual_seed(2)
    batch = torch.export.Dim("agents", min=1, max=POLICY_MAX_BATCH)
    return ModelSpec(policy, (policy_observations(2, generator),), dynamic_shapes=({0: batch},),
                     extra_cases=((policy_observations(1, generator),), (policy_observations(1000, generator),)))


def train_and_export_policy(out_path, quantize: str | None = None, steps: int = 3000, seed: int = 0,
                            log: Log = print) -> tuple[PolicyMLP, float]:
    """``python -m model_tools train policy``: imitate the steering rule, export with a dynamic batch."""
    from model_tools.exporting import export_spec

    log(f"training policy: 16 -> 64 -> 64 -> 4, imitating the orbit-the-target steering rule, {steps} steps")
    policy, error = train_policy(steps, seed, log)
    export_spec("policy", policy_spec(policy), out_path, "xnnpack", quantize=quantize, log=log)
    log(f"held-out mean abs error against the rule: {error:.4f} (actions are in -1..1)")
    return policy, error
