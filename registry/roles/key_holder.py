"""The key holder role (trusted AI cloud): re-derives a round's input set from the chain, re-checks every
inclusion, exclusion and weight, recomputes the aggregate, and only then decrypts.

It never decrypts what the aggregator chose: the inputs come from the round's ``UpdateSubmitted`` records,
each update is re-assessed with the same checks the aggregator must have run
(:mod:`registry.roles.review`), and the aggregate is recomputed from the included updates' bytes. When the
aggregator left out a valid update, included an invalid one or posted bytes that are not the sum, the key
holder records a dispute on chain naming the update (or the aggregate) and decrypts nothing; the admin can
then abort the round. It refuses an aggregate of fewer than ``minParticipants`` distinct analysts, and a
decryption whose slot sums exceed ``weights_total * max_level`` (an encoder overflowed its slots).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from phe import paillier

from clients.he import (
    ContextMismatchError,
    EncryptedAggregate,
    RoundContext,
    SlotSumOutOfRangeError,
    aggregate_update_bytes,
    check_aggregate_context,
    decrypt_aggregate,
    key_fingerprint,
)
from registry.chain import MAX_REASON_BYTES, ArtifactInput, DisputeReason, DpParameters, RoundStatus, Tx, events
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext
from registry.roles.errors import ChainMismatchError, RoleError, RoundDisputedError, RoundNotReadyError
from registry.roles.review import UpdateAssessment, assess_round


def fit_reason(text: str) -> str:
    """``text`` cut to at most :data:`MAX_REASON_BYTES` bytes of UTF-8, on a character boundary (a detail with
    non-ASCII characters would otherwise exceed the chain's byte limit and the dispute would revert)."""
    encoded = text.encode()
    if len(encoded) <= MAX_REASON_BYTES:
        return text
    return encoded[:MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


@dataclass(frozen=True)
class RoundReview:
    """A round's aggregate after the key holder re-checked it (nothing decrypted yet).

    Attributes:
        round: The round.
        key_epoch: The round's key epoch.
        aggregate_id: The posted aggregate's artifact id.
        aggregate: The aggregate, parsed from the bytes the key holder recomputed itself.
        included: Artifact ids of the included updates.
        excluded: Artifact ids of the excluded updates (each exclusion re-checked).
        analysts: The distinct analysts whose updates are included.
    """

    round: int
    key_epoch: int
    aggregate_id: int
    aggregate: EncryptedAggregate
    included: tuple[int, ...]
    excluded: tuple[int, ...]
    analysts: tuple[str, ...]


class RoundReviewer:
    """Re-checks posted aggregates against the chain before anything is decrypted, and disputes what is wrong:
    what a key holder and every custodian run first.

    Args:
        context: The federation, seen through the reviewer's account (a key holder of the round's epoch, since
            a dispute is recorded on chain).
        expected_num_values: Length of the federation's model.
        max_update_bytes: Largest update fetched (as the aggregator's limit).
    """

    def __init__(self, context: FederationContext, expected_num_values: int,
                 max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES) -> None:
        self.context = context
        self.expected_num_values = expected_num_values
        self.max_update_bytes = max_update_bytes

    def _check_can_decrypt(self, keys: EpochKeys) -> None:
        """Refuse before reviewing when this party could not decrypt the epoch anyway (nothing to check here)."""

    def review_round(self, round_: int) -> RoundReview:
        """Re-check a posted aggregate against the chain; dispute it on chain if anything is wrong.

        Raises:
            RoundNotReadyError: If the round has no posted aggregate, is not aggregating or is already disputed.
            RoundDisputedError: If the key holder found a wrong inclusion, exclusion or sum; the dispute is on
                chain and nothing was decrypted.
            RoleError: If this key holder lacks the round's epoch key.
            StoreError, ChainError: If IPFS or the chain fail (nothing is disputed then: retry).
        """
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.round(fid, round_)
        if stored.status != RoundStatus.AGGREGATING or not stored.aggregate_artifact or stored.disputed:
            state = "disputed" if stored.disputed else stored.status.name.lower()
            raise RoundNotReadyError(
                f"round {round_} of federation {fid} is {state}"
                f"{'' if stored.aggregate_artifact else ' without an aggregate'}; nothing to review"
            )
        keys = self.context.epoch_keys(stored.key_epoch)
        self._check_can_decrypt(keys)
        assessments = {a.submission.artifact_id: a for a in assess_round(
            self.context, round_, keys, self.expected_num_values, self.max_update_bytes)}
        aggregate_record = registry.artifact(stored.aggregate_artifact, from_block=self.context.from_block)
        if not registry.verify_artifact(aggregate_record):
            raise ChainMismatchError(
                f"the record of aggregate #{stored.aggregate_artifact} (round {round_}) does not match the digest in "
                f"contract storage at {registry.address}; check the RPC node"
            )
        included = list(aggregate_record.parents)
        exclusions = registry.events(events.UpdateExcluded, self.context.from_block, federation_id=fid, round=round_)
        excluded = [e.update_artifact_id for e in exclusions]
        if sorted(included + excluded) != sorted(assessments):
            # The contract enforces this partition; a mismatch means the records read are not the chain's.
            raise RoleError(
                f"round {round_}: the aggregate includes {included} and excludes {excluded}, but the chain "
                f"records updates {sorted(assessments)}; check the RPC node"
            )
        for exclusion in exclusions:
            found = assessments[exclusion.update_artifact_id]
            if found.usable:
                self._dispute(round_, found.sha256, DisputeReason.VALID_UPDATE_EXCLUDED,
                              f"update #{exclusion.update_artifact_id} was excluded as "
                              f"{exclusion.reason.name.lower()} but verifies")
        for artifact_id in included:
            found = assessments[artifact_id]
            if not found.usable:
                self._dispute(round_, found.sha256, DisputeReason.INVALID_UPDATE_INCLUDED,
                              f"update #{artifact_id} is {found.reason.name.lower()}: {found.detail}")
        aggregate = self._recompute(round_, stored.aggregate_sha256, keys, [assessments[i] for i in included])
        analysts = tuple(sorted({assessments[i].submission.analyst for i in included}))
        minimum = registry.federation(fid).min_participants
        if len(analysts) < minimum or aggregate.client_count != len(analysts):
            self._dispute(round_, stored.aggregate_sha256, DisputeReason.DECRYPTION_REFUSED,
                          f"{aggregate.client_count} inputs from {len(analysts)} distinct analysts, minimum {minimum}")
        if aggregate.weights_total != stored.weights_total:
            self._dispute(round_, stored.aggregate_sha256, DisputeReason.AGGREGATE_MISMATCH,
                          f"header weights total {aggregate.weights_total}, chain records {stored.weights_total}")
        return RoundReview(round_, stored.key_epoch, stored.aggregate_artifact, aggregate, tuple(included),
                           tuple(excluded), analysts)

    def _recompute(self, round_: int, posted_sha256: bytes, keys: EpochKeys,
                   included: list[UpdateAssessment]) -> EncryptedAggregate:
        """The aggregate recomputed from the included updates; disputed unless it is byte-identical to the post."""
        recomputed = aggregate_update_bytes([a.blob for a in included], keys.public_key)
        if hashlib.sha256(recomputed).digest() != posted_sha256:
            self._dispute(round_, posted_sha256, DisputeReason.AGGREGATE_MISMATCH,
                          f"the sum of updates {[a.submission.artifact_id for a in included]} has sha256 "
                          f"{hashlib.sha256(recomputed).hexdigest()}, the posted aggregate {posted_sha256.hex()}")
        aggregate = EncryptedAggregate.from_bytes(recomputed, keys.public_key)
        expected = RoundContext(self.context.federation_id, round_, keys.epoch)
        try:
            check_aggregate_context(aggregate, expected, keys.encoding_digest)
        except ContextMismatchError as exc:
            self._dispute(round_, posted_sha256, DisputeReason.AGGREGATE_MISMATCH, str(exc))
        return aggregate

    def _dispute(self, round_: int, subject_sha256: bytes, reason: DisputeReason, detail: str) -> NoReturn:
        """Record the refusal on chain (its detail cut to what the chain accepts), then raise it in full."""
        fid = self.context.federation_id
        dispute = self.context.registry.dispute_aggregate(fid, round_, subject_sha256, reason,
                                                          fit_reason(detail)).value
        raise RoundDisputedError(
            f"round {round_} of federation {fid}: refused to decrypt ({reason.name.lower()}: {detail}); the dispute "
            f"is on chain (tx {dispute.transaction_hash}): the admin should abort the round",
            dispute,
        )


class KeyHolder(RoundReviewer):
    """Reviews, decrypts and finalizes rounds of one federation with the private key of their key epoch.

    Args:
        context: The federation, seen through the key holder's account.
        private_keys: The private key of each key epoch this key holder holds, by epoch.
        expected_num_values: Length of the federation's model.
        max_update_bytes: Largest update fetched (as the aggregator's limit).
    """

    def __init__(self, context: FederationContext, private_keys: dict[int, paillier.PaillierPrivateKey],
                 expected_num_values: int, max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES) -> None:
        super().__init__(context, expected_num_values, max_update_bytes)
        self._private_keys = dict(private_keys)

    def __repr__(self) -> str:
        return f"<KeyHolder of federation {self.context.federation_id}, epochs {sorted(self._private_keys)}>"

    def _check_can_decrypt(self, keys: EpochKeys) -> None:
        self._private_key(keys)

    def decrypt_round(self, round_: int, workers: int | None = None) -> tuple[RoundReview, np.ndarray]:
        """Review the round, then decrypt its aggregate into the weighted-mean update vector.

        Raises:
            RoundDisputedError: If the review or the decryption's slot-range check failed (dispute on chain).
            RoundNotReadyError, RoleError, StoreError, ChainError: See :meth:`review_round`.
        """
        review = self.review_round(round_)
        private_key = self._private_keys[review.key_epoch]
        minimum = self.context.registry.federation(self.context.federation_id).min_participants
        try:
            mean = decrypt_aggregate(private_key, review.aggregate, workers, min_participants=minimum)
        except SlotSumOutOfRangeError as exc:
            digest = self.context.registry.round(self.context.federation_id, round_).aggregate_sha256
            self._dispute(round_, digest, DisputeReason.DECRYPTION_REFUSED, str(exc))
        return review, mean

    def finalize(self, round_: int, global_model: ArtifactInput, metrics: ArtifactInput, dp: DpParameters,
                 parent_version: int) -> Tx[int]:
        """Record the round's new model version (after :meth:`decrypt_round`); its value is the version."""
        return self.context.registry.finalize_round(
            self.context.federation_id, round_, global_model, metrics, dp, parent_version=parent_version)

    def _private_key(self, keys: EpochKeys) -> paillier.PaillierPrivateKey:
        private_key = self._private_keys.get(keys.epoch)
        if private_key is None or key_fingerprint(private_key.public_key) != key_fingerprint(keys.public_key):
            raise RoleError(
                f"this key holder has no private key for key epoch {keys.epoch} of federation "
                f"{self.context.federation_id} (registered public key artifact #{keys.public_key_artifact}); "
                "load the epoch's key, or let that epoch's key holder finalize"
            )
        return private_key
