"""Attacks of a malicious analyst (and of an aggregator that includes what it should have excluded).

Each test mounts one attack on the real devnet, asserts where it is stopped and with which error, and that
nothing was finalized from it and nothing honest was lost.
"""

from __future__ import annotations

import numpy as np
import pytest

from clients.he import (
    DuplicateUpdateError,
    EncodingParams,
    EncryptedUpdate,
    SlotLayout,
    UpdateContext,
    aggregate_update_bytes,
    encrypt_plaintexts,
    generate_keypair,
    key_fingerprint,
    pack,
)
from registry.chain import DisputeReason, ExclusionReason, KeyKind, Role, RoundStatus, events
from registry.chain import errors as err
from registry.roles import DEFAULT_MAX_UPDATE_BYTES, RoundDisputedError

NUM_VALUES = 40


def _exclusions(federation, round_: int) -> list[tuple[int, ExclusionReason]]:
    found = federation.admin.events(events.UpdateExcluded, federation.deploy_block,
                                    federation_id=federation.federation_id, round=round_)
    return [(e.update_artifact_id, e.reason) for e in found]


def _excluded_then_finalized(federation, round_: int, bad: int, reason: ExclusionReason,
                             honest: list[int]) -> None:
    """The aggregator names ``bad`` with ``reason``; the key holder accepts the exclusion and finalizes."""
    result = federation.aggregator_role().aggregate_round(round_)
    assert [(e.artifact_id, e.reason) for e in result.excluded] == [(bad, reason)]
    assert sorted(result.included) == sorted(honest)
    assert _exclusions(federation, round_) == [(bad, reason)]
    version = federation.finalize(round_)
    assert federation.status(round_) == RoundStatus.FINALIZED and version == federation.versions()
    aggregate = federation.admin.artifact(federation.admin.round(federation.federation_id, round_).aggregate_artifact)
    assert sorted(aggregate.parents) == sorted(honest)


def _two_honest_and(federation, attacker_blob_for) -> tuple[int, list[int], int]:
    """Open a round, two honest updates, then the third analyst's update built by ``attacker_blob_for(round)``."""
    round_ = federation.open_round()
    honest = [federation.submit(a, round_, federation.encrypt(a, round_, seed=i))
              for i, a in enumerate(federation.analysts[:2])]
    bad = federation.submit(federation.analysts[2], round_, attacker_blob_for(round_))
    return round_, honest, bad


def test_copied_update_is_refused(federation) -> None:
    round_ = federation.open_round()
    victim, thief = federation.analysts[0], federation.analysts[1]
    blob = federation.encrypt(victim, round_, seed=1)
    original = federation.submit(victim, round_, blob)
    with pytest.raises(err.DuplicateUpdateContentError) as caught:
        federation.submit(thief, round_, blob)
    assert caught.value.artifact_id == original and "copied or replayed" in str(caught.value)
    assert federation.admin.update_digest(federation.federation_id, round_, thief.account) == bytes(32)
    honest = federation.submit(federation.analysts[2], round_, federation.encrypt(federation.analysts[2], round_, 3))
    result = federation.aggregator_role().aggregate_round(round_)
    assert sorted(result.included) == sorted([original, honest])
    assert federation.finalize(round_) == 1


def test_replayed_update_is_refused(federation) -> None:
    first, ids = federation.honest_round(3)
    federation.aggregator_role().aggregate_round(first)
    federation.finalize(first)
    second = federation.open_round()
    old = federation.blob(ids[0])
    with pytest.raises(err.DuplicateUpdateContentError) as caught:
        federation.submit(federation.analysts[0], second, old)
    assert caught.value.artifact_id == ids[0]
    assert federation.admin.round(federation.federation_id, second).update_count == 0
    assert federation.versions() == 1


@pytest.mark.parametrize("field", ["round", "federation", "analyst"])
def test_header_naming_another_context_is_excluded(federation, field: str) -> None:
    attacker, impersonated = federation.analysts[2], federation.analysts[0]

    def forged(round_: int) -> bytes:
        context = UpdateContext(
            federation.federation_id + (field == "federation"), round_ + (field == "round"), federation.epoch,
            (impersonated if field == "analyst" else attacker).account)
        return federation.encrypt(attacker, round_, seed=7, context=context)

    round_, honest, bad = _two_honest_and(federation, forged)
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.WRONG_CONTEXT, honest)


def test_wrong_layout_is_excluded(federation) -> None:
    other = EncodingParams(clip_bound=1.0, value_bits=12, max_clients=10, max_weight=1024)
    round_, honest, bad = _two_honest_and(
        federation, lambda r: federation.encrypt(federation.analysts[2], r, seed=8, params=other))
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.WRONG_LAYOUT, honest)


def test_update_under_another_key_is_excluded(federation) -> None:
    stranger_key = generate_keypair(1024).public_key
    round_, honest, bad = _two_honest_and(
        federation, lambda r: federation.encrypt(federation.analysts[2], r, seed=9, public_key=stranger_key))
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.WRONG_KEY, honest)


def test_garbage_update_is_excluded(federation) -> None:
    round_, honest, bad = _two_honest_and(federation, lambda r: b"FLHE" + bytes(300))
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.UNPARSEABLE, honest)


def test_header_weight_other_than_registered_is_excluded(federation) -> None:
    round_ = federation.open_round()
    honest = [federation.submit(a, round_, federation.encrypt(a, round_, seed=i))
              for i, a in enumerate(federation.analysts[:2])]
    attacker = federation.analysts[2]
    # Registers weight 10 on chain but weights its slots by 100: its values would count ten times over.
    bad = federation.submit(attacker, round_, federation.encrypt(attacker, round_, seed=5, weight=100), weight=10)
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.WEIGHT_MISMATCH, honest)


