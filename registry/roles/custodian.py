"""Threshold custody: the admin deals the epoch's key to n custodians once; any t of them decrypt a round.

Key ceremony (:func:`run_ceremony`, the admin as trusted dealer). A fresh threshold Paillier key
(:func:`clients.he.deal`) and a fresh model key; the Paillier public key starts a new key epoch, the
threshold key (verification keys, t, n) is registered as the epoch's custody with the custodians in share
order, and custodian ``i`` is granted, as the epoch's Paillier private key, a bundle of its share ``s_i`` and the
model key sealed (HPKE) for its registered encryption key. The dealer writes nothing to disk: the factors
never leave :func:`clients.he.deal`, and the shares and model key exist only in this process's memory until
it returns (Python cannot zeroize them; it drops every reference). If the ceremony fails half way (a chain
or IPFS error), the epoch it started has no custody and opens no round a custodian could finish: run it
again, which starts the next epoch.

A custodian (:class:`Custodian`) reviews each posted aggregate as a key holder does
(:class:`~registry.roles.key_holder.RoundReviewer`), then posts its partial decryption with proof, sealed
under the model key, and registers it. Once ``t`` are registered, a custodian combines them
(:func:`~registry.roles.partials.threshold_decryption`, skipping and naming any that fail) into the next
model and finalizes; the chain refuses a finalization before ``t`` partials are in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from clients.he import (
    EncodingParams,
    HEError,
    KeyShare,
    SlotSumOutOfRangeError,
    ThresholdParams,
    TooFewParticipantsError,
    deal,
    encoding_digest,
    partial_decrypt_aggregate,
    public_key_to_bytes,
)
from registry.chain import DisputeReason, KeyKind, Tx, events
from registry.keystore import Keystore
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext, as_input
from registry.roles.errors import RoleError
from registry.roles.grants import GrantResult, grant_sealed, open_grant, registered_encryption_key
from registry.roles.key_holder import RoundReview, RoundReviewer
from registry.roles.models import MODEL_KEY_BYTES, new_model_key
from registry.roles.partials import (
    EpochCustodians,
    ThresholdDecryption,
    epoch_custodians,
    seal_partial,
    threshold_decryption,
)

_BUNDLE_MAGIC = b"FLCB\x01"
_BUNDLE_HEADER = struct.Struct(">5sI")  # magic, len(share bytes); then the share, then the model key


class CustodianError(RoleError):
    """A custodian cannot act: not a custodian of the epoch, or its grant does not hold a valid share."""


def custody_bundle(share: bytes, model_key: bytes) -> bytes:
    """What custodian ``i`` is granted: ``FLCB 1 | len u32 | share (FLKS) | model key (32 bytes)``."""
    return _BUNDLE_HEADER.pack(_BUNDLE_MAGIC, len(share)) + share + model_key


def open_custody_bundle(data: bytes) -> tuple[bytes, bytes]:
    """The share bytes and model key of a custody bundle.

    Raises:
        CustodianError: If the bytes are not a custody bundle.
    """
    if len(data) < _BUNDLE_HEADER.size or not data.startswith(_BUNDLE_MAGIC):
        raise CustodianError("the Paillier grant is not a custodian's share bundle (magic FLCB v1)")
    _, length = _BUNDLE_HEADER.unpack_from(data)
    if len(data) != _BUNDLE_HEADER.size + length + MODEL_KEY_BYTES:
        raise CustodianError(f"the share bundle is {len(data)} bytes, its header implies "
                             f"{_BUNDLE_HEADER.size + length + MODEL_KEY_BYTES}")
    return data[_BUNDLE_HEADER.size:_BUNDLE_HEADER.size + length], data[_BUNDLE_HEADER.size + length:]


@dataclass(frozen=True)
class Ceremony:
    """A key ceremony as recorded on chain (nothing secret).

    Attributes:
        epoch: The key epoch it started.
        threshold: Partials a round needs.
        custodians: The custodians in share order.
        public_key_artifact: The epoch's Paillier public key artifact.
        threshold_key_artifact: The threshold key artifact.
        grants: The share grants, one per custodian.
        gas_used: Gas of every transaction of the ceremony.
    """

    epoch: int
    threshold: int
    custodians: tuple[str, ...]
    public_key_artifact: int
    threshold_key_artifact: int
    grants: tuple[GrantResult, ...]
    gas_used: int


def run_ceremony(admin: FederationContext, custodians: list[str], threshold: int, encoding: EncodingParams,
                 bits: int) -> Ceremony:
    """Deal a new key epoch's key to ``custodians`` (custodian ``i`` is ``custodians[i - 1]``), ``threshold`` of
    them decrypting; see the module docstring.

    Raises:
        GrantError: If a custodian registered no encryption key (checked before anything is dealt).
        InvalidParametersError: If ``threshold`` or the number of custodians is out of range (an ``HEError``).
        ChainError: If the caller is not the admin, a round is live, or a custodian is named twice.
    """
    registry, store, fid = admin.registry, admin.store, admin.federation_id
    for custodian in custodians:
        registered_encryption_key(registry, custodian, admin.from_block)
    params = ThresholdParams(len(custodians), threshold)
    if len({c.lower() for c in custodians}) != len(custodians):
        raise CustodianError("a custodian is named twice; each must hold its own share")
    dealing = deal(bits, params)
    model_key = new_model_key()
    public = store.put_bytes(public_key_to_bytes(dealing.public.public_key))
    started = registry.start_key_epoch(fid, as_input(public), encoding_digest(encoding))
    epoch = started.value
    threshold_key = store.put_bytes(dealing.public.to_bytes())
    custody = registry.set_epoch_custody(fid, threshold, custodians, as_input(threshold_key))
    grants = tuple(
        grant_sealed(admin, KeyKind.PAILLIER_PRIVATE_KEY, custodian,
                     custody_bundle(share.to_bytes(dealing.public), model_key), epoch=epoch)
        for custodian, share in zip(custodians, dealing.shares)
    )
    public_artifact = registry.key_epoch(fid, epoch).public_key_artifact
    gas = started.gas_used + custody.gas_used + sum(g.transaction.gas_used for g in grants)
    return Ceremony(epoch, threshold, tuple(custodians), public_artifact, custody.value, grants, gas)


@dataclass(frozen=True)
class CustodyShare:
    """What a custodian holds for one key epoch (its share and the model key are left out of ``repr``)."""

    custody: EpochCustodians
    index: int
    share: KeyShare
    model_key: bytes

    def __repr__(self) -> str:
        return f"<CustodyShare of custodian {self.index}, key epoch {self.custody.epoch}>"


class Custodian(RoundReviewer):
    """One custodian of a federation: reviews rounds, posts its partial decryptions, combines and finalizes.

    Args:
        context: The federation, seen through the custodian's account.
        keystore: The custodian's keystore (its share grants are sealed for it).
        expected_num_values: Length of the federation's model.
        max_update_bytes: Largest update fetched.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, expected_num_values: int,
                 max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES) -> None:
        super().__init__(context, expected_num_values, max_update_bytes)
        self.keystore = keystore
        self._holdings: dict[int, CustodyShare] = {}
        self._reviews: dict[int, RoundReview] = {}

    def __repr__(self) -> str:
        return f"<Custodian {self.keystore.address} of federation {self.context.federation_id}>"

    def holding(self, epoch: int) -> CustodyShare:
        """This custodian's share and model key of key ``epoch``, from its live grant.

        Raises:
            CustodianError: If it is no custodian of the epoch, or its grant holds no valid share for it.
            GrantError, StoreError, KeystoreError: If the grant is revoked or cannot be fetched or opened.
        """
        if epoch in self._holdings:
            return self._holdings[epoch]
        custody = epoch_custodians(self.context, epoch)
        index = custody.index_of(self.keystore.address)
        if not index:
            raise CustodianError(f"{self.keystore.address} is not a custodian of key epoch {epoch} of federation "
                                 f"{self.context.federation_id}")
        share_bytes, model_key = open_custody_bundle(
            open_grant(self.context, self.keystore, KeyKind.PAILLIER_PRIVATE_KEY, epoch=epoch))
        try:
            share = KeyShare.from_bytes(share_bytes, custody.threshold_key)
        except HEError as exc:
            raise CustodianError(f"the share granted to {self.keystore.address} for key epoch {epoch} does not "
                                 f"match the epoch's threshold key: {exc}") from exc
        if share.index != index:
            raise CustodianError(f"the share granted to {self.keystore.address} is custodian {share.index}'s, the "
                                 f"chain names it custodian {index}")
        self._holdings[epoch] = CustodyShare(custody, index, share, model_key)
        return self._holdings[epoch]

    def model_key(self, epoch: int) -> bytes:
        """The model key of key ``epoch`` (dealt with the share)."""
        return self.holding(epoch).model_key

    def _check_can_decrypt(self, keys: EpochKeys) -> None:
        self.holding(keys.epoch)

    def review(self, round_: int) -> RoundReview:
        """:meth:`review_round`, once per round (a restarted custodian reviews again)."""
        if round_ not in self._reviews:
            self._reviews[round_] = self.review_round(round_)
        return self._reviews[round_]

    def has_submitted(self, round_: int) -> bool:
        """Whether this custodian's partial decryption of ``round_`` is registered (read from the chain)."""
        registry, fid = self.context.registry, self.context.federation_id
        epoch = registry.round(fid, round_).key_epoch
        index = registry.custodian_index(fid, epoch, self.keystore.address)
        return bool(index) and index in registry.partial_custodians(fid, round_)

    def submit_partial(self, round_: int, workers: int | None = 1) -> Tx[events.PartialDecryptionSubmitted]:
        """Review the round, then post and register this custodian's partial decryption of its aggregate.

        Raises:
            RoundDisputedError: If the review failed (the dispute is on chain; nothing is decrypted).
            RoundNotReadyError, CustodianError, StoreError, ChainError: As :meth:`review_round` and :meth:`holding`.
        """
        review = self.review(round_)
        holding = self.holding(review.key_epoch)
        fid = self.context.federation_id
        minimum = self.context.registry.federation(fid).min_participants
        try:
            partial = partial_decrypt_aggregate(holding.share, holding.custody.threshold_key, review.aggregate,
                                                minimum, workers)
        except TooFewParticipantsError as exc:  # the review disputes this first; kept so no path decrypts it
            digest = self.context.registry.round(fid, round_).aggregate_sha256
            self._dispute(round_, digest, DisputeReason.DECRYPTION_REFUSED, str(exc))
        payload = partial.to_bytes(holding.custody.threshold_key)
        sealed = self.context.store.put_bytes(
            seal_partial(holding.model_key, payload, fid, round_, review.key_epoch, holding.index))
        return self.context.registry.submit_partial_decryption(fid, round_, as_input(sealed))

    def combine(self, round_: int) -> tuple[RoundReview, ThresholdDecryption]:
        """Review the round (once), then combine its registered partials into the weighted-mean update.

        Raises:
            InsufficientPartialsError: Fewer than ``t`` valid partials yet (an ``HEError``: wait for more).
            RoundDisputedError: If the review failed, or the combined sums are out of range (dispute on chain).
        """
        review = self.review(round_)
        holding = self.holding(review.key_epoch)
        fid = self.context.federation_id
        minimum = self.context.registry.federation(fid).min_participants
        try:
            decryption = threshold_decryption(self.context, round_, review.aggregate, holding.custody,
                                              holding.model_key, minimum)
        except SlotSumOutOfRangeError as exc:
            digest = self.context.registry.round(fid, round_).aggregate_sha256
            self._dispute(round_, digest, DisputeReason.DECRYPTION_REFUSED, str(exc))
        return review, decryption


def member_model_key(context: FederationContext, keystore: Keystore) -> Callable[[int], bytes]:
    """The model key of each key epoch as a member reads it: a custodian from its share bundle, anyone else
    from its model-key grant (e.g. for :class:`~registry.roles.Auditor` to re-check partial decryptions).

    The returned function raises ``GrantError``, ``StoreError`` or ``KeystoreError`` when the keystore holds no
    live grant of the epoch's key.
    """
    registry, fid = context.registry, context.federation_id
    found: dict[int, bytes] = {}

    def key_for(epoch: int) -> bytes:
        if epoch not in found:
            if registry.epoch_custody(fid, epoch).shared and registry.custodian_index(fid, epoch, keystore.address):
                found[epoch] = Custodian(context, keystore, expected_num_values=0).model_key(epoch)
            else:
                found[epoch] = open_grant(context, keystore, KeyKind.MODEL_KEY, epoch=epoch)
        return found[epoch]

    return key_for
