"""Fixtures for the chain integration tests: a registry deployed on the session devnet's Anvil."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import pytest

from registry.chain import (
    ArtifactInput,
    CodecKeyPolicy,
    CompiledContract,
    KeyKind,
    ModelRegistry,
    Role,
    compile_registry,
    connect,
)
from registry.devnet import DevnetInfo, dev_account

# A real CIDv0 shape (46 characters), so that calldata and gas figures are realistic.
CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


ENCODING_DIGEST = hashlib.sha256(b"encoding parameters").digest()
DATASET_SAMPLES = 1000


def make_artifact(content: bytes) -> ArtifactInput:
    """An artifact input for ``content`` (its real sha256 and size)."""
    return ArtifactInput(CID, hashlib.sha256(content).digest(), len(content))


@dataclass
class Parties:
    """One federation's parties, each a registry wrapper acting as its own dev account."""

    federation_id: int
    operator: ModelRegistry
    admin: ModelRegistry
    owner: ModelRegistry
    analyst: ModelRegistry
    analyst2: ModelRegistry
    aggregator: ModelRegistry
    key_holder: ModelRegistry
    stranger: ModelRegistry
    dataset: int


@pytest.fixture(scope="session")
def compiled_registry() -> CompiledContract:
    return compile_registry()


@pytest.fixture(scope="module")
def deployed(devnet: DevnetInfo, compiled_registry: CompiledContract) -> ModelRegistry:
    """A fresh registry per test module, operated by dev account 0 (transactions signed locally)."""
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    registry, _ = ModelRegistry.deploy(w3, dev_account(0), compiled=compiled_registry)
    return registry


@pytest.fixture()
def artifact() -> Callable[[bytes], ArtifactInput]:
    return make_artifact


@pytest.fixture()
def parties(deployed: ModelRegistry) -> Parties:
    """A new federation (min 2 participants per round) with every role held, the Paillier key of epoch 1
    granted, and one dataset of ``DATASET_SAMPLES`` samples whose codec key both analysts hold."""
    admin = deployed.as_account(dev_account(1))
    federation_id = deployed.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER).value
    p = Parties(
        federation_id=federation_id,
        operator=deployed,
        admin=admin,
        owner=deployed.as_account(dev_account(2)),
        analyst=deployed.as_account(dev_account(3)),
        analyst2=deployed.as_account(dev_account(4)),
        aggregator=deployed.as_account(dev_account(5)),
        key_holder=deployed.as_account(dev_account(6)),
        stranger=deployed.as_account(dev_account(7)),
        dataset=0,
    )
    admin.grant_role(federation_id, Role.DATA_OWNER, p.owner.account)
    admin.grant_role(federation_id, Role.ANALYST, p.analyst.account)
    admin.grant_role(federation_id, Role.ANALYST, p.analyst2.account)
    admin.grant_role(federation_id, Role.AGGREGATOR, p.aggregator.account)
    admin.start_key_epoch(federation_id, make_artifact(b"paillier public key"), ENCODING_DIGEST)
    blob = b"paillier private key wrapped for the key holder"
    admin.grant_key(
        federation_id, KeyKind.PAILLIER_PRIVATE_KEY, p.key_holder.account, CID, hashlib.sha256(blob).digest()
    )
    p.dataset = p.owner.register_dataset(federation_id, make_artifact(b"cipher images"), DATASET_SAMPLES).value
    for analyst in (p.analyst, p.analyst2):
        p.owner.grant_key(federation_id, KeyKind.CODEC_KEY, analyst.account, CID,
                          hashlib.sha256(b"codec key for " + analyst.account.encode()).digest())
    return p
