"""A scratch federation of N rounds x K analysts on a running devnet, for `flep bench explorer`.

Every round goes through the parties' real paths, the chain and IPFS, but nothing is trained: each analyst
encrypts a vector of seeded random values (packed Paillier, bound to its federation, round, key epoch and
address) under a small key, the :class:`~registry.roles.Aggregator` sums them and the
:class:`~registry.roles.KeyHolder` reviews, decrypts and finalizes. So the federation has the shape an auditor
walks through (rounds, updates with weights, datasets, models and metrics reporting an accuracy) at a build
cost of seconds per round, and a fresh registry of its own, so that a measurement sees only it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from clients.he import EncodingParams, UpdateContext, encoding_digest, encrypt_update, generate_keypair
from clients.he import public_key_to_bytes
from registry.chain import CodecKeyPolicy, DpParameters, KeyKind, ModelRegistry, Role
from registry.roles import Aggregator, FederationContext, KeyHolder
from registry.roles.context import as_input, fund_accounts
from registry.store import ArtifactStore

FUNDING_WEI = 10**19
"""Devnet ETH per party: enough for hundreds of rounds of its transactions."""

SAMPLES = 100
WEIGHT = 60
ROUND_SECONDS = 3600
"""Each round's deadline from its opening (the build never waits for one)."""


@dataclass(frozen=True)
class ScratchConfig:
    """What to build.

    Attributes:
        rounds: Finalized rounds (model versions 1..rounds).
        analysts: Analysts, each with one dataset and one update per round.
        paillier_bits: Paillier modulus size.
        num_values: Values per update (the model's length).
        seed: Seed of the update values.
    """

    rounds: int = 50
    analysts: int = 10
    paillier_bits: int = 1024
    num_values: int = 40
    seed: int = 0


@dataclass(frozen=True)
class ScratchFederation:
    """What was built.

    Attributes:
        registry: The fresh registry (read through the faucet's account).
        federation_id: The federation.
        deploy_block: The registry's deployment block (the first block worth reading events from).
        rounds: Its rounds, in order; round ``i`` finalized model version ``i``.
        build_seconds: Wall time of the build.
    """

    registry: ModelRegistry
    federation_id: int
    deploy_block: int
    rounds: tuple[int, ...]
    build_seconds: float


def build_scratch_federation(w3: Web3, store: ArtifactStore, faucet: LocalAccount, config: ScratchConfig,
                             progress: Callable[[str], None] = lambda _: None) -> ScratchFederation:
    """Deploy a registry and run ``config.rounds`` rounds of ``config.analysts`` analysts on it.

    Every party is a fresh account funded from ``faucet``; the key holder's custody record and the codec-key
    grants are placeholders (no secret is involved: nobody decrypts a dataset or the model).

    Raises:
        ChainError, StoreError, RoleError: If the devnet refuses or fails a step.
    """
    started = time.perf_counter()
    encoding = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=max(10, config.analysts), max_weight=1024)
    keys = generate_keypair(config.paillier_bits)
    deployer, deployment = ModelRegistry.deploy(w3, faucet)
    parties = [Account.from_key(secrets.token_bytes(32)) for _ in range(config.analysts + 4)]
    fund_accounts(w3, faucet, [p.address for p in parties], FUNDING_WEI)
    admin, owner, aggregator, holder, *analysts = (deployer.as_account(p) for p in parties)
    fid = deployer.create_federation(admin.account, min(2, config.analysts), CodecKeyPolicy.PER_DATA_OWNER).value
    for role, party in [(Role.DATA_OWNER, owner), (Role.AGGREGATOR, aggregator),
                        *((Role.ANALYST, a) for a in analysts)]:
        admin.grant_role(fid, role, party.account)
    admin.start_key_epoch(fid, as_input(store.put_bytes(public_key_to_bytes(keys.public_key))),
                          encoding_digest(encoding))
    custody = as_input(store.put_bytes(f"custody record of {holder.account} (no secret)".encode()))
    admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, custody.cid, custody.sha256)
    datasets: dict[str, int] = {}
    for analyst in analysts:
        # The registry's address makes every artifact's bytes unique to this build.
        sheet = as_input(store.put_bytes(f"cipher sheet of {analyst.account} in {deployer.address}".encode()))
        datasets[analyst.account] = owner.register_dataset(fid, sheet, SAMPLES).value
        owner.grant_key(fid, KeyKind.CODEC_KEY, analyst.account, sheet.cid,
                        hashlib.sha256(f"codec grant {fid} {analyst.account}".encode()).digest())

    def context(party: ModelRegistry) -> FederationContext:
        return FederationContext(party, store, fid, deployment.block)

    key_holder = KeyHolder(context(holder), {1: keys.private_key}, config.num_values)
    rng = np.random.default_rng(config.seed)
    rounds = []
    for version in range(1, config.rounds + 1):
        deadline = int(w3.eth.get_block("latest")["timestamp"]) + ROUND_SECONDS
        round_ = admin.open_round(fid, deadline).value
        for analyst in analysts:
            values = rng.uniform(-0.5, 0.5, config.num_values)
            blob = encrypt_update(keys.public_key, values, WEIGHT, encoding,
                                  UpdateContext(fid, round_, 1, analyst.account), workers=1).to_bytes(keys.public_key)
            analyst.submit_update(fid, round_, as_input(store.put_bytes(blob)), WEIGHT, [datasets[analyst.account]])
        Aggregator(context(aggregator), config.num_values).aggregate_round(round_)
        _, mean = key_holder.decrypt_round(round_, workers=1)
        model = as_input(store.put_bytes(np.asarray(mean, dtype=np.float32).tobytes()))
        accuracy = round(0.5 + 0.45 * version / config.rounds, 4)  # a plausible curve for the chart
        metrics = json.dumps({"accuracy": accuracy, "round": round_, "registry": deployer.address}).encode()
        key_holder.finalize(round_, model, as_input(store.put_bytes(metrics)), DpParameters.none(), version - 1)
        rounds.append(round_)
        progress(f"round {round_} of {config.rounds} finalized ({config.analysts} updates)")
    return ScratchFederation(deployer, fid, deployment.block, tuple(rounds), time.perf_counter() - started)
