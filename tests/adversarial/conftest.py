"""Fixtures of the attack suite: a real federation on the session devnet with real packed-Paillier updates.

Every party signs as its own dev account. Keys are 1024-bit and models 40 values long so that each attack
runs in seconds; the checks are the ones a 2048-bit federation runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
from phe import paillier

from clients.he import (
    EncodingParams,
    KeyPair,
    UpdateContext,
    encoding_digest,
    encrypt_update,
    generate_keypair,
    public_key_to_bytes,
)
from registry.chain import (
    ArtifactInput,
    CodecKeyPolicy,
    CompiledContract,
    DpParameters,
    KeyKind,
    ModelRegistry,
    Role,
    RoundStatus,
    compile_registry,
    connect,
)
from registry.devnet import DevnetInfo, dev_account
from registry.roles import Aggregator, FederationContext, KeyHolder
from registry.store import ArtifactStore, StoredArtifact

NUM_VALUES = 40
SAMPLES = 100  # per analyst's dataset
WEIGHT = 60
ENCODING = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024)


def as_input(stored: StoredArtifact) -> ArtifactInput:
    return ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size)


@dataclass
class Federation:
    """One federation (min 2 updates per round) with an admin, an owner, three analysts, an aggregator and a
    key holder, each its own account, and one granted dataset per analyst."""

    store: ArtifactStore
    deploy_block: int
    federation_id: int
    admin: ModelRegistry
    owner: ModelRegistry
    analysts: list[ModelRegistry]
    aggregator: ModelRegistry
    key_holder: ModelRegistry
    stranger: ModelRegistry
    keys: KeyPair
    epoch: int = 1
    encoding: EncodingParams = ENCODING
    datasets: dict[str, int] = field(default_factory=dict)

    def put(self, data: bytes) -> ArtifactInput:
        """Upload ``data`` and return it as an artifact input (its real CID, sha256 and size)."""
        return as_input(self.store.put_bytes(data))

    def sha(self, artifact_id: int) -> bytes:
        """The registered sha256 of an artifact."""
        return self.admin.artifact(artifact_id, from_block=self.deploy_block).sha256

    def blob(self, artifact_id: int) -> bytes:
        """An artifact's bytes, verified against the chain."""
        return self.context(self.stranger).fetch_verified(self.admin.artifact(artifact_id, self.deploy_block))

    def context(self, party: ModelRegistry) -> FederationContext:
        return FederationContext(party, self.store, self.federation_id, self.deploy_block)

    def open_round(self) -> int:
        deadline = self.admin.w3.eth.get_block("latest")["timestamp"] + 3600
        return self.admin.open_round(self.federation_id, deadline).value

    def encrypt(self, analyst: ModelRegistry, round_: int, seed: int, *, weight: int = WEIGHT,
                context: UpdateContext | None = None, params: EncodingParams = ENCODING,
                public_key: paillier.PaillierPublicKey | None = None) -> bytes:
        """A real encrypted update of ``analyst`` for ``round_`` (values drawn from ``seed``)."""
        values = np.random.default_rng(seed).uniform(-0.5, 0.5, NUM_VALUES)
        context = context or UpdateContext(self.federation_id, round_, self.epoch, analyst.account)
        key = public_key or self.keys.public_key
        return encrypt_update(key, values, weight, params, context, workers=1).to_bytes(key)

    def submit(self, analyst: ModelRegistry, round_: int, blob: bytes, *, weight: int = WEIGHT,
               size: int | None = None) -> int:
        """Upload ``blob`` and register it as ``analyst``'s update (``size`` overrides the registered size)."""
        stored = self.store.put_bytes(blob)
        artifact = ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size if size is None else size)
        return analyst.submit_update(self.federation_id, round_, artifact, weight, [self.datasets[analyst.account]]).value

    def honest_round(self, count: int = 3) -> tuple[int, list[int]]:
        """Open a round and submit ``count`` honest updates; returns the round and the update ids."""
        round_ = self.open_round()
        ids = [self.submit(a, round_, self.encrypt(a, round_, seed=round_ * 10 + i))
               for i, a in enumerate(self.analysts[:count])]
        return round_, ids

    def aggregator_role(self) -> Aggregator:
        return Aggregator(self.context(self.aggregator), NUM_VALUES)

    def key_holder_role(self, party: ModelRegistry | None = None, keys: KeyPair | None = None) -> KeyHolder:
        party = party or self.key_holder
        return KeyHolder(self.context(party), {self.epoch: (keys or self.keys).private_key}, NUM_VALUES)

    def finalize(self, round_: int) -> int:
        """The key holder's whole path: review, decrypt, publish, finalize; returns the model version."""
        holder = self.key_holder_role()
        _, mean = holder.decrypt_round(round_, workers=1)
        model = self.store.put_bytes(np.asarray(mean, dtype=np.float32).tobytes())
        metrics = self.store.put_bytes(json.dumps({"round": round_}).encode())
        parent = self.admin.federation(self.federation_id).model_version_count
        return holder.finalize(round_, as_input(model), as_input(metrics), DpParameters.none(), parent).value

    def status(self, round_: int) -> RoundStatus:
        return self.admin.round(self.federation_id, round_).status

    def versions(self) -> int:
        return self.admin.federation(self.federation_id).model_version_count


@pytest.fixture(scope="session")
def compiled_registry() -> CompiledContract:
    return compile_registry()


