"""Aggregator side: add encrypted updates without any private key.

Paillier is additively homomorphic: the product of ciphertexts mod n^2
decrypts to the sum of their plaintexts, and since packed slots never carry
(see :mod:`clients.he.encoding`), slot-wise sums of every update come out.

The result is deterministic: the aggregator adds no randomness, and
multiplication mod n^2 is commutative, so the ciphertexts depend only on the
set of inputs. The header lists the inputs' sha256 digests in ascending order
(the canonical order). Anyone holding the same update files recomputes the
same aggregate bytes and can match the hash the aggregator registered: the
basis of publicly verifiable aggregation.

Round binding. The inputs of one aggregate must share a round context
(federation, round, key epoch) and encoding digest, and come from distinct
submitters; the aggregate header records that context. Matching each update
against its chain record is the caller's job
(:func:`~clients.he.context.check_update_context`).
"""

from __future__ import annotations

from typing import Sequence

import gmpy2
from phe import paillier

from clients.he.context import digest_difference, round_differences
from clients.he.errors import (
    ContextMismatchError,
    DuplicateUpdateError,
    HeadroomExceededError,
    InvalidParametersError,
    KeyMismatchError,
    LayoutMismatchError,
    WeightOutOfRangeError,
)
from clients.he.keys import key_fingerprint
from clients.he.serialization import EncryptedAggregate, EncryptedUpdate, digest


def check_compatible(updates: Sequence[EncryptedUpdate], public_key: paillier.PaillierPublicKey) -> None:
    """Refuse a set of updates that cannot be summed correctly into one round's aggregate.

    Every update must match the first one's round context (federation, round,
    key epoch) and encoding digest, and come from a different submitter.
    Whether the round is the right one, and each submitter entitled to it, is
    for the caller to check against the chain (:func:`~clients.he.context.check_update_context`).
    Ciphertext ranges are checked when updates are parsed
    (:meth:`EncryptedUpdate.from_bytes`); in-memory updates are trusted to come
    from :func:`~clients.he.encryption.encrypt_update` or that parser.

    Raises:
        InvalidParametersError: If ``updates`` is empty.
        KeyMismatchError: An update made under another key.
        ContextMismatchError: Another federation, round, key epoch or encoding
            than the first update's, naming the submitter and the field.
        LayoutMismatchError: Slot layout, scale or length differs from the first
            update's, or the ciphertext count does not match the length.
        WeightOutOfRangeError: A weight outside ``1 .. max_weight``.
        DuplicateUpdateError: The same submitter twice.
        HeadroomExceededError: More updates than ``max_clients``.
    """
    if not updates:
        raise InvalidParametersError("no encrypted updates to aggregate")
    fingerprint = key_fingerprint(public_key)
    first = updates[0]
    seen: set[str] = set()
    for update in updates:
        _check_key(update, fingerprint)
        _check_context(update, first)
        _check_layout(update, first)
        if not 1 <= update.weight <= first.layout.max_weight:
            raise WeightOutOfRangeError(
                f"submitter {update.submitter} claims weight {update.weight}, the layout allows "
                f"1..{first.layout.max_weight}"
            )
        if update.submitter in seen:
            raise DuplicateUpdateError(
                f"submitter {update.submitter} has more than one update in {update.round_context}: "
                "keep only the one its chain record names"
            )
        seen.add(update.submitter)
    if len(updates) > first.layout.max_clients:
        raise HeadroomExceededError(
            f"{len(updates)} updates exceed the slot headroom of {first.layout.max_clients} clients: "
            "slots would overflow; split the round or re-key the layout with a larger max_clients"
        )


def _check_key(update: EncryptedUpdate, fingerprint: bytes) -> None:
    if update.key_fingerprint != fingerprint:
        raise KeyMismatchError(
            f"update of submitter {update.submitter} is under key {update.key_fingerprint.hex()[:16]}…, "
            f"the round's key is {fingerprint.hex()[:16]}…: ask the analyst to re-encrypt"
        )


