"""Labelled datasets as plain arrays, the scikit-learn digits, and train/test splitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clients.fl.errors import DatasetError


@dataclass(frozen=True)
class LabelledData:
    """Samples and integer labels.

    Attributes:
        x: ``float32`` samples, shape ``(N, *sample_shape)`` (images are ``(N, C, H, W)``).
        y: ``int64`` labels in ``[0, num_classes)``, shape ``(N,)``.
        num_classes: Number of classes of the task (not only those present here).
        class_names: Human-readable class names, ``num_classes`` of them.
    """

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise DatasetError(f"{self.x.shape[0]} samples but {self.y.shape[0]} labels; they must match")
        if self.y.ndim != 1:
            raise DatasetError(f"labels must be a 1-D vector, got shape {self.y.shape}")
        if self.y.size and (self.y.min() < 0 or self.y.max() >= self.num_classes):
            raise DatasetError(
                f"labels must lie in [0, {self.num_classes}), got range [{self.y.min()}, {self.y.max()}]"
            )
        if len(self.class_names) != self.num_classes:
            raise DatasetError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample (without the batch dimension)."""
        return tuple(self.x.shape[1:])

    def subset(self, indices: np.ndarray) -> "LabelledData":
        """The samples at ``indices`` (same classes)."""
        return LabelledData(self.x[indices], self.y[indices], self.num_classes, self.class_names)


def load_digits_data() -> LabelledData:
    """The 1,797 scikit-learn 8×8 digits, scaled to [0, 1], shaped ``(N, 1, 8, 8)``."""
    from sklearn.datasets import load_digits  # sklearn takes ~0.7 s to import: only who loads digits pays it

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return LabelledData(x, bunch.target.astype(np.int64), 10, tuple(str(d) for d in range(10)))


def split_train_test(
    data: LabelledData, test_fraction: float = 0.2, seed: int = 0
) -> tuple[LabelledData, LabelledData]:
    """Stratified train/test split.

    Args:
        data: The full dataset.
        test_fraction: Share of samples held out for evaluation, in (0, 1).
        seed: Seed of the split.

    Returns:
        ``(train, test)``.

    Raises:
        DatasetError: If the fraction is out of range or a class has too few
            samples to appear on both sides.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be in (0, 1), got {test_fraction}")
    indices = np.arange(len(data))
    try:
        from sklearn.model_selection import train_test_split

        train_idx, test_idx = train_test_split(
            indices, test_size=test_fraction, random_state=seed, stratify=data.y
        )
    except ValueError as exc:
        raise DatasetError(f"cannot split {len(data)} samples into train/test: {exc}") from exc
    return data.subset(np.sort(train_idx)), data.subset(np.sort(test_idx))


def standardize(train: LabelledData, test: LabelledData) -> tuple[LabelledData, LabelledData]:
    """Scale features to zero mean / unit variance using the training statistics only."""
    mean = train.x.mean(axis=0, keepdims=True)
    std = train.x.std(axis=0, keepdims=True)
    # Constant features would divide by zero; leave them centred instead.
    std = np.where(std > 1e-8, std, 1.0)

    def scale(d: LabelledData) -> LabelledData:
        return LabelledData(((d.x - mean) / std).astype(np.float32), d.y, d.num_classes, d.class_names)

    return scale(train), scale(test)