def test_weight_above_granted_samples_is_refused(federation) -> None:
    round_ = federation.open_round()
    attacker = federation.analysts[0]
    with pytest.raises(err.InvalidWeightError) as caught:
        federation.submit(attacker, round_, federation.encrypt(attacker, round_, seed=1, weight=101), weight=101)
    assert (caught.value.weight, caught.value.granted_samples) == (101, 100)
    assert federation.admin.round(federation.federation_id, round_).update_count == 0


def test_dataset_without_a_codec_grant_is_refused(federation) -> None:
    # Another data owner's dataset: the attacker holds the first owner's codec key only.
    other_owner = federation.stranger
    federation.admin.grant_role(federation.federation_id, Role.DATA_OWNER, other_owner.account)
    foreign = other_owner.register_dataset(federation.federation_id, federation.put(b"other owner's sheet"), 5000).value
    round_ = federation.open_round()
    attacker = federation.analysts[0]
    stored = federation.put(federation.encrypt(attacker, round_, seed=1))
    with pytest.raises(err.DatasetNotGrantedError) as caught:
        attacker.submit_update(federation.federation_id, round_, stored, 50,
                               [federation.datasets[attacker.account], foreign])
    assert (caught.value.dataset_id, caught.value.analyst) == (foreign, attacker.account)
    # A revoked codec grant no longer counts either.
    federation.owner.revoke_key(federation.federation_id, KeyKind.CODEC_KEY, attacker.account,
                                key_owner=federation.owner.account)
    with pytest.raises(err.DatasetNotGrantedError):
        attacker.submit_update(federation.federation_id, round_, stored, 50, [federation.datasets[attacker.account]])
    assert federation.admin.round(federation.federation_id, round_).update_count == 0


def test_over_size_registration_is_excluded_without_fetching(federation) -> None:
    round_ = federation.open_round()
    honest = [federation.submit(a, round_, federation.encrypt(a, round_, seed=i))
              for i, a in enumerate(federation.analysts[:2])]
    attacker = federation.analysts[2]
    bad = federation.submit(attacker, round_, federation.encrypt(attacker, round_, seed=4),
                            size=DEFAULT_MAX_UPDATE_BYTES + 1)
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.OVER_SIZE, honest)


def test_artifact_larger_than_registered_is_cut_off_and_excluded(federation) -> None:
    round_ = federation.open_round()
    honest = [federation.submit(a, round_, federation.encrypt(a, round_, seed=i))
              for i, a in enumerate(federation.analysts[:2])]
    attacker = federation.analysts[2]
    blob = federation.encrypt(attacker, round_, seed=6) + bytes(3_000_000)  # 3 MB more than it registers
    bad = federation.submit(attacker, round_, blob, size=1000)
    _excluded_then_finalized(federation, round_, bad, ExclusionReason.CONTENT_MISMATCH, honest)


def test_overflowing_slot_is_refused_at_decryption(federation) -> None:
    attacker = federation.analysts[2]

    def overflowing(round_: int) -> bytes:
        # In range for the slot width (so no carry into a neighbour, and the aggregator cannot tell), but far
        # above what weight x max_level allows: a forged encoder, not encrypt_update.
        key = federation.keys.public_key
        layout = SlotLayout.for_key_bits(
            EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024), key.n.bit_length())
        slots = np.full(NUM_VALUES, 60 * 65535, dtype=np.uint64)
        slots[0] = (1 << layout.slot_bits) - 1 - 2 * 60 * 65535
        ciphertexts = encrypt_plaintexts(key, pack(slots, layout), workers=1)
        context = UpdateContext(federation.federation_id, round_, federation.epoch, attacker.account)
        return EncryptedUpdate(key_fingerprint(key), layout, NUM_VALUES, context, 60, tuple(ciphertexts)).to_bytes(key)

    round_, honest, bad = _two_honest_and(federation, overflowing)
    result = federation.aggregator_role().aggregate_round(round_)
    assert bad in result.included  # nothing in its header or ciphertexts shows the overflow
    with pytest.raises(RoundDisputedError, match="decryption_refused") as caught:
        federation.finalize(round_)
    assert caught.value.dispute.reason == DisputeReason.DECRYPTION_REFUSED
    assert "slot 0" in caught.value.dispute.detail
    assert federation.versions() == 0 and federation.status(round_) == RoundStatus.AGGREGATING


def test_invalid_update_included_by_the_aggregator_is_disputed(federation) -> None:
    attacker, impersonated = federation.analysts[2], federation.analysts[0]

    def forged(round_: int) -> bytes:
        context = UpdateContext(federation.federation_id, round_, federation.epoch, impersonated.account)
        return federation.encrypt(attacker, round_, seed=11, context=context)

    round_, honest, bad = _two_honest_and(federation, forged)
    # The library refuses to sum two updates naming the same submitter, so a colluding aggregator posts bytes
    # of its own and includes the forged update.
    with pytest.raises(DuplicateUpdateError):
        aggregate_update_bytes([federation.blob(i) for i in honest + [bad]], federation.keys.public_key)
    federation.aggregator.close_round(federation.federation_id, round_)
    fake = federation.put(b"aggregate the aggregator claims")
    federation.aggregator.post_aggregate(federation.federation_id, round_, fake,
                                         sorted(federation.sha(i) for i in honest + [bad]))
    with pytest.raises(RoundDisputedError, match="invalid_update_included") as caught:
        federation.finalize(round_)
    assert (caught.value.dispute.subject_artifact_id, caught.value.dispute.reason) == (
        bad, DisputeReason.INVALID_UPDATE_INCLUDED)
    assert federation.versions() == 0
