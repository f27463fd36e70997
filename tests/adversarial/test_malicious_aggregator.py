"""Attacks of an untrusted aggregator: it must not be able to choose what the key holder decrypts.

Each test mounts one attack on the real devnet, asserts where it is stopped and with which error, and then
that nothing was finalized and nothing was lost: the round's honest updates still aggregate and finalize.
"""

from __future__ import annotations

import hashlib

import pytest

from clients.he import aggregate_update_bytes
from registry.chain import ArtifactInput, DisputeReason, DpParameters, Exclusion, ExclusionReason, RoundStatus, events
from registry.chain import errors as err
from registry.roles import RoundDisputedError


def _closed_round(federation, count: int = 3) -> tuple[int, list[int]]:
    round_, ids = federation.honest_round(count)
    federation.aggregator.close_round(federation.federation_id, round_)
    return round_, ids


def _sha(federation, artifact_id: int) -> bytes:
    return federation.sha(artifact_id)


def _forged_aggregate(federation, tag: bytes) -> ArtifactInput:
    return federation.put(b"forged aggregate " + tag)


def _assert_recovers(federation, round_: int, versions_before: int, updates: list[int]) -> None:
    """Nothing was finalized by the attack, and the honest path still finalizes over every honest update."""
    assert federation.versions() == versions_before
    assert federation.status(round_) == RoundStatus.AGGREGATING
    assert not federation.admin.round(federation.federation_id, round_).aggregate_artifact
    result = federation.aggregator_role().aggregate_round(round_)
    assert sorted(result.included) == sorted(updates) and not result.excluded
    assert federation.finalize(round_) == versions_before + 1


def test_aggregate_over_a_non_update_is_refused(federation) -> None:
    round_, ids = _closed_round(federation)
    dataset = federation.datasets[federation.analysts[0].account]
    victim, dataset_sha = _sha(federation, ids[0]), _sha(federation, dataset)
    with pytest.raises(err.UpdateNotInRoundError) as caught:
        federation.aggregator.post_aggregate(federation.federation_id, round_, _forged_aggregate(federation, b"1"),
                                             sorted([victim, dataset_sha]),
                                             [Exclusion(_sha(federation, ids[1]), ExclusionReason.UNPARSEABLE)])
    assert caught.value.sha256 == dataset_sha and caught.value.artifact_id == 0
    assert "no update of the federation has that hash" in str(caught.value)
    _assert_recovers(federation, round_, 0, ids)


def test_aggregate_over_a_duplicated_update_is_refused(federation) -> None:
    round_, ids = _closed_round(federation)
    victim = _sha(federation, ids[0])
    with pytest.raises(err.UnsortedUpdatesError) as caught:
        federation.aggregator.post_aggregate(federation.federation_id, round_, _forged_aggregate(federation, b"2"),
                                             [victim, victim, _sha(federation, ids[1])])
    assert caught.value.sha256 == victim
    # The same update named as included and as excluded is the same refusal.
    others = sorted([_sha(federation, ids[1]), _sha(federation, ids[2])])
    with pytest.raises(err.UnsortedUpdatesError):
        federation.aggregator.post_aggregate(federation.federation_id, round_, _forged_aggregate(federation, b"3"),
                                             sorted([victim, others[0]]),
                                             [Exclusion(victim, ExclusionReason.UNPARSEABLE)])
    _assert_recovers(federation, round_, 0, ids)


def test_aggregate_over_an_earlier_rounds_update_is_refused(federation) -> None:
    first, first_ids = _closed_round(federation)
    federation.aggregator_role().aggregate_round(first)
    federation.finalize(first)
    round_, ids = _closed_round(federation)
    old = _sha(federation, first_ids[0])
    with pytest.raises(err.UpdateNotInRoundError) as caught:
        federation.aggregator.post_aggregate(federation.federation_id, round_, _forged_aggregate(federation, b"4"),
                                             sorted([old, _sha(federation, ids[0])]),
                                             [Exclusion(_sha(federation, ids[1]), ExclusionReason.UNAVAILABLE)])
    assert (caught.value.artifact_id, caught.value.update_round) == (first_ids[0], first)
    _assert_recovers(federation, round_, 1, ids)


def test_aggregate_over_another_federations_artifact_is_refused(federation, make_federation) -> None:
    other = make_federation()
    foreign_round, foreign_ids = other.honest_round(2)
    round_, ids = _closed_round(federation)
    foreign = _sha(other, foreign_ids[0])
    with pytest.raises(err.UpdateNotInRoundError) as caught:
        federation.aggregator.post_aggregate(
            federation.federation_id, round_, _forged_aggregate(federation, b"5"),
            sorted([foreign, _sha(federation, ids[0]), _sha(federation, ids[1])]), [])
    assert caught.value.federation_id == federation.federation_id
    assert caught.value.sha256 == foreign and caught.value.artifact_id == 0
    _assert_recovers(federation, round_, 0, ids)
    assert other.status(foreign_round) == RoundStatus.OPEN  # the other federation is untouched


