"""Shared fixtures of the fl tests: small digits splits, single-threaded torch."""

from __future__ import annotations

import pytest
import torch

from clients.fl import LabelledData, load_digits_data, split_train_test


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    # The machine's 2 cores are shared; these models are too small to gain from threads.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits_split() -> tuple[LabelledData, LabelledData]:
    """The scikit-learn digits, 80/20 stratified split."""
    return split_train_test(load_digits_data(), 0.2, seed=0)
