"""Shared fixtures of the packed-Paillier tests: keys are generated once per session.

1024-bit keys keep the suite fast; no property tested here depends on the key size
(the layout tests compute slot counts for 2048/3072 bits without generating keys).
"""

import pytest

from clients.he import EncodingParams, KeyPair, generate_keypair


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return generate_keypair(1024)


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return generate_keypair(1024)


@pytest.fixture
def params() -> EncodingParams:
    return EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024)
