"""Gas used per registry action, measured from real receipts on the configured chain."""

from __future__ import annotations

import hashlib

from web3 import Web3

from registry.chain.compiler import CompiledContract
from registry.chain.registry import ModelRegistry
from registry.chain.types import (
    ArtifactInput,
    CodecKeyPolicy,
    DpParameters,
    Exclusion,
    ExclusionReason,
    KeyKind,
    Role,
)
from registry.devnet import dev_account

# Budgets: a grant <= 80k gas. A model update <= 100k: it is filed twice (per analyst and round, and by content
# hash per federation, which refuses copies and replays). Finalizing <= 200k: the model and metrics artifacts
# each also file their federation (one slot each), so that later artifacts can name them as parents only there.
GAS_BUDGETS = {"submit_update": 100_000, "grant_key": 80_000, "grant_role": 80_000, "finalize_round": 200_000}
_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"  # real CIDv0 length, so calldata is realistic


def _artifact(tag: str) -> ArtifactInput:
    return ArtifactInput(_CID, hashlib.sha256(tag.encode()).digest(), 5_000_000)


def measure_gas(w3: Web3, compiled: CompiledContract | None = None) -> dict[str, int]:
    """Deploy a fresh registry, run two full rounds (the second with lineage) and return gas per action.

    Uses dev accounts 0-7 of the development mnemonic, so it needs a devnet-like chain that funds them.
    Figures of the second round are reported (the first one pays one-off zero-to-nonzero writes).
    """
    registry, deployment = ModelRegistry.deploy(w3, dev_account(0), compiled=compiled)
    gas: dict[str, int] = {"deploy": deployment.gas_used}
    admin, owner, a1, a2, agg, holder = (registry.as_account(dev_account(i)) for i in range(1, 7))

    def used(party: ModelRegistry) -> int:
        assert party.last_receipt is not None
        return int(party.last_receipt["gasUsed"])

    fed = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER)
    gas["create_federation"] = used(registry)
    admin.grant_role(fed, Role.DATA_OWNER, owner.account)
    gas["grant_role"] = used(admin)
    for party in (a1, a2):
        admin.grant_role(fed, Role.ANALYST, party.account)
    admin.grant_role(fed, Role.AGGREGATOR, agg.account)
    admin.start_key_epoch(fed, _artifact("pk"), hashlib.sha256(b"encoding").digest())
    gas["start_key_epoch"] = used(admin)
    admin.grant_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, _CID, hashlib.sha256(b"sk").digest())
    dataset = owner.register_dataset(fed, _artifact("dataset"), 1000)
    gas["register_dataset"] = used(owner)
    owner.grant_key(fed, KeyKind.CODEC_KEY, a1.account, _CID, hashlib.sha256(b"codec").digest())
    gas["grant_key"] = used(owner)
    owner.grant_key(fed, KeyKind.CODEC_KEY, a2.account, _CID, hashlib.sha256(b"codec").digest())
    a3 = registry.as_account(dev_account(7))
    admin.grant_role(fed, Role.ANALYST, a3.account)
    owner.grant_key(fed, KeyKind.CODEC_KEY, a3.account, _CID, hashlib.sha256(b"codec").digest())
    owner.grant_key(fed, KeyKind.CODEC_KEY, registry.account, _CID, hashlib.sha256(b"codec").digest())
    owner.revoke_key(fed, KeyKind.CODEC_KEY, registry.account, key_owner=owner.account)
    gas["revoke_key"] = used(owner)

    version = 0
    for r in range(2):
        deadline = w3.eth.get_block("latest")["timestamp"] + 3600
        round_ = admin.open_round(fed, deadline)
        gas["open_round"] = used(admin)
        parents = [dataset]  # an update names the datasets it trained on; the model lineage is the round's
        updates = [_artifact(f"u{i}-{r}") for i in range(3)]
        for party, update in zip((a1, a2, a3), updates):
            party.submit_update(fed, round_, update, 500, parents)
            gas["submit_update"] = max(gas.get("submit_update", 0), used(party))
        agg.close_round(fed, round_)
        gas["close_round"] = used(agg)
        hashes = sorted(u.sha256 for u in updates)
        if r == 0:
            agg.post_aggregate(fed, round_, _artifact(f"agg-{r}"), hashes)
            gas["post_aggregate_3"] = used(agg)
        else:
            agg.post_aggregate(fed, round_, _artifact(f"agg-{r}"), hashes[:2],
                               [Exclusion(hashes[2], ExclusionReason.UNPARSEABLE)])
            gas["post_aggregate_2_excluding_1"] = used(agg)
        dp = DpParameters.from_floats(3.0, 1e-5, 1.1, 1.0, "rdp")
        version = holder.finalize_round(
            fed, round_, _artifact(f"model-{r}"), _artifact(f"metrics-{r}"), dp, parent_version=version
        )
        gas["finalize_round"] = used(holder)
    return gas
