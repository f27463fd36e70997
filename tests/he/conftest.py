"""Shared fixtures of the packed-Paillier tests: keys are generated once per session.

1024-bit keys keep the suite fast; no property tested here depends on the key size
(the layout tests compute slot counts for 2048/3072 bits without generating keys).
"""

from typing import Callable

import pytest

from clients.he import EncodingParams, KeyPair, UpdateContext, generate_keypair


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return generate_keypair(1024)


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return generate_keypair(1024)


@pytest.fixture
def params() -> EncodingParams:
    return EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024)


def address(index: int) -> str:
    """A distinct test address per analyst index."""
    return f"0x{index + 1:040x}"


@pytest.fixture(scope="session")
def context() -> Callable[..., UpdateContext]:
    """``context(i, federation_id=1, round=1, key_epoch=1)``: analyst i's update context."""

    def make(index: int = 0, federation_id: int = 1, round: int = 1, key_epoch: int = 1) -> UpdateContext:
        return UpdateContext(federation_id, round, key_epoch, address(index))

    return make