@pytest.fixture(scope="module")
def deployed(devnet: DevnetInfo, compiled_registry: CompiledContract) -> tuple[ModelRegistry, int]:
    """A fresh registry per test module and its deployment block."""
    registry, deployment = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0),
                                                compiled=compiled_registry)
    return registry, deployment.block


@pytest.fixture(scope="module")
def paillier_keys() -> KeyPair:
    return generate_keypair(1024)


def build_federation(registry: ModelRegistry, deploy_block: int, store: ArtifactStore, keys: KeyPair) -> Federation:
    """Create and populate one federation (see :class:`Federation`)."""
    party = [registry.as_account(dev_account(i)) for i in range(1, 9)]
    admin, owner, a1, a2, a3, aggregator, holder, stranger = party
    fid = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER).value
    for role, account in [(Role.DATA_OWNER, owner), (Role.ANALYST, a1), (Role.ANALYST, a2), (Role.ANALYST, a3),
                          (Role.AGGREGATOR, aggregator)]:
        admin.grant_role(fid, role, account.account)
    public = store.put_bytes(public_key_to_bytes(keys.public_key))
    admin.start_key_epoch(fid, as_input(public), encoding_digest(ENCODING))
    grant = store.put_bytes(b"custody record of the key holder (no secret)")
    admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, grant.cid, bytes.fromhex(grant.sha256))
    federation = Federation(store, deploy_block, fid, admin, owner, [a1, a2, a3], aggregator, holder, stranger, keys)
    for analyst in federation.analysts:
        dataset = store.put_bytes(f"cipher sheet of {analyst.account} in federation {fid}".encode())
        federation.datasets[analyst.account] = owner.register_dataset(fid, as_input(dataset), SAMPLES).value
        record = hashlib.sha256(f"codec grant {fid} {analyst.account}".encode()).digest()
        owner.grant_key(fid, KeyKind.CODEC_KEY, analyst.account, dataset.cid, record)
    return federation


@pytest.fixture()
def make_federation(deployed: tuple[ModelRegistry, int], devnet: DevnetInfo, paillier_keys: KeyPair):
    """Build another federation on the same registry (for cross-federation attacks)."""
    registry, block = deployed
    return lambda: build_federation(registry, block, ArtifactStore(devnet.ipfs_api), paillier_keys)


@pytest.fixture()
def federation(deployed: tuple[ModelRegistry, int], devnet: DevnetInfo, paillier_keys: KeyPair) -> Federation:
    registry, block = deployed
    return build_federation(registry, block, ArtifactStore(devnet.ipfs_api), paillier_keys)


AGENT_PASSPHRASE = "agents-test"


@dataclass
class AgentParties:
    """A federation's parties as agents stepped in-process, with their keystores and the training plan."""

    analysts: list
    aggregator: object
    key_holder: object
    keystores: dict
    plan: object


def build_agents(federation: Federation, directory, samples: int = 60, **plan_fields) -> AgentParties:
    """Keystores, a real training plan (logistic model on digits unless ``plan_fields`` say otherwise),
    encrypted digit sheets of ``samples`` digits per analyst and sealed codec keys, one key per analyst."""
    from clients.fl import load_digits_data, partition_iid, render_sheet, split_train_test
    from clients.he import private_key_to_bytes
    from registry.keystore import Keystore
    from registry.roles import publish_dataset, publish_encryption_key
    from registry.roles.agents import AggregatorAgent, AnalystAgent, KeyHolderAgent
    from registry.roles.plan import TrainingPlan, publish_plan

    names = {f"analyst-{i + 1}": a for i, a in enumerate(federation.analysts)} | {"key holder": federation.key_holder}
    stores = {n: Keystore.create(directory / n.replace(" ", "-"), AGENT_PASSPHRASE, private_key=p.sender.key,
                                 scrypt_n=2**10) for n, p in names.items()}
    for name, party in names.items():
        publish_encryption_key(party, stores[name])
    stores["key holder"].put_secret("paillier-epoch-1", private_key_to_bytes(federation.keys.private_key))
    fields = {"model": "logistic", "seed": 3, "local_epochs": 1, "lr": 0.1, **plan_fields}
    plan = TrainingPlan.sized(fields.pop("model"), fields.pop("seed"), federation.encoding, **fields)
    publish_plan(federation.context(federation.admin), plan)
    train, _ = split_train_test(load_digits_data(), 0.2, seed=3)
    for i, indices in enumerate(partition_iid(len(train), len(federation.analysts), seed=3)):
        analyst = federation.analysts[i].account
        federation.datasets[analyst] = publish_dataset(federation.context(federation.owner),
                                                       render_sheet(train.subset(indices[:samples])), samples,
                                                       [analyst]).dataset_id
    analysts = [AnalystAgent(federation.context(a), stores[f"analyst-{i + 1}"])
                for i, a in enumerate(federation.analysts)]
    return AgentParties(analysts, AggregatorAgent(federation.context(federation.aggregator)),
                        KeyHolderAgent(federation.context(federation.key_holder), stores["key holder"]), stores, plan)


@pytest.fixture()
def make_agents(federation, tmp_path):
    """Build the federation's parties as in-process agents (see :func:`build_agents`)."""
    return lambda **plan_fields: build_agents(federation, tmp_path, **plan_fields)


def drain(agent, limit: int = 10) -> list:
    """Step ``agent`` until it has nothing to do; fails if it keeps acting (it would not see its own work)."""
    actions = []
    while (action := agent.step()) is not None:
        actions.append(action)
        assert len(actions) <= limit, "an agent keeps acting: it does not see its own work on chain"
    return actions


@pytest.fixture()
def drain_agent():
    return drain
