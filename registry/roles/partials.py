"""Partial decryptions of a round under threshold custody: sealed, registered, read back and combined.

Whoever holds ``t`` partial decryptions of an aggregate can combine them into its plaintext, which is the next
global model. So a partial is sealed (AES-256-GCM) under the epoch's model key before it goes to IPFS, bound to
federation, round, epoch and custodian index: exactly the members who may read the global model (analysts,
custodians) can check every partial's proof and redo the combination; outsiders see its hash on chain only.

:func:`threshold_decryption` is the one combination, used by the custodian that finalizes and by the auditor:
each registered partial is checked against the chain (kind, submitter, parent = the round's aggregate,
digest), opened, parsed under the epoch's threshold key, matched to the index its submitter holds on chain,
and verified; a partial failing any check is named (custodian and why) and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clients.he import (
    EncryptedAggregate,
    HEError,
    Combination,
    PartialDecryption,
    ThresholdPublicKey,
    public_key_to_bytes,
    threshold_decrypt_aggregate,
)
from registry.chain import ArtifactKind, events
from registry.roles.context import FederationContext
from registry.roles.errors import ChainMismatchError, RoleError
from registry.roles.models import open_under_model_key, seal_under_model_key
from registry.store import StoreError

_MAGIC = b"FLPS\x01"
MAX_PARTIAL_BYTES = 256 << 20
"""Largest sealed partial fetched (a 2048-bit partial of 1M values is ~100 MB; the limit bounds a hostile one)."""


class PartialSealError(RoleError):
    """A sealed partial does not open: wrong model key, another round's or custodian's blob, or tampered."""


class ThresholdCustodyError(RoleError):
    """The chain's custody records of an epoch are missing or do not match the threshold key."""


def _aad(federation_id: int, round_: int, epoch: int, index: int) -> bytes:
    return f"FLEP-partial-v1|federation={federation_id}|round={round_}|epoch={epoch}|custodian={index}".encode()


def seal_partial(model_key: bytes, payload: bytes, federation_id: int, round_: int, epoch: int, index: int) -> bytes:
    """``FLPS 1 | nonce | AES-256-GCM(payload)`` bound to (federation, round, epoch, custodian index)."""
    return seal_under_model_key(model_key, _MAGIC, payload, _aad(federation_id, round_, epoch, index))


def open_partial(model_key: bytes, blob: bytes, federation_id: int, round_: int, epoch: int, index: int) -> bytes:
    """The payload of a sealed partial.

    Raises:
        PartialSealError: If the blob is not a sealed partial of that round and custodian under ``model_key``.
    """
    try:
        payload = open_under_model_key(model_key, _MAGIC, blob, _aad(federation_id, round_, epoch, index))
    except ValueError:
        raise PartialSealError("not a sealed partial decryption (magic FLPS v1)") from None
    if payload is None:
        raise PartialSealError(
            f"the sealed partial does not open as custodian {index}'s of round {round_} (key epoch {epoch}) under "
            "this model key: another round's or custodian's blob, another epoch's key, or tampered bytes"
        )
    return payload


@dataclass(frozen=True)
class EpochCustodians:
    """A key epoch under threshold custody, as the chain records it and checked against its threshold key.

    Attributes:
        epoch: The key epoch.
        threshold: How many partials a round needs.
        custodians: The custodians' accounts; custodian ``i`` is ``custodians[i - 1]``.
        threshold_key: The shared key's public material, fetched and verified.
        threshold_key_artifact: Its artifact id.
    """

    epoch: int
    threshold: int
    custodians: tuple[str, ...]
    threshold_key: ThresholdPublicKey
    threshold_key_artifact: int

    def index_of(self, account: str) -> int:
        """The custodian index of ``account`` (0: not a custodian of the epoch)."""
        lowered = [c.lower() for c in self.custodians]
        return lowered.index(account.lower()) + 1 if account.lower() in lowered else 0


def epoch_custodians(context: FederationContext, epoch: int) -> EpochCustodians:
    """The custody of key ``epoch``, each record checked: the custody event against contract storage, the
    threshold key artifact's kind, parent and content, and that its Paillier key is the epoch's public key.

    Raises:
        ThresholdCustodyError: If the epoch is not under threshold custody, or the records disagree.
        ChainMismatchError, StoreError: If the threshold key artifact does not verify or cannot be fetched.
    """
    registry, fid = context.registry, context.federation_id
    custody = registry.epoch_custody(fid, epoch)
    if not custody.shared:
        raise ThresholdCustodyError(f"key epoch {epoch} of federation {fid} has a single key holder, no custodians")
    found = [e for e in registry.events(events.EpochCustodySet, context.from_block, federation_id=fid, epoch=epoch)]
    if len(found) != 1 or found[0].threshold_key_artifact != custody.threshold_key_artifact:
        raise ThresholdCustodyError(
            f"the custody events of key epoch {epoch} do not match contract storage at {registry.address}; "
            "check the RPC node")
    event = found[0]
    if len(event.custodians) != custody.custodian_count or event.threshold != custody.threshold or any(
            registry.custodian_index(fid, epoch, account) != i for i, account in enumerate(event.custodians, 1)):
        raise ThresholdCustodyError(f"the custodians of key epoch {epoch} in its event do not match contract storage")
    record = registry.artifact(custody.threshold_key_artifact, from_block=context.from_block)
    keys = context.epoch_keys(epoch)
    if record.kind != ArtifactKind.THRESHOLD_KEY or list(record.parents) != [keys.public_key_artifact]:
        raise ThresholdCustodyError(f"artifact #{record.artifact_id} is not key epoch {epoch}'s threshold key")
    try:
        key = ThresholdPublicKey.from_bytes(context.fetch_verified(record))
    except HEError as exc:
        raise ThresholdCustodyError(f"the threshold key of key epoch {epoch} does not parse: {exc}") from exc
    if public_key_to_bytes(key.public_key) != public_key_to_bytes(keys.public_key) or (
            key.params.threshold, key.params.n_custodians) != (custody.threshold, custody.custodian_count):
        raise ThresholdCustodyError(
            f"the threshold key of key epoch {epoch} is for another public key or another {key.params.threshold} of "
            f"{key.params.n_custodians}; the chain records {custody.threshold} of {custody.custodian_count}")
    return EpochCustodians(epoch, custody.threshold, event.custodians, key, record.artifact_id)


