"""Key-holder side: decrypt an encrypted aggregate into the FedAvg float vector.

What decryption detects, and what it cannot. Paillier gives confidentiality,
not integrity of content: nothing proves that an analyst's ciphertexts hold its
own quantized values times its declared weight (that would need range proofs,
which this layer does not have), and the declared weight itself is only the
analyst's claim. Before decrypting, the key holder refuses an aggregate of
fewer than ``min_participants`` updates (:class:`TooFewParticipantsError`).
After decrypting, with ``W`` the aggregate's recorded total weight and
``L = 2^v - 1`` the largest level, it refuses:

* a plaintext wider than its packed slots, or non-zero padding slots
  (:class:`SlotOverflowError`);
* a slot sum above ``W * L`` (:class:`SlotSumOutOfRangeError`). Honest inputs
  cannot exceed it (each slot of weight ``w`` holds at most ``w * L``), so a
  larger sum means an encoder overflowed its slots or the aggregate was forged;
  the result must not be published.

Not detected: any input whose effect keeps every slot sum inside
``[0, W * L]`` and every plaintext inside the layout. Without range proofs an
analyst of weight ``w`` can, undetected:

* encode arbitrary levels in ``[0, L]``, i.e. any values in ``[-B, B]`` instead
  of its training result;
* put more than its own ``w * L`` into a slot (up to ``2^slot_bits - 1``), for
  instance another weight's worth: as long as the other analysts' values are
  low enough that the slot sum stays at most ``W * L``, the excess is hidden by
  them. A single overflowing analyst whose excess is hidden by others' low
  values is therefore not detected; only sums beyond the total bound are;
* encrypt any residue mod n rather than packed levels, e.g. ``n - x``, which
  subtracts ``x`` from the other analysts' sums; a subtraction within what they
  contributed is invisible too (one beyond it borrows from the neighbouring
  slot or wraps the plaintext mod n, and is caught only if that result leaves
  the bounds above).

Together: one analyst that knows or guesses the others' contributions can move
every coordinate of the decrypted mean anywhere in ``[-B, B]``, whatever its
weight; only a guess that leaves the bounds above is caught. Defending the
mean's content is for range proofs or robust aggregation on the result, not
this check.
"""

from __future__ import annotations

import numpy as np
from phe import paillier

from clients.he.encoding import dequantize, unpack
from clients.he.errors import (
    InvalidParametersError,
    KeyMismatchError,
    SlotSumOutOfRangeError,
    TooFewParticipantsError,
)
from clients.he.keys import key_fingerprint
from clients.he.parallel import decrypt_crt, run_chunked
from clients.he.serialization import EncryptedAggregate


def decrypt_slot_sums(
    private_key: paillier.PaillierPrivateKey,
    aggregate: EncryptedAggregate,
    workers: int | None = None,
    min_participants: int = 1,
) -> np.ndarray:
    """Decrypt an aggregate to its exact integer slot sums ``Σ w_i q_i``.

    Detects only what the module docstring lists: too few participants
    (before decrypting), plaintexts wider than the layout, and slot sums above
    ``weights_total * (2^v - 1)``. Skews inside that range are not detected.

    Args:
        private_key: The federation's private key.
        aggregate: The encrypted aggregate.
        workers: Worker processes; default one per core.
        min_participants: Fewest updates the aggregate must sum (the
            federation's minimum); checked before any decryption.

    Returns:
        uint64 vector of length ``aggregate.num_values``.

    Raises:
        InvalidParametersError: If ``min_participants`` is below 1.
        KeyMismatchError: If the aggregate is under another key.
        TooFewParticipantsError: If ``aggregate.client_count < min_participants``.
        SlotOverflowError: If a plaintext does not fit the layout (forged input).
        SlotSumOutOfRangeError: If a slot sum exceeds ``weights_total * (2^v - 1)``.
    """
    check_before_decryption(private_key.public_key, aggregate, min_participants)
    plaintexts = run_chunked(decrypt_crt, (private_key.p, private_key.q), aggregate.ciphertexts, workers)
    return slot_sums_from_plaintexts(plaintexts, aggregate)


