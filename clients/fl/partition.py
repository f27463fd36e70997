"""Split sample indices among clients: IID or label-skewed Dirichlet(α), every client non-empty."""

from __future__ import annotations

import numpy as np

from clients.fl.errors import PartitionError

#: Partition schemes accepted by :func:`partition_indices`.
PARTITION_SCHEMES = ("iid", "dirichlet")


def _check_counts(num_samples: int, num_clients: int, min_size: int) -> None:
    if num_clients < 1:
        raise PartitionError(f"need at least one client, got {num_clients}")
    if min_size < 1:
        raise PartitionError(f"min_size must be at least 1, got {min_size}")
    if num_samples < num_clients * min_size:
        raise PartitionError(
            f"cannot give {num_clients} clients at least {min_size} sample(s) each from only "
            f"{num_samples} samples; use fewer clients or more data"
        )


def partition_iid(num_samples: int, num_clients: int, seed: int = 0) -> list[np.ndarray]:
    """Shuffle and deal the samples into near-equal shares.

    Args:
        num_samples: Number of samples to split.
        num_clients: Number of clients.
        seed: Seed of the shuffle.

    Returns:
        One sorted index array per client; sizes differ by at most one.

    Raises:
        PartitionError: If there are fewer samples than clients.
    """
    _check_counts(num_samples, num_clients, 1)
    order = np.random.default_rng(seed).permutation(num_samples)
    return [np.sort(part) for part in np.array_split(order, num_clients)]


def partition_dirichlet(
    labels: np.ndarray, num_clients: int, alpha: float, seed: int = 0, min_size: int = 1, max_tries: int = 100
) -> list[np.ndarray]:
    """Label-skewed split: each class is spread over clients by Dirichlet(α) proportions.

    Small α gives each client few classes; large α approaches IID. Draws are
    repeated (up to ``max_tries``) until every client holds ``min_size``
    samples, as in the usual FL benchmarks (Hsu et al. 2019).

    Args:
        labels: Integer label of every sample.
        num_clients: Number of clients.
        alpha: Dirichlet concentration, > 0.
        seed: Seed of the draws.
        min_size: Smallest acceptable client size.
        max_tries: Redraws before giving up.

    Returns:
        One sorted index array per client.

    Raises:
        PartitionError: If α is not positive, samples are too few, or no draw
            within ``max_tries`` left every client with ``min_size`` samples.
    """
    labels = np.asarray(labels)
    if not alpha > 0:
        raise PartitionError(f"Dirichlet alpha must be > 0, got {alpha}")
    _check_counts(labels.shape[0], num_clients, min_size)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    for _ in range(max_tries):
        shares: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for cls in classes:
            members = rng.permutation(np.flatnonzero(labels == cls))
            proportions = rng.dirichlet(np.full(num_clients, alpha))
            cuts = (np.cumsum(proportions)[:-1] * members.size).astype(int)
            for client, part in enumerate(np.split(members, cuts)):
                shares[client].append(part)
        parts = [np.sort(np.concatenate(s)) for s in shares]
        if min(p.size for p in parts) >= min_size:
            return parts
    raise PartitionError(
        f"no Dirichlet(alpha={alpha}) split of {labels.shape[0]} samples gave all {num_clients} clients "
        f">= {min_size} samples in {max_tries} tries; raise alpha, use fewer clients or more data"
    )


def partition_indices(
    labels: np.ndarray, num_clients: int, scheme: str, alpha: float = 0.5, seed: int = 0
) -> list[np.ndarray]:
    """Dispatch to :func:`partition_iid` or :func:`partition_dirichlet` by name.

    Raises:
        PartitionError: For an unknown scheme or an impossible split.
    """
    if scheme == "iid":
        return partition_iid(len(labels), num_clients, seed)
    if scheme == "dirichlet":
        return partition_dirichlet(labels, num_clients, alpha, seed)
    raise PartitionError(f"unknown partition scheme {scheme!r}; choose one of {', '.join(PARTITION_SCHEMES)}")
