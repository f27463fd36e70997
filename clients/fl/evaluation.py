"""Classification metrics of a model on a labelled dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from clients.fl.datasets import LabelledData


@dataclass(frozen=True)
class Metrics:
    """Test-set metrics (macro averages over all classes of the task).

    Attributes:
        accuracy: Share of correct predictions.
        precision: Macro precision (classes never predicted count as 0).
        recall: Macro recall.
        f1: Macro F1.
        confusion: Confusion matrix, rows = true class, columns = predicted.
        num_samples: Number of evaluated samples.
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    confusion: list[list[int]]
    num_samples: int

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def predict(model: nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 1024) -> np.ndarray:
    """Predicted class of every sample."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = torch.from_numpy(x[start : start + batch_size]).to(device)
            out.append(model(xb).argmax(dim=1).cpu().numpy())
    model.train()
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def evaluate(model: nn.Module, data: LabelledData, device: torch.device | None = None) -> Metrics:
    """Accuracy, macro precision/recall/F1 and the confusion matrix of ``model`` on ``data``.

    Args:
        model: A trained classifier.
        data: The evaluation set (must be non-empty).
        device: Device the model lives on; defaults to the device of its parameters.

    Returns:
        The :class:`Metrics`.

    Raises:
        ValueError: If ``data`` is empty.
    """
    if len(data) == 0:
        raise ValueError("cannot evaluate on an empty dataset; check the test split")
    device = device or next(model.parameters()).device
    predicted = predict(model, data.x, device)
    labels = list(range(data.num_classes))
    # sklearn takes ~0.8 s to import: a process that never evaluates (an analyst's ClientApp) skips it.
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        data.y, predicted, labels=labels, average="macro", zero_division=0
    )
    return Metrics(
        accuracy=float(accuracy_score(data.y, predicted)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        confusion=confusion_matrix(data.y, predicted, labels=labels).tolist(),
        num_samples=len(data),
    )