def test_decrypting_one_analysts_update_alone_is_refused(federation) -> None:
    round_, ids = _closed_round(federation)
    ordered = sorted(ids, key=lambda i: _sha(federation, i))
    victim, rest = ordered[0], ordered[1:]
    lone = federation.put(aggregate_update_bytes([federation.blob(victim)], federation.keys.public_key))
    with pytest.raises(err.TooFewUpdatesError) as caught:
        federation.aggregator.post_aggregate(federation.federation_id, round_, lone, [_sha(federation, victim)],
                                             [Exclusion(_sha(federation, i), ExclusionReason.UNPARSEABLE)
                                              for i in rest])
    assert (caught.value.update_count, caught.value.min_participants) == (1, 2)
    _assert_recovers(federation, round_, 0, ids)


def test_incomplete_aggregate_is_refused(federation) -> None:
    round_, ids = _closed_round(federation)
    with pytest.raises(err.AggregateUpdateMismatchError) as caught:
        federation.aggregator.post_aggregate(federation.federation_id, round_, _forged_aggregate(federation, b"6"),
                                             sorted(_sha(federation, i) for i in ids[:2]))
    assert (caught.value.given, caught.value.update_count) == (2, 3)
    _assert_recovers(federation, round_, 0, ids)


def test_excluding_a_valid_update_makes_the_key_holder_dispute(federation) -> None:
    round_, ids = _closed_round(federation)
    ordered = sorted(ids, key=lambda i: _sha(federation, i))
    kept, victim = ordered[:2], ordered[2]
    partial = federation.put(aggregate_update_bytes([federation.blob(i) for i in kept], federation.keys.public_key))
    federation.aggregator.post_aggregate(federation.federation_id, round_, partial,
                                         [_sha(federation, i) for i in kept],
                                         [Exclusion(_sha(federation, victim), ExclusionReason.UNPARSEABLE)])
    with pytest.raises(RoundDisputedError, match="valid_update_excluded") as caught:
        federation.finalize(round_)
    dispute = caught.value.dispute
    assert (dispute.subject_artifact_id, dispute.reason) == (victim, DisputeReason.VALID_UPDATE_EXCLUDED)
    on_chain = federation.admin.events(events.AggregateDisputed, federation.deploy_block,
                                       federation_id=federation.federation_id, round=round_)
    assert [(d.subject_artifact_id, d.key_holder) for d in on_chain] == [(victim, federation.key_holder.account)]
    with pytest.raises(err.AggregateDisputedError):  # no other path to a model version either
        federation.key_holder.finalize_round(federation.federation_id, round_, partial, partial, DpParameters.none())
    federation.admin.abort_round(federation.federation_id, round_, f"aggregate disputed: update #{victim} excluded")
    assert federation.status(round_) == RoundStatus.ABORTED and federation.versions() == 0
    # Nothing lost: every update is still on IPFS, byte for byte what the chain registered.
    for artifact_id in ids:
        assert hashlib.sha256(federation.blob(artifact_id)).digest() == federation.sha(artifact_id)


def test_a_wrong_sum_makes_the_key_holder_dispute(federation) -> None:
    round_, ids = _closed_round(federation)
    shas = sorted(_sha(federation, i) for i in ids)
    wrong_bytes = aggregate_update_bytes([federation.blob(i) for i in ids[:2]], federation.keys.public_key)
    wrong = federation.store.put_bytes(wrong_bytes)
    federation.aggregator.post_aggregate(federation.federation_id, round_, federation.put(wrong_bytes), shas)
    with pytest.raises(RoundDisputedError, match="aggregate_mismatch") as caught:
        federation.finalize(round_)
    assert caught.value.dispute.reason == DisputeReason.AGGREGATE_MISMATCH
    assert caught.value.dispute.subject_artifact_id == federation.admin.round(
        federation.federation_id, round_).aggregate_artifact
    assert federation.versions() == 0 and federation.status(round_) == RoundStatus.AGGREGATING
    assert hashlib.sha256(federation.store.get_bytes(wrong.cid)).hexdigest() == wrong.sha256


def test_a_long_non_ascii_dispute_detail_still_reaches_the_chain(federation) -> None:
    from registry.chain import MAX_REASON_BYTES
    from registry.roles.key_holder import fit_reason

    assert federation.admin.contract.functions.MAX_REASON_LENGTH().call() == MAX_REASON_BYTES
    round_, ids = _closed_round(federation)
    wrong = federation.put(aggregate_update_bytes([federation.blob(ids[0])], federation.keys.public_key))
    federation.aggregator.post_aggregate(federation.federation_id, round_, wrong, sorted(_sha(federation, i) for i in ids))
    detail = "fingerprint 0123456789abcdef… differs; " * 40  # ~1.7 kB of UTF-8, "…" is 3 bytes
    posted = federation.admin.round(federation.federation_id, round_).aggregate_sha256
    with pytest.raises(err.ReasonTooLongError):
        federation.key_holder.dispute_aggregate(federation.federation_id, round_, posted,
                                                DisputeReason.AGGREGATE_MISMATCH, detail)
    fitted = fit_reason(detail)
    assert len(fitted.encode()) <= MAX_REASON_BYTES and detail.startswith(fitted[:-3])
    dispute = federation.key_holder.dispute_aggregate(federation.federation_id, round_, posted,
                                                      DisputeReason.AGGREGATE_MISMATCH, fitted).value
    assert dispute.detail == fitted and federation.admin.round(federation.federation_id, round_).disputed
