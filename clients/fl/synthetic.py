"""A synthetic IIoT intrusion dataset: Gaussian class-conditional sensor features.

In the spirit of the Paillier-FL paper's simulated IoT devices: each class
(normal traffic and several attack types) is a mixture of Gaussians with its
own mean and correlated covariance, so a linear model is good but not perfect
and a small MLP can do better.
"""

from __future__ import annotations

import numpy as np

from clients.fl.datasets import LabelledData
from clients.fl.errors import DatasetError

#: Class names of the generator, normal traffic first.
IIOT_CLASSES = ("normal", "dos", "probe", "mitm", "injection", "ransomware")


def make_iiot_data(
    num_samples: int = 6000,
    num_features: int = 20,
    num_attack_types: int = 5,
    clusters_per_class: int = 2,
    separation: float = 1.0,
    normal_fraction: float = 0.4,
    seed: int = 0,
) -> LabelledData:
    """Generate sensor readings labelled ``normal`` or by attack type.

    Args:
        num_samples: Total number of samples.
        num_features: Number of sensor features per sample.
        num_attack_types: Number of attack classes (1 to 5), besides ``normal``.
        clusters_per_class: Gaussian components per class (more = less linear).
        separation: Scale of the cluster means relative to the noise; smaller is harder.
        normal_fraction: Share of ``normal`` samples; the rest is split evenly among attacks.
        seed: Seed of the generator; equal seeds give equal data.

    Returns:
        ``float32`` features ``(N, num_features)`` and labels ``0..num_attack_types``.

    Raises:
        DatasetError: For out-of-range arguments or fewer samples than classes.
    """
    num_classes = num_attack_types + 1
    if not 1 <= num_attack_types <= len(IIOT_CLASSES) - 1:
        raise DatasetError(f"num_attack_types must be between 1 and {len(IIOT_CLASSES) - 1}, got {num_attack_types}")
    if num_features < 2 or clusters_per_class < 1 or separation <= 0:
        raise DatasetError("need num_features >= 2, clusters_per_class >= 1 and separation > 0")
    if not 0.0 < normal_fraction < 1.0:
        raise DatasetError(f"normal_fraction must be in (0, 1), got {normal_fraction}")
    if num_samples < 2 * num_classes:
        raise DatasetError(f"need at least {2 * num_classes} samples for {num_classes} classes, got {num_samples}")
    rng = np.random.default_rng(seed)
    counts = np.full(num_classes, 0, dtype=np.int64)
    counts[0] = int(round(num_samples * normal_fraction))
    rest = num_samples - counts[0]
    counts[1:] = rest // num_attack_types
    counts[1 : 1 + rest % num_attack_types] += 1
    xs, ys = [], []
    for label, count in enumerate(counts):
        means = rng.normal(0.0, separation, size=(clusters_per_class, num_features))
        assignment = rng.integers(0, clusters_per_class, size=count)
        for cluster in range(clusters_per_class):
            n = int(np.count_nonzero(assignment == cluster))
            # A random mixing matrix gives each cluster its own correlated covariance.
            mixing = rng.normal(0.0, 1.0 / np.sqrt(num_features), size=(num_features, num_features))
            mixing += np.eye(num_features) * 0.5
            xs.append(means[cluster] + rng.normal(size=(n, num_features)) @ mixing)
            ys.append(np.full(n, label, dtype=np.int64))
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys)
    order = rng.permutation(len(y))
    return LabelledData(x[order], y[order], num_classes, IIOT_CLASSES[:num_classes])
