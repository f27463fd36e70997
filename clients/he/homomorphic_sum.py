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
"""

from __future__ import annotations

from typing import Sequence

import gmpy2
from phe import paillier

from clients.he.errors import (
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
    """Refuse a set of updates that cannot be summed correctly.

    Ciphertext ranges are checked when updates are parsed
    (:meth:`EncryptedUpdate.from_bytes`); in-memory updates are trusted to come
    from :func:`~clients.he.encryption.encrypt_update` or that parser.

    Raises:
        InvalidParametersError: If ``updates`` is empty.
        KeyMismatchError: An update made under another key.
        LayoutMismatchError: Slot layout, scale, clip bound or length differs from the first
            update's, or the ciphertext count does not match the length.
        WeightOutOfRangeError: A weight outside ``1 .. max_weight``.
        HeadroomExceededError: More updates than ``max_clients``.
        DuplicateUpdateError: The same client id twice.
    """
    if not updates:
        raise InvalidParametersError("no encrypted updates to aggregate")
    fingerprint = key_fingerprint(public_key)
    first = updates[0]
    seen: set[str] = set()
    for update in updates:
        if update.key_fingerprint != fingerprint:
            raise KeyMismatchError(
                f"update of client {update.client_id!r} is under key {update.key_fingerprint.hex()[:16]}…, "
                f"the round's key is {fingerprint.hex()[:16]}…: ask the client to re-encrypt"
            )
        mismatch = first.layout.differences(update.layout)
        if update.num_values != first.num_values:
            mismatch.append(f"num_values {first.num_values} != {update.num_values}")
        if len(update.ciphertexts) != update.layout.num_ciphertexts(update.num_values):
            mismatch.append(f"{len(update.ciphertexts)} ciphertexts for {update.num_values} values, "
                            f"the layout needs {update.layout.num_ciphertexts(update.num_values)}")
        if mismatch:
            raise LayoutMismatchError(
                f"update of client {update.client_id!r} does not match that of {first.client_id!r}: "
                + "; ".join(mismatch)
            )
        if not 1 <= update.weight <= first.layout.max_weight:
            raise WeightOutOfRangeError(
                f"client {update.client_id!r} claims weight {update.weight}, the layout allows "
                f"1..{first.layout.max_weight}"
            )
        if update.client_id in seen:
            raise DuplicateUpdateError(f"client {update.client_id!r} submitted more than one update")
        seen.add(update.client_id)
    if len(updates) > first.layout.max_clients:
        raise HeadroomExceededError(
            f"{len(updates)} updates exceed the slot headroom of {first.layout.max_clients} clients: "
            "slots would overflow; split the round or re-key the layout with a larger max_clients"
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
        InvalidParametersError, KeyMismatchError, LayoutMismatchError,
        WeightOutOfRangeError, HeadroomExceededError, DuplicateUpdateError:
            See :func:`check_compatible`; also DuplicateUpdateError when two
            inputs are byte-identical.
    """
    check_compatible(updates, public_key)
    return _sum(updates, [digest(update.to_bytes(public_key)) for update in updates], public_key)


def _sum(updates: Sequence[EncryptedUpdate], digests: list[bytes],
         public_key: paillier.PaillierPublicKey) -> EncryptedAggregate:
    """Sum updates already passed by :func:`check_compatible`, given their serialized digests."""
    digests = sorted(digests)
    if len(set(digests)) != len(digests):
        raise DuplicateUpdateError("the same encrypted update bytes were given twice")
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