@dataclass(frozen=True)
class RejectedCustodian:
    """A partial decryption left out of the combination, and why."""

    index: int
    custodian: str
    reason: str


@dataclass(frozen=True)
class ThresholdDecryption:
    """A round's aggregate decrypted from its custodians' partials.

    Attributes:
        mean: The weighted-mean update (as the single-key decryption returns it).
        used: The custodians (accounts) whose partials were combined, by ascending index.
        used_indices: Their indices.
        rejected: Every registered partial that was skipped, with its custodian and why.
    """

    mean: np.ndarray
    used: tuple[str, ...]
    used_indices: tuple[int, ...]
    rejected: tuple[RejectedCustodian, ...]


def threshold_decryption(context: FederationContext, round_: int, aggregate: EncryptedAggregate,
                         custody: EpochCustodians, model_key: bytes, min_participants: int) -> ThresholdDecryption:
    """Combine the registered partial decryptions of ``round_``'s aggregate (see the module docstring).

    Args:
        context: The federation.
        round_: The round.
        aggregate: The round's aggregate, as the caller verified it against the chain.
        custody: The round's key epoch custody (:func:`epoch_custodians`).
        model_key: The epoch's model key, which the partials are sealed under.
        min_participants: Fewest updates the aggregate must sum.

    Raises:
        InsufficientPartialsError: Fewer than ``t`` partials pass (an ``HEError``; its message names why each
            failed one was skipped).
        SlotSumOutOfRangeError, SlotOverflowError: The combined plaintext is not a valid packed sum (``HEError``).
    """
    registry, fid = context.registry, context.federation_id
    stored = registry.round(fid, round_)
    rejected: list[RejectedCustodian] = []
    partials: list[PartialDecryption] = []
    submitted = registry.events(events.PartialDecryptionSubmitted, context.from_block, federation_id=fid,
                                round=round_)
    for event in sorted(submitted, key=lambda e: e.index):
        try:
            partials.append(_read_partial(context, round_, stored.aggregate_artifact, aggregate, custody, model_key,
                                          event))
        except (RoleError, StoreError, HEError) as exc:
            rejected.append(RejectedCustodian(event.index, event.custodian, str(exc)))
    by_index = {e.index: e.custodian for e in submitted}
    combined: list[Combination] = []
    mean = threshold_decrypt_aggregate(custody.threshold_key, aggregate, partials, min_participants, combined.append)
    rejected += [RejectedCustodian(r.index, by_index[r.index], r.reason) for r in combined[0].rejected]
    used = combined[0].used
    return ThresholdDecryption(mean, tuple(by_index[i] for i in used), used, tuple(rejected))


def _read_partial(context: FederationContext, round_: int, aggregate_id: int, aggregate: EncryptedAggregate,
                  custody: EpochCustodians, model_key: bytes, event: events.PartialDecryptionSubmitted
                  ) -> PartialDecryption:
    """One registered partial, checked against the chain, opened and parsed (its proof is checked on combining)."""
    if custody.index_of(event.custodian) != event.index:
        raise ThresholdCustodyError(f"{event.custodian} submitted as custodian {event.index}, but the chain's "
                                    f"custodians of key epoch {custody.epoch} say otherwise")
    record = context.registry.artifact(event.artifact_id, from_block=context.from_block)
    if (record.kind != ArtifactKind.PARTIAL_DECRYPTION or record.round != round_ or list(record.parents) != [aggregate_id]
            or record.submitter.lower() != event.custodian.lower()):
        raise ChainMismatchError(f"artifact #{event.artifact_id} is not custodian {event.index}'s partial "
                                 f"decryption of round {round_}'s aggregate #{aggregate_id}")
    blob = context.fetch_verified(record, max_size=MAX_PARTIAL_BYTES)
    payload = open_partial(model_key, blob, context.federation_id, round_, custody.epoch, event.index)
    partial = PartialDecryption.from_bytes(payload, custody.threshold_key, expected_count=len(aggregate.ciphertexts))
    if partial.index != event.index:
        raise ThresholdCustodyError(f"the partial registered by custodian {event.index} is made as custodian "
                                    f"{partial.index}'s")
    return partial
