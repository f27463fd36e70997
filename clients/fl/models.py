"""Opacus-compatible models: a small CNN for digit images, an MLP and linear models for tabular data.

All models use GroupNorm (never BatchNorm, whose cross-sample statistics break
per-sample gradients) so DP-SGD can wrap them. Construction is deterministic
under a seed without touching the caller's global RNG state.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from clients.fl.errors import ModelConfigError

#: Model names accepted by :func:`build_model`.
MODEL_NAMES = ("cnn", "mlp", "logistic", "svm")


class DigitCNN(nn.Module):
    """Two conv blocks (Conv-GroupNorm-ReLU-MaxPool) and a two-layer head.

    Works for any square-ish single- or multi-channel image of at least 4×4
    pixels: 8×8 scikit-learn digits and 28×28 MNIST use the same code.
    """

    loss_name = "cross_entropy"

    def __init__(self, input_shape: Sequence[int], num_classes: int, width: int = 16, hidden: int = 64) -> None:
        super().__init__()
        channels, height, width_px = input_shape
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, kernel_size=3, padding=1),
            nn.GroupNorm(4, width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, kernel_size=3, padding=1),
            nn.GroupNorm(4, 2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = 2 * width * (height // 4) * (width_px // 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of images ``(N, C, H, W)``."""
        return self.head(self.features(x))


class TabularMLP(nn.Module):
    """Two hidden ReLU layers for flat sensor features."""

    loss_name = "cross_entropy"

    def __init__(self, num_features: int, num_classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(num_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch ``(N, features)``."""
        return self.net(x)


class LinearClassifier(nn.Module):
    """One linear layer; multinomial logistic regression or a linear SVM depending on the loss."""

    def __init__(self, num_features: int, num_classes: int, loss_name: str) -> None:
        super().__init__()
        self.loss_name = loss_name
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(num_features, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores for a batch ``(N, features)``."""
        return self.net(x)


def loss_function(model: nn.Module) -> nn.Module:
    """The training criterion a model was built for (cross-entropy or multi-class hinge)."""
    name = getattr(model, "loss_name", "cross_entropy")
    return nn.MultiMarginLoss() if name == "hinge" else nn.CrossEntropyLoss()


def build_model(name: str, input_shape: Sequence[int], num_classes: int, seed: int = 0) -> nn.Module:
    """Build a freshly initialised model, identical for identical arguments.

    Args:
        name: One of :data:`MODEL_NAMES`: ``cnn`` (images ``(C, H, W)``),
            ``mlp``, ``logistic`` or ``svm`` (any shape, flattened).
        input_shape: Shape of one sample, without the batch dimension.
        num_classes: Number of output classes (at least 2).
        seed: Seed of the parameter initialisation.

    Returns:
        The model, on the CPU, in training mode.

    Raises:
        ModelConfigError: For an unknown name, fewer than two classes, or a
            CNN asked for non-image input (not ``(C, H, W)`` with H, W ≥ 4).
    """
    if num_classes < 2:
        raise ModelConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    shape = tuple(int(d) for d in input_shape)
    features = 1
    for dim in shape:
        features *= dim
    # fork_rng keeps the caller's global RNG untouched while seeding the init.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "cnn":
            if len(shape) != 3 or shape[1] < 4 or shape[2] < 4:
                raise ModelConfigError(
                    f"the cnn model needs image samples shaped (channels, height, width) with height and "
                    f"width >= 4, got {shape}; use --model mlp for tabular data"
                )
            return DigitCNN(shape, num_classes)
        if name == "mlp":
            return TabularMLP(features, num_classes)
        if name == "logistic":
            return LinearClassifier(features, num_classes, "cross_entropy")
        if name == "svm":
            return LinearClassifier(features, num_classes, "hinge")
    raise ModelConfigError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
