"""Local training settings, device choice and the epoch loop shared by every client."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from clients.fl.errors import TrainingConfigError
from clients.fl.models import loss_function

#: Optimizers accepted by :class:`TrainConfig`.
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """How each client trains locally in one round.

    Attributes:
        local_epochs: Passes over the local data per round (≥ 1).
        batch_size: Mini-batch size (the expected batch size under DP Poisson sampling).
        lr: Learning rate (> 0).
        optimizer: ``sgd`` (with ``momentum``) or ``adam``.
        momentum: SGD momentum in [0, 1).
    """

    local_epochs: int = 2
    batch_size: int = 32
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9

    def validate(self) -> None:
        """Check the settings.

        Raises:
            TrainingConfigError: For non-positive epochs, batch size or learning
                rate, momentum outside [0, 1), or an unknown optimizer.
        """
        if self.local_epochs < 1:
            raise TrainingConfigError(f"local_epochs must be >= 1, got {self.local_epochs}")
        if self.batch_size < 1:
            raise TrainingConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise TrainingConfigError(f"learning rate must be > 0, got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            raise TrainingConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


def resolve_device(name: str | None = None) -> torch.device:
    """The device to train on: ``name`` if given, else CUDA when present, else the CPU.

    Raises:
        TrainingConfigError: If CUDA is requested but not available.
    """
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named in ``config`` over the model's parameters."""
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)


def run_epochs(
    model: nn.Module,
    criterion_source: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: torch.device,
) -> float:
    """Train for ``epochs`` passes and return the mean training loss of the last pass.

    Args:
        model: The module to step (possibly an Opacus ``GradSampleModule``).
        criterion_source: The unwrapped model, whose ``loss_name`` picks the loss.
        loader: Batches of ``(x, y)`` (possibly Opacus Poisson-sampled, so some may be empty).
        optimizer: Optimizer (possibly an Opacus ``DPOptimizer``).
        epochs: Number of passes.
        device: Where the batches go.

    Returns:
        Mean loss over the non-empty batches of the last epoch (NaN if all were empty).
    """
    criterion = loss_function(criterion_source)
    model.train()
    last = float("nan")
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            # Opacus Poisson sampling can draw an empty batch; it still goes through
            # forward/backward so the step is noised and counted by the accountant.
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            if xb.shape[0]:
                total += float(loss.detach()) * xb.shape[0]
                count += xb.shape[0]
        last = total / count if count else float("nan")
    return last
