"""The aggregator role (the untrusted AI cloud): holds no private key, sums the round's updates from the chain.

It decides nothing the key holder has to trust: it takes the input set from the chain (every
``UpdateSubmitted`` of the round), includes each usable update and names every other one with a reason in
the same transaction (``UpdateExcluded``); the contract refuses any other set, and the key holder re-checks
every inclusion and exclusion before it decrypts.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.he import aggregate_update_bytes
from registry.chain import Exclusion, ExclusionReason, RoundStatus
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, FederationContext, as_input
from registry.roles.errors import RoundNotReadyError, TooFewUsableUpdatesError
from registry.roles.review import UpdateAssessment, assess_round


@dataclass(frozen=True)
class ExcludedUpdate:
    """An update the aggregator left out, with the reason it recorded on chain and what failed."""

    artifact_id: int
    analyst: str
    reason: ExclusionReason
    detail: str


@dataclass(frozen=True)
class AggregateResult:
    """What the aggregator posted for a round.

    Attributes:
        round: The round.
        aggregate_id: The aggregate's artifact id.
        cid: Where the aggregate is on IPFS.
        sha256: Its sha256 (hex), as recorded on chain.
        included: Artifact ids of the updates summed, in the canonical (content-hash) order.
        excluded: The updates left out, each with its reason.
        gas_used: Gas of the closing (if it closed the round) and posting transactions.
    """

    round: int
    aggregate_id: int
    cid: str
    sha256: str
    included: tuple[int, ...]
    excluded: tuple[ExcludedUpdate, ...]
    gas_used: int


class Aggregator:
    """Sums a round's usable updates without any key and posts the aggregate with its exclusions.

    Args:
        context: The federation, seen through the aggregator's account.
        expected_num_values: Length of the federation's model (an update of another length is excluded).
        max_update_bytes: Largest update fetched; larger ones are excluded as over-size without fetching.
    """

    def __init__(self, context: FederationContext, expected_num_values: int,
                 max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES) -> None:
        self.context = context
        self.expected_num_values = expected_num_values
        self.max_update_bytes = max_update_bytes

    def aggregate_round(self, round_: int) -> AggregateResult:
        """Close the round if it is still open, assess every update, sum the usable ones, post the aggregate.

        Raises:
            RoundNotReadyError: If the round is neither open nor aggregating, or already has an aggregate.
            TooFewUsableUpdatesError: If fewer updates than the federation's minimum are usable (nothing posted;
                the admin can abort the round).
            StoreError, ChainError, HEError: If IPFS or the chain fail, or the usable updates exceed the layout.
        """
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.round(fid, round_)
        gas = 0
        if stored.status == RoundStatus.OPEN:
            gas += registry.close_round(fid, round_).gas_used
        elif stored.status != RoundStatus.AGGREGATING or stored.aggregate_artifact:
            raise RoundNotReadyError(
                f"round {round_} of federation {fid} is {stored.status.name.lower()}"
                f"{' with its aggregate posted' if stored.aggregate_artifact else ''}; nothing to aggregate"
            )
        keys = self.context.epoch_keys(stored.key_epoch)
        assessments = assess_round(self.context, round_, keys, self.expected_num_values, self.max_update_bytes)
        usable = [a for a in assessments if a.usable]
        minimum = registry.federation(fid).min_participants
        if len(usable) < minimum:
            raise TooFewUsableUpdatesError(
                f"round {round_} of federation {fid} has {len(usable)} usable updates of {len(assessments)}, "
                f"the minimum is {minimum}; nothing was posted. Refused: "
                + "; ".join(_describe(a) for a in assessments if not a.usable)
            )
        blob = aggregate_update_bytes([a.blob for a in usable], keys.public_key)
        stored_blob = self.context.store.put_bytes(blob)
        excluded = sorted((a for a in assessments if not a.usable), key=lambda a: a.sha256)
        posted = registry.post_aggregate(
            fid, round_, as_input(stored_blob),
            sorted(a.sha256 for a in usable),
            [Exclusion(a.sha256, a.reason) for a in excluded],
        )
        aggregate_id, gas = posted.value, gas + posted.gas_used
        by_sha = {a.sha256: a for a in usable}
        return AggregateResult(
            round=round_,
            aggregate_id=aggregate_id,
            cid=stored_blob.cid,
            sha256=stored_blob.sha256,
            included=tuple(by_sha[h].submission.artifact_id for h in sorted(by_sha)),
            excluded=tuple(ExcludedUpdate(a.submission.artifact_id, a.submission.analyst, a.reason, a.detail)
                           for a in excluded),
            gas_used=gas,
        )


def _describe(assessment: UpdateAssessment) -> str:
    s = assessment.submission
    return f"update #{s.artifact_id} of {s.analyst}: {assessment.reason.name.lower()} ({assessment.detail})"
