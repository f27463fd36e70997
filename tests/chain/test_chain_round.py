"""Integration: every role's happy path on the real Anvil, and the events read back match what was sent."""

from __future__ import annotations

import hashlib

import pytest

from registry.chain import (
    ArtifactKind,
    DpParameters,
    KeyKind,
    ModelRegistry,
    Role,
    RoundStatus,
    events,
)

GAS_BUDGET = {"submit_update": 100_000, "grant": 80_000, "finalize": 206_000}  # as registry.chain.gas


def included(*contents: bytes) -> list[bytes]:
    """The sha256 of each update content, in the ascending order ``post_aggregate`` needs."""
    return sorted(hashlib.sha256(c).digest() for c in contents)


def _deadline(registry: ModelRegistry, seconds: int = 3600) -> int:
    return registry.w3.eth.get_block("latest")["timestamp"] + seconds


def test_full_round_records_lineage_and_events(parties, artifact) -> None:
    fed = parties.federation_id
    start = parties.admin.w3.eth.block_number + 1  # after the fixture's transactions

    dataset = parties.owner.register_dataset(fed, artifact(b"more cipher images"), 300).value
    assert parties.owner.grant_key(fed, KeyKind.CODEC_KEY, parties.analyst.account, "QmCodecWrap", b"\x11" * 32).value
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    u1 = parties.analyst.submit_update(fed, round_, artifact(b"update 1"), 1200, [parties.dataset, dataset]).value
    u2 = parties.analyst2.submit_update(fed, round_, artifact(b"update 2"), 700, [parties.dataset]).value
    assert parties.aggregator.close_round(fed, round_).value == 2
    agg = parties.aggregator.post_aggregate(fed, round_, artifact(b"aggregate"), included(b"update 1", b"update 2")).value
    dp = DpParameters.from_floats(epsilon=3.0, delta=1e-5, noise_multiplier=1.1, clip_norm=1.0, accountant="rdp")
    v1 = parties.key_holder.finalize_round(fed, round_, artifact(b"model v1"), artifact(b"metrics v1"), dp).value

    stored = parties.admin.round(fed, round_)
    assert stored.status == RoundStatus.FINALIZED
    assert stored.aggregate_artifact == agg
    assert stored.aggregate_sha256 == hashlib.sha256(b"aggregate").digest()
    assert stored.model_version == v1 == 1
    assert (stored.included_count, stored.weights_total, stored.key_epoch) == (2, 1900, 1)
    record = parties.admin.update_record(fed, hashlib.sha256(b"update 1").digest())
    assert (record.artifact_id, record.round, record.weight) == (u1, round_, 1200)
    assert parties.admin.update_record(fed, hashlib.sha256(b"never submitted").digest()).artifact_id == 0
    assert parties.admin.artifact(agg).parents == tuple(
        {hashlib.sha256(b"update 1").digest(): u1, hashlib.sha256(b"update 2").digest(): u2}[h]
        for h in included(b"update 1", b"update 2"))
    version = parties.admin.model_version(fed, v1)
    assert (version.round, version.parent_version) == (round_, 0)

    # Second round trains from v1: lineage v2 -> v1.
    round2 = parties.admin.open_round(fed, _deadline(parties.admin)).value
    w1 = parties.analyst.submit_update(fed, round2, artifact(b"update 3"), 10,
                                       [parties.dataset, version.global_model_artifact]).value
    parties.analyst2.submit_update(fed, round2, artifact(b"update 4"), 10,
                                   [parties.dataset, version.global_model_artifact])
    parties.aggregator.close_round(fed, round2)
    parties.aggregator.post_aggregate(fed, round2, artifact(b"aggregate 2"), included(b"update 3", b"update 4"))
    v2 = parties.key_holder.finalize_round(
        fed, round2, artifact(b"model v2"), artifact(b"metrics v2"), DpParameters.none(), parent_version=v1
    ).value
    assert parties.admin.model_version(fed, v2).parent_version == v1

    # Events read back match what was sent, and every artifact matches its on-chain digest.
    updates = [a for a in parties.admin.artifacts(federation_id=fed, round_=round_, from_block=start)
               if a.kind == ArtifactKind.MODEL_UPDATE]
    assert [(u.artifact_id, u.submitter, u.sha256, u.size, u.parents) for u in updates] == [
        (u1, parties.analyst.account, hashlib.sha256(b"update 1").digest(), len(b"update 1"),
         (parties.dataset, dataset)),
        (u2, parties.analyst2.account, hashlib.sha256(b"update 2").digest(), len(b"update 2"), (parties.dataset,)),
    ]
    everything = parties.admin.artifacts(federation_id=fed, from_block=start)
    assert len(everything) == 1 + 2 + 1 + 2 + 2 + 1 + 2  # dataset, round 1, round 2
    assert all(parties.admin.verify_artifact(a) for a in everything)
    model2 = parties.admin.artifact(parties.admin.model_version(fed, v2).global_model_artifact)
    assert model2.kind == ArtifactKind.GLOBAL_MODEL
    assert set(model2.parents) == {parties.admin.round(fed, round2).aggregate_artifact, version.global_model_artifact}

    finalized = parties.admin.events(events.RoundFinalized, from_block=start, federation_id=fed)
    assert [(f.round, f.version, f.key_holder) for f in finalized] == [
        (round_, 1, parties.key_holder.account), (round2, 2, parties.key_holder.account)]
    assert finalized[0].dp == dp and finalized[0].dp.epsilon == 3.0
    assert not finalized[1].dp.enabled
    submitted = parties.admin.events(events.UpdateSubmitted, from_block=start, federation_id=fed)
    assert [(s.round, s.artifact_id, s.weight) for s in submitted if s.analyst == parties.analyst.account] == [
        (round_, u1, 1200), (round2, w1, 10)]
    grants = parties.admin.events(events.KeyGranted, from_block=start, federation_id=fed)
    assert [(g.kind, g.account, g.key_owner, g.wrapped_key_cid) for g in grants] == [
        (KeyKind.CODEC_KEY, parties.analyst.account, parties.owner.account, "QmCodecWrap")]