def _check_context(update: EncryptedUpdate, first: EncryptedUpdate) -> None:
    differences = round_differences(first.round_context, update.round_context)
    encoding = digest_difference(first.encoding_digest, update.encoding_digest)
    if encoding:
        params = first.layout.params.differences(update.layout.params)
        differences.append(f"{encoding[0]} ({'; '.join(params)})")
    if differences:
        raise ContextMismatchError(
            f"update of submitter {update.submitter} is not bound to the same round and encoding as that of "
            f"{first.submitter}: {'; '.join(differences)}; exclude it by name"
        )


def _check_layout(update: EncryptedUpdate, first: EncryptedUpdate) -> None:
    mismatch = first.layout.differences(update.layout)
    if update.num_values != first.num_values:
        mismatch.append(f"num_values {first.num_values} != {update.num_values}")
    if len(update.ciphertexts) != update.layout.num_ciphertexts(update.num_values):
        mismatch.append(f"{len(update.ciphertexts)} ciphertexts for {update.num_values} values, "
                        f"the layout needs {update.layout.num_ciphertexts(update.num_values)}")
    if mismatch:
        raise LayoutMismatchError(
            f"update of submitter {update.submitter} does not match that of {first.submitter}: "
            + "; ".join(mismatch)
        )


def aggregate_updates(
    updates: Sequence[EncryptedUpdate], public_key: paillier.PaillierPublicKey
) -> EncryptedAggregate:
    """Homomorphically sum encrypted updates (no private key involved).

    Args:
        updates: The round's encrypted updates, in any order.
        public_key: The federation's public key (for n^2 and the fingerprint).

    Returns:
        The encrypted aggregate; equal inputs give an equal aggregate.

    Raises:
        InvalidParametersError, KeyMismatchError, ContextMismatchError,
        LayoutMismatchError, WeightOutOfRangeError, DuplicateUpdateError,
        HeadroomExceededError: See :func:`check_compatible`.
    """
    check_compatible(updates, public_key)
    return _sum(updates, [digest(update.to_bytes(public_key)) for update in updates], public_key)


def _sum(updates: Sequence[EncryptedUpdate], digests: list[bytes],
         public_key: paillier.PaillierPublicKey) -> EncryptedAggregate:
    """Sum updates already passed by :func:`check_compatible`, given their serialized digests.

    Distinct submitters make distinct bytes, so the sorted digests are strictly ascending.
    """
    digests = sorted(digests)
    n = gmpy2.mpz(public_key.n)
    nsquare = n * n
    sums = [gmpy2.mpz(c) for c in updates[0].ciphertexts]
    for update in updates[1:]:
        sums = [gmpy2.mpz(c) * s % nsquare for s, c in zip(sums, update.ciphertexts)]
    first = updates[0]
    return EncryptedAggregate(
        key_fingerprint=first.key_fingerprint,
        layout=first.layout,
        num_values=first.num_values,
        context=first.round_context,
        client_count=len(updates),
        weights_total=sum(u.weight for u in updates),
        input_digests=tuple(digests),
        ciphertexts=tuple(int(s) for s in sums),
    )


def aggregate_update_bytes(blobs: Sequence[bytes], public_key: paillier.PaillierPublicKey) -> bytes:
    """Parse serialized updates, check them, sum them and serialize the aggregate.

    This is what both the aggregator and any verifier run on the files behind
    a round's update CIDs; comparing the sha256 of the result with the one on
    chain verifies the aggregation.

    Raises:
        SerializationError, MalformedCiphertextError: A malformed input file.
        HEError: Any refusal of :func:`aggregate_updates`.
    """
    updates = [EncryptedUpdate.from_bytes(blob, public_key) for blob in blobs]
    check_compatible(updates, public_key)
    # Parsing is canonical (a parsed update re-serializes to the same bytes), so the
    # digests of the files are the digests aggregate_updates would compute.
    return _sum(updates, [digest(blob) for blob in blobs], public_key).to_bytes(public_key)