def decrypt_aggregate(
    private_key: paillier.PaillierPrivateKey,
    aggregate: EncryptedAggregate,
    workers: int | None = None,
    min_participants: int = 1,
) -> np.ndarray:
    """Decrypt and unpack an aggregate into the weighted-mean float64 vector.

    For honest inputs, the error versus the plaintext weighted mean of the
    (clipped) inputs is at most ``aggregate.layout.quantization_bound``. The
    checks are those of :func:`decrypt_slot_sums`; see the module docstring
    for the skews they cannot detect.

    Raises:
        InvalidParametersError: If ``min_participants`` is below 1.
        KeyMismatchError: If the aggregate is under another key.
        TooFewParticipantsError: If ``aggregate.client_count < min_participants``.
        SlotOverflowError: If a plaintext does not fit the layout (forged input).
        SlotSumOutOfRangeError: If a slot sum exceeds ``weights_total * (2^v - 1)``.
    """
    sums = decrypt_slot_sums(private_key, aggregate, workers, min_participants)
    return dequantize(sums, aggregate.weights_total, aggregate.layout)


def check_before_decryption(public_key: paillier.PaillierPublicKey, aggregate: EncryptedAggregate,
                            min_participants: int) -> None:
    """What every decryptor checks before any decryption: the key and the participant minimum.

    Shared by the single key holder (:func:`decrypt_slot_sums`) and the
    threshold custodians (:mod:`clients.he.threshold`), with ``public_key`` the
    key the decryptor holds (a share of).

    Raises:
        InvalidParametersError: If ``min_participants`` is below 1.
        KeyMismatchError: If the aggregate is under another key.
        TooFewParticipantsError: If ``aggregate.client_count < min_participants``.
    """
    if min_participants < 1:
        raise InvalidParametersError(f"min_participants must be >= 1, got {min_participants}")
    fingerprint = key_fingerprint(public_key)
    if aggregate.key_fingerprint != fingerprint:
        raise KeyMismatchError(
            f"aggregate is under key {aggregate.key_fingerprint.hex()[:16]}…, this decryption key is "
            f"{fingerprint.hex()[:16]}…: use the key holder of that federation"
        )
    if aggregate.client_count < min_participants:
        raise TooFewParticipantsError(
            f"aggregate of {aggregate.context} sums {aggregate.client_count} update(s), the minimum is "
            f"{min_participants}: decrypting it could reveal an individual update; refused before decryption"
        )


def slot_sums_from_plaintexts(plaintexts: list[int], aggregate: EncryptedAggregate) -> np.ndarray:
    """Unpack decrypted plaintexts of ``aggregate`` and check them: the checks after decryption.

    Shared by the single key holder and threshold combination, so both refuse the same inputs.

    Returns:
        uint64 vector of length ``aggregate.num_values``.

    Raises:
        SlotOverflowError: If a plaintext does not fit the layout (forged input).
        SlotSumOutOfRangeError: If a slot sum exceeds ``weights_total * (2^v - 1)``.
    """
    sums = unpack(plaintexts, aggregate.layout, aggregate.num_values)
    _check_slot_range(sums, aggregate)
    return sums


def _check_slot_range(sums: np.ndarray, aggregate: EncryptedAggregate) -> None:
    layout = aggregate.layout
    bound = aggregate.weights_total * layout.params.max_level
    above = np.flatnonzero(sums > np.uint64(bound))
    if above.size:
        index = int(above[0])
        raise SlotSumOutOfRangeError(
            f"slot {index} of the aggregate of {aggregate.context} sums to {int(sums[index])}, above the bound "
            f"{bound} (weights total {aggregate.weights_total} x max level {layout.params.max_level}; "
            f"{above.size} slot(s) in all): an encoder overflowed its slots or the aggregate was forged; "
            "do not publish"
        )
