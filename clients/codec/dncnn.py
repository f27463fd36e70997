"""DnCNN denoiser (Zhang et al. 2017) in the FLEP-AI paper's setting, and its shipped weights.

Depth 9: conv+ReLU, 7 x (conv+BN+ReLU), conv; 64 feature maps, 3x3 kernels, zero padding. The network learns
the residual (the noise), so ``denoise(y) = y - net(y)``. Images are handled in [0, 1] float scale.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clients.codec.errors import CodecError

DEPTH = 9
FEATURES = 64
DEFAULT_WEIGHTS = "dncnn_sigma25.pt"


class DnCNNWeightsError(CodecError):
    """The DnCNN weights file is missing or does not match the architecture."""


class DnCNN(nn.Module):
    """Residual DnCNN: predicts the noise of a single-channel image.

    Args:
        depth: Total number of conv layers (first + middle + last).
        features: Feature maps per hidden layer.
        channels: Image channels (1 for grayscale; RGB is denoised per channel).
    """

    def __init__(self, depth: int = DEPTH, features: int = FEATURES, channels: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(features, features, 3, padding=1, bias=False),
                nn.BatchNorm2d(features),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(features, channels, 3, padding=1, bias=False))
        self.body = nn.Sequential(*layers)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        """Return the predicted noise residual (same shape as ``noisy``)."""
        return self.body(noisy)


def weights_path(name: str = DEFAULT_WEIGHTS) -> Path:
    """Path of a weights file shipped in ``clients/codec/weights``."""
    return Path(str(resources.files("clients.codec") / "weights" / name))


def load_dncnn(path: str | Path | None = None, device: str = "cpu") -> DnCNN:
    """Build a DnCNN in eval mode and load weights (the shipped sigma=25 weights by default).

    Raises:
        DnCNNWeightsError: the file is missing or its tensors do not fit the architecture.
    """
    file = Path(path) if path is not None else weights_path()
    if not file.is_file():
        raise DnCNNWeightsError(
            f"DnCNN weights not found at {file}; reinstall the package or retrain with scripts/train_dncnn.py"
        )
    model = DnCNN()
    try:
        state = torch.load(file, map_location=device, weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, KeyError, OSError) as exc:
        raise DnCNNWeightsError(f"DnCNN weights at {file} do not fit a depth-{DEPTH} DnCNN: {exc}") from exc
    return model.to(device).eval()


class Denoiser:
    """Applies a DnCNN to uint8/float images in the 0..255 range, per channel.

    Args:
        model: A loaded DnCNN; the shipped weights when omitted.
    """

    def __init__(self, model: DnCNN | None = None) -> None:
        self.model = model if model is not None else load_dncnn()

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Denoise an image of shape (H, W) or (H, W, C) given in the 0..255 scale.

        Returns:
            float64 array of the same shape in the 0..255 scale (not clipped or rounded).
        """
        arr = np.asarray(image, dtype=np.float32) / 255.0
        planes = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
        batch = torch.from_numpy(np.ascontiguousarray(planes[:, None]))
        clean = batch - self.model(batch)
        out = clean[:, 0].numpy().astype(np.float64) * 255.0
        return out[0] if arr.ndim == 2 else np.moveaxis(out, 0, -1)
