"""The checks every reviewer of a round runs on each update: the aggregator to decide what to include, the
key holder to re-check the aggregator's choices, an auditor to re-check both.

An update is usable when, in this order: its registered size is within the limit; its bytes fetch and match
the chain (digest, CID, sha256, size); it parses as an encrypted update under the round's key epoch; it uses
the federation's registered encoding and the model's length; its header names the federation, round, key
epoch and submitter the chain recorded; and its header weight is the weight registered on chain. The first
failed check is its exclusion reason. Everything is derived from the chain and IPFS, never from what the
aggregator claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.he import (
    ContextMismatchError,
    EncryptedUpdate,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
    UpdateContext,
    check_update_context,
)
from registry.chain import ExclusionReason, events
from registry.roles.context import EpochKeys, FederationContext
from registry.roles.errors import ChainMismatchError
from registry.store import ArtifactNotFoundError, ArtifactTooLargeError, IntegrityError, StoreRequestError


@dataclass(frozen=True)
class UpdateAssessment:
    """What a reviewer found about one update of a round.

    Attributes:
        submission: The update's chain record.
        reason: ``NONE`` when the update is usable, else why it must be excluded.
        detail: What exactly failed (empty when usable).
        blob: The verified bytes (``None`` when they could not be fetched or verified).
    """

    submission: events.UpdateSubmitted
    reason: ExclusionReason
    detail: str
    blob: bytes | None

    def __repr__(self) -> str:
        return (f"UpdateAssessment(update #{self.submission.artifact_id}, analyst {self.submission.analyst}, "
                f"{self.reason.name})")

    @property
    def usable(self) -> bool:
        return self.reason == ExclusionReason.NONE

    @property
    def sha256(self) -> bytes:
        return self.submission.sha256


def assess_update(
    context: FederationContext,
    submission: events.UpdateSubmitted,
    keys: EpochKeys,
    expected_num_values: int,
    max_update_bytes: int,
) -> UpdateAssessment:
    """Check one update of a round against the chain (see the module docstring for the checks and order).

    Raises:
        StoreUnavailableError: If the IPFS node is down (a reviewer retries later rather than exclude).
    """

    def refused(reason: ExclusionReason, detail: str, blob: bytes | None = None) -> UpdateAssessment:
        return UpdateAssessment(submission, reason, detail, blob)

    if submission.size > max_update_bytes:
        return refused(ExclusionReason.OVER_SIZE,
                       f"registered size {submission.size} B exceeds the limit of {max_update_bytes} B")
    try:
        blob = context.fetch_verified(submission.as_artifact())
    except (ArtifactNotFoundError, StoreRequestError) as exc:
        # The node lacks it, or refuses to serve it (e.g. a block corrupted on its disk): not retrievable.
        return refused(ExclusionReason.UNAVAILABLE, str(exc))
    except (IntegrityError, ArtifactTooLargeError, ChainMismatchError) as exc:
        return refused(ExclusionReason.CONTENT_MISMATCH, str(exc))
    try:
        update = EncryptedUpdate.from_bytes(blob, keys.public_key)
    except KeyMismatchError as exc:
        return refused(ExclusionReason.WRONG_KEY, str(exc), blob)
    except (SerializationError, MalformedCiphertextError) as exc:
        return refused(ExclusionReason.UNPARSEABLE, str(exc), blob)
    if update.encoding_digest != keys.encoding_digest:
        return refused(ExclusionReason.WRONG_LAYOUT,
                       f"encoding digest {update.encoding_digest.hex()[:16]}… is not the one registered for key "
                       f"epoch {keys.epoch} ({keys.encoding_digest.hex()[:16]}…)", blob)
    if update.num_values != expected_num_values:
        return refused(ExclusionReason.WRONG_LAYOUT,
                       f"{update.num_values} values, the federation's model has {expected_num_values}", blob)
    expected = UpdateContext(submission.federation_id, submission.round, keys.epoch, submission.analyst)
    try:
        check_update_context(update, expected, keys.encoding_digest)
    except ContextMismatchError as exc:
        return refused(ExclusionReason.WRONG_CONTEXT, str(exc), blob)
    if update.weight != submission.weight:
        return refused(ExclusionReason.WEIGHT_MISMATCH,
                       f"header weight {update.weight}, registered weight {submission.weight}", blob)
    return UpdateAssessment(submission, ExclusionReason.NONE, "", blob)


def assess_round(
    context: FederationContext,
    round_: int,
    keys: EpochKeys,
    expected_num_values: int,
    max_update_bytes: int,
) -> list[UpdateAssessment]:
    """Assess every update the chain recorded for ``round_``, in artifact-id order."""
    return [assess_update(context, s, keys, expected_num_values, max_update_bytes)
            for s in context.round_updates(round_)]
