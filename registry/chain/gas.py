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
# hash per federation, which refuses copies and replays). Finalizing <= 206k: the model and metrics artifacts
# each also file their federation (one slot each), so that later artifacts can name them as parents only there,
# and it asks the threshold-custody books (a cold call to another contract, ~6k) whether the round may finalize.
GAS_BUDGETS = {"submit_update": 100_000, "grant_key": 80_000, "grant_role": 80_000, "finalize_round": 206_000}
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
    admin, owner, a1, a2, agg, holder, a3 = (registry.as_account(dev_account(i)) for i in range(1, 8))

    created = registry.create_federation(admin.account, 2, CodecKeyPolicy.PER_DATA_OWNER)
    fed, gas["create_federation"] = created.value, created.gas_used
    gas["grant_role"] = admin.grant_role(fed, Role.DATA_OWNER, owner.account).gas_used
    for party in (a1, a2, a3):
        admin.grant_role(fed, Role.ANALYST, party.account)
    admin.grant_role(fed, Role.AGGREGATOR, agg.account)
    gas["start_key_epoch"] = admin.start_key_epoch(fed, _artifact("pk"), hashlib.sha256(b"encoding").digest()).gas_used
    admin.grant_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, _CID, hashlib.sha256(b"sk").digest())
    registered = owner.register_dataset(fed, _artifact("dataset"), 1000)
    dataset, gas["register_dataset"] = registered.value, registered.gas_used
    grants = [owner.grant_key(fed, KeyKind.CODEC_KEY, party.account, _CID, hashlib.sha256(b"codec").digest())
              for party in (a1, a2, a3, registry)]
    gas["grant_key"] = grants[0].gas_used
    gas["revoke_key"] = owner.revoke_key(fed, KeyKind.CODEC_KEY, registry.account, key_owner=owner.account).gas_used

    version = 0
    for r in range(2):
        deadline = w3.eth.get_block("latest")["timestamp"] + 3600
        opened = admin.open_round(fed, deadline)
        round_, gas["open_round"] = opened.value, opened.gas_used
        updates = [_artifact(f"u{i}-{r}") for i in range(3)]
        # An update names the datasets it trained on; the model lineage is the round's.
        submitted = [party.submit_update(fed, round_, update, 500, [dataset])
                     for party, update in zip((a1, a2, a3), updates)]
        gas["submit_update"] = max([gas.get("submit_update", 0)] + [t.gas_used for t in submitted])
        gas["close_round"] = agg.close_round(fed, round_).gas_used
        hashes = sorted(u.sha256 for u in updates)
        if r == 0:
            gas["post_aggregate_3"] = agg.post_aggregate(fed, round_, _artifact(f"agg-{r}"), hashes).gas_used
        else:
            gas["post_aggregate_2_excluding_1"] = agg.post_aggregate(
                fed, round_, _artifact(f"agg-{r}"), hashes[:2], [Exclusion(hashes[2], ExclusionReason.UNPARSEABLE)]
            ).gas_used
        dp = DpParameters.from_floats(3.0, 1e-5, 1.1, 1.0, "rdp")
        finalized = holder.finalize_round(
            fed, round_, _artifact(f"model-{r}"), _artifact(f"metrics-{r}"), dp, parent_version=version
        )
        version, gas["finalize_round"] = finalized.value, finalized.gas_used
    return gas
