"""Flat parameter vectors: the form in which models travel (and get encrypted).

A model's trainable parameters, in ``named_parameters`` order, concatenated
into one float32 vector. The HE layer encrypts exactly this vector, and FedAvg
averages it, so loading must reject anything that is not a perfect fit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clients.fl.errors import ParameterShapeError


def num_parameters(model: nn.Module) -> int:
    """Number of scalars in the model's trainable parameters."""
    return sum(p.numel() for p in model.parameters())


def get_flat_params(model: nn.Module) -> np.ndarray:
    """Return the model's parameters as one flat float32 vector (a copy).

    Args:
        model: Any PyTorch module.

    Returns:
        A 1-D ``float32`` array of length :func:`num_parameters`.
    """
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1).to("cpu", torch.float32) for p in model.parameters()])
    return flat.numpy().copy()


def set_flat_params(model: nn.Module, vector: np.ndarray) -> None:
    """Load a flat parameter vector into the model, in place.

    Args:
        model: The module to overwrite; its architecture fixes the expected length.
        vector: A 1-D finite float vector of length :func:`num_parameters`.

    Raises:
        ParameterShapeError: If the vector is not 1-D, not floating point, has
            the wrong length, or contains NaN/Inf.
    """
    array = np.asarray(vector)
    expected = num_parameters(model)
    if array.ndim != 1:
        raise ParameterShapeError(
            f"parameter vector must be 1-D, got shape {array.shape}; flatten it with get_flat_params"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ParameterShapeError(f"parameter vector must hold floats, got dtype {array.dtype}")
    if array.shape[0] != expected:
        raise ParameterShapeError(
            f"parameter vector has length {array.shape[0]} but the model "
            f"({type(model).__name__}) has {expected} parameters; was it produced by the same model "
            "architecture, input shape and class count?"
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ParameterShapeError(f"parameter vector contains {bad} NaN/Inf values; refusing to load it")
    offset = 0
    with torch.no_grad():
        for param in model.parameters():
            count = param.numel()
            chunk = torch.from_numpy(np.ascontiguousarray(array[offset : offset + count], dtype=np.float32))
            param.copy_(chunk.reshape(param.shape).to(param.device, param.dtype))
            offset += count