def test_gas_within_budgets(parties, artifact) -> None:
    fed = parties.federation_id
    granted = parties.admin.grant_role(fed, Role.ANALYST, parties.stranger.account)
    assert granted.value and 0 < granted.gas_used <= GAS_BUDGET["grant"]
    codec = parties.owner.grant_key(fed, KeyKind.CODEC_KEY, parties.analyst.account,
                                    "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
                                    hashlib.sha256(b"wrapped codec key").digest())
    assert codec.gas_used <= GAS_BUDGET["grant"]
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    for analyst, content in ((parties.analyst, b"u1"), (parties.analyst2, b"u2")):
        submitted = analyst.submit_update(fed, round_, artifact(content), 100, [parties.dataset])
        assert submitted.gas_used <= GAS_BUDGET["submit_update"]
        receipt = parties.admin.w3.eth.get_transaction_receipt(submitted.transaction_hash)
        assert (receipt["blockNumber"], receipt["gasUsed"]) == (submitted.block_number, submitted.gas_used)
    parties.aggregator.close_round(fed, round_)
    parties.aggregator.post_aggregate(fed, round_, artifact(b"agg"), included(b"u1", b"u2"))
    dp = DpParameters.from_floats(8.0, 1e-5, 0.9, 1.0, "rdp")
    finalized = parties.key_holder.finalize_round(fed, round_, artifact(b"model"), artifact(b"metrics"), dp)
    assert finalized.value == 1 and finalized.gas_used <= GAS_BUDGET["finalize"]


def test_idempotent_grants_emit_only_on_change(parties) -> None:
    fed = parties.federation_id
    assert not parties.admin.grant_role(fed, Role.ANALYST, parties.analyst.account).value
    assert not parties.admin.revoke_role(fed, Role.AGGREGATOR, parties.stranger.account).value
    sha = hashlib.sha256(b"paillier private key wrapped for the key holder").digest()
    assert not parties.admin.grant_key(
        fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account,
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", sha).value
    assert parties.admin.revoke_role(fed, Role.ANALYST, parties.analyst2.account).value
    assert not parties.admin.has_role(fed, Role.ANALYST, parties.analyst2.account)
    assert parties.admin.revoke_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account).value
    assert not parties.admin.revoke_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account).value
    grant = parties.admin.key_grant(fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account)
    assert grant.revoked_at >= grant.granted_at > 0 and not grant.active
    assert not parties.admin.is_key_holder(fed, parties.key_holder.account)


def test_abort_round(parties) -> None:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    parties.admin.abort_round(fed, round_, "too few analysts online")
    assert parties.admin.round(fed, round_).status == RoundStatus.ABORTED
    aborted = parties.admin.events(events.RoundAborted, federation_id=fed, round=round_)
    assert [a.reason for a in aborted] == ["too few analysts online"]


def test_measured_gas_meets_the_budgets(devnet, compiled_registry) -> None:
    from registry.chain import connect
    from registry.chain.gas import GAS_BUDGETS, measure_gas

    gas = measure_gas(connect(devnet.rpc_url, devnet.chain_id), compiled_registry)
    for action, budget in GAS_BUDGETS.items():
        assert gas[action] <= budget, f"{action} used {gas[action]} gas, budget {budget}"


def test_encryption_key_and_model_key_grant(parties) -> None:
    from registry.chain import HpkeSuite
    from registry.chain import errors as err

    fed = parties.federation_id
    key = hashlib.sha256(parties.analyst.account.encode()).digest()  # 32 bytes, the shape of an X25519 key
    event = parties.analyst.register_encryption_key(HpkeSuite.DHKEM_X25519, key).value
    assert (event.account, event.suite, event.public_key) == (parties.analyst.account, HpkeSuite.DHKEM_X25519, key)
    stored = parties.admin.encryption_key(parties.analyst.account)
    assert stored.public_key_sha256 == hashlib.sha256(key).digest() == event.public_key_sha256
    with pytest.raises(err.InvalidEncryptionKeyError) as caught:
        parties.analyst2.register_encryption_key(HpkeSuite.MLKEM768_X25519, key)
    assert (caught.value.length, caught.value.expected_length) == (32, 1216)
    assert parties.admin.encryption_key(parties.analyst2.account).registered_at == 0
    assert parties.key_holder.grant_key(fed, KeyKind.MODEL_KEY, parties.analyst.account, "QmModelKey", b"\x07" * 32).value
    assert parties.admin.key_grant(fed, KeyKind.MODEL_KEY, parties.analyst.account).key_epoch == 1
    with pytest.raises(err.KeyNotGrantedError):
        parties.admin.grant_key(fed, KeyKind.MODEL_KEY, parties.analyst2.account, "QmModelKey", b"\x07" * 32)
