"""Partitioners: IID and Dirichlet splits, determinism, impossible splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.fl import PartitionError, partition_dirichlet, partition_iid, partition_indices


def _assert_is_partition(parts: list[np.ndarray], total: int) -> None:
    joined = np.concatenate(parts)
    assert joined.size == total
    assert np.array_equal(np.sort(joined), np.arange(total))
    assert all(p.size >= 1 for p in parts)


def test_iid_near_equal_and_seeded() -> None:
    parts = partition_iid(103, 10, seed=1)
    _assert_is_partition(parts, 103)
    assert {p.size for p in parts} == {10, 11}
    assert all(np.array_equal(a, b) for a, b in zip(parts, partition_iid(103, 10, seed=1)))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, partition_iid(103, 10, seed=2)))


def test_dirichlet_skews_labels_more_for_small_alpha() -> None:
    labels = np.repeat(np.arange(10), 100)

    def mean_classes(alpha: float) -> float:
        parts = partition_dirichlet(labels, 10, alpha, seed=0)
        _assert_is_partition(parts, labels.size)
        return float(np.mean([np.unique(labels[p]).size for p in parts]))

    assert mean_classes(0.1) < mean_classes(100.0)
    assert mean_classes(100.0) == 10.0


@settings(max_examples=25, deadline=None)
@given(
    clients=st.integers(1, 12),
    extra=st.integers(0, 40),
    alpha=st.floats(0.3, 10.0),
    seed=st.integers(0, 2**16),
)
def test_dirichlet_every_client_non_empty(clients: int, extra: int, alpha: float, seed: int) -> None:
    labels = np.random.default_rng(seed).integers(0, 4, size=clients * 5 + extra)
    parts = partition_dirichlet(labels, clients, alpha, seed=seed)
    _assert_is_partition(parts, labels.size)


def test_more_clients_than_samples() -> None:
    with pytest.raises(PartitionError, match="cannot give 11 clients"):
        partition_iid(10, 11)
    with pytest.raises(PartitionError, match="cannot give 11 clients"):
        partition_dirichlet(np.zeros(10, dtype=int), 11, 1.0)


def test_impossible_dirichlet_split_gives_up_with_advice() -> None:
    # Ten samples of one class among ten clients at tiny alpha: one client takes (nearly) all.
    with pytest.raises(PartitionError, match="raise alpha"):
        partition_dirichlet(np.zeros(10, dtype=int), 10, 0.01, seed=0, max_tries=5)


@pytest.mark.parametrize(
    ("scheme", "alpha", "match"), [("shards", 0.5, "unknown partition"), ("dirichlet", 0.0, "> 0")]
)
def test_bad_scheme_or_alpha(scheme: str, alpha: float, match: str) -> None:
    with pytest.raises(PartitionError, match=match):
        partition_indices(np.zeros(20, dtype=int), 2, scheme, alpha)


def test_zero_clients() -> None:
    with pytest.raises(PartitionError, match="at least one client"):
        partition_iid(10, 0)
