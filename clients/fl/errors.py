"""Exceptions raised by the federated-learning layer.

Every error says what failed and what to do next, so a person running a
simulation (or the CLI printing it) can act on it without reading the code.
"""

from __future__ import annotations


class FLError(Exception):
    """Base class of every error raised by :mod:`clients.fl`."""


class DatasetError(FLError):
    """A dataset could not be loaded or is malformed (file, shape, labels)."""


class PartitionError(FLError):
    """Samples cannot be split among the requested clients (empty client, too few samples)."""


class ParameterShapeError(FLError):
    """A flat parameter vector does not fit the model (wrong length, shape, dtype, non-finite)."""


class ModelConfigError(FLError):
    """An unknown model name or a model that does not fit the data shape."""


class TrainingConfigError(FLError):
    """Invalid local-training settings (epochs, batch size, learning rate, optimizer)."""


class DPConfigError(FLError):
    """Differential-privacy settings that are invalid or that Opacus rejects."""


class AggregationError(FLError):
    """A round produced no global model because every client update was refused."""
