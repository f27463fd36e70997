"""Fixtures of the command tests: a registry on the session devnet and one audited federation with real rounds.

The federation (min 2 updates per round) has an admin, a data owner, three analysts, an aggregator and a key
holder, each its own dev account, with 1024-bit Paillier keys and 40-value models so that it builds in
seconds. Round 1 finalizes three honest updates without DP; round 2 excludes an update whose header names
another round and finalizes with a DP record; the third analyst's codec grant is then revoked, and round 3 is
aborted with a reason full of rich markup. The third analyst also registers an HPKE key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from clients.he import EncodingParams, KeyPair, UpdateContext, encoding_digest, encrypt_update, generate_keypair
from clients.he import public_key_to_bytes
from registry.chain import (
    ArtifactInput,
    CodecKeyPolicy,
    DpParameters,
    HpkeSuite,
    KeyKind,
    ModelRegistry,
    Role,
    connect,
)
from registry.devnet import Devnet, DevnetInfo, dev_account
from registry.roles import Aggregator, FederationContext, KeyHolder
from registry.store import ArtifactStore

NUM_VALUES = 40
SAMPLES = 100
WEIGHT = 60
ENCODING = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024)
DP = DpParameters.from_floats(3.0, 1e-5, 1.1, 1.0, "rdp")
HOSTILE = "[red]x[/red][link=https://evil.example]y[/link]"


@dataclass(frozen=True)
class AuditedFederation:
    """What the audit tests assert against: who is who and what each round recorded."""

    registry_address: str
    federation_id: int
    admin: str
    owner: str
    analysts: tuple[str, ...]
    aggregator: str
    key_holder: str
    datasets: dict[str, int]
    round1_updates: tuple[int, ...]
    round2_included: tuple[int, ...]
    round2_excluded: int
    revoked_analyst: str
    aborted_round: int


@pytest.fixture(scope="module")
def registry(devnet: DevnetInfo) -> ModelRegistry:
    """A fresh registry for the test module, deployed by dev account 0 (the operator)."""
    deployed, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    return deployed


@pytest.fixture(scope="module")
def cli_env(devnet_manager: Devnet, registry: ModelRegistry) -> dict[str, str]:
    """Environment for ``flep`` in a CliRunner: the session devnet and this module's registry."""
    return {"FLEP_HOME": str(devnet_manager.home), "FLEP_REGISTRY_ADDRESS": registry.address}


def _as_input(store: ArtifactStore, data: bytes) -> ArtifactInput:
    stored = store.put_bytes(data)
    return ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size)


def _update(keys: KeyPair, context: UpdateContext, seed: int) -> bytes:
    values = np.random.default_rng(seed).uniform(-0.5, 0.5, NUM_VALUES)
    return encrypt_update(keys.public_key, values, WEIGHT, ENCODING, context, workers=1).to_bytes(keys.public_key)


@pytest.fixture(scope="module")
def audited(registry: ModelRegistry, devnet: DevnetInfo) -> AuditedFederation:
    """The federation described in the module docstring, built on the real devnet."""
    store = ArtifactStore(devnet.ipfs_api)
    keys = generate_keypair(1024)
    admin, owner, a1, a2, a3, aggregator, holder = (registry.as_account(dev_account(i)) for i in range(1, 8))
    analysts = (a1, a2, a3)
    fid = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER).value
    for role, party in [(Role.DATA_OWNER, owner), *((Role.ANALYST, a) for a in analysts),
                        (Role.AGGREGATOR, aggregator)]:
        admin.grant_role(fid, role, party.account)
    admin.start_key_epoch(fid, _as_input(store, public_key_to_bytes(keys.public_key)), encoding_digest(ENCODING))
    custody = _as_input(store, b"custody record of the key holder (no secret)")
    admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, custody.cid, custody.sha256)
    datasets = {}
    for analyst in analysts:
        dataset = _as_input(store, f"cipher sheet of {analyst.account} in federation {fid}".encode())
        datasets[analyst.account] = owner.register_dataset(fid, dataset, SAMPLES).value
        owner.grant_key(fid, KeyKind.CODEC_KEY, analyst.account, dataset.cid,
                        hashlib.sha256(f"codec grant {fid} {analyst.account}".encode()).digest())

    def context(party: ModelRegistry) -> FederationContext:
        return FederationContext(party, store, fid)

    def run_round(bad_round_in_header: int | None, dp: DpParameters) -> tuple[int, list[int]]:
        deadline = registry.w3.eth.get_block("latest")["timestamp"] + 3600
        round_ = admin.open_round(fid, deadline).value
        ids = []
        for i, analyst in enumerate(analysts):
            header_round = bad_round_in_header if bad_round_in_header and analyst is a3 else round_
            blob = _update(keys, UpdateContext(fid, header_round, 1, analyst.account), seed=round_ * 10 + i)
            ids.append(analyst.submit_update(fid, round_, _as_input(store, blob), WEIGHT,
                                             [datasets[analyst.account]]).value)
        Aggregator(context(aggregator), NUM_VALUES).aggregate_round(round_)
        key_holder = KeyHolder(context(holder), {1: keys.private_key}, NUM_VALUES)
        _, mean = key_holder.decrypt_round(round_, workers=1)
        model = _as_input(store, np.asarray(mean, dtype=np.float32).tobytes())
        # Unique bytes (federation and registry named), so a test may damage this block on the node's disk.
        metrics = _as_input(store, json.dumps({"round": round_, "federation": fid, "registry": registry.address})
                            .encode())
        parent = registry.federation(fid).model_version_count
        key_holder.finalize(round_, model, metrics, dp, parent)
        return round_, ids

    _, round1 = run_round(None, DpParameters.none())
    _, round2 = run_round(99, DP)
    owner.revoke_key(fid, KeyKind.CODEC_KEY, a3.account, owner.account)
    a3.register_encryption_key(HpkeSuite.DHKEM_X25519, X25519PrivateKey.generate().public_key().public_bytes_raw())
    deadline = registry.w3.eth.get_block("latest")["timestamp"] + 3600
    aborted = admin.open_round(fid, deadline).value
    admin.abort_round(fid, aborted, HOSTILE)
    return AuditedFederation(
        registry_address=registry.address, federation_id=fid, admin=admin.account, owner=owner.account,
        analysts=tuple(a.account for a in analysts), aggregator=aggregator.account, key_holder=holder.account,
        datasets=datasets, round1_updates=tuple(round1), round2_included=tuple(round2[:2]),
        round2_excluded=round2[2], revoked_analyst=a3.account, aborted_round=aborted,
    )
