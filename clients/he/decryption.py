"""Key-holder side: decrypt an encrypted aggregate into the FedAvg float vector."""

from __future__ import annotations

import numpy as np
from phe import paillier

from clients.he.encoding import dequantize, unpack
from clients.he.errors import KeyMismatchError
from clients.he.keys import key_fingerprint
from clients.he.parallel import decrypt_crt, run_chunked
from clients.he.serialization import EncryptedAggregate


def decrypt_slot_sums(
    private_key: paillier.PaillierPrivateKey, aggregate: EncryptedAggregate, workers: int | None = None
) -> np.ndarray:
    """Decrypt an aggregate to its exact integer slot sums ``Σ w_i q_i``.

    Args:
        private_key: The federation's private key.
        aggregate: The encrypted aggregate.
        workers: Worker processes; default one per core.

    Returns:
        uint64 vector of length ``aggregate.num_values``.

    Raises:
        KeyMismatchError: If the aggregate is under another key.
        SlotOverflowError: If a plaintext does not fit the layout (forged input).
    """
    fingerprint = key_fingerprint(private_key.public_key)
    if aggregate.key_fingerprint != fingerprint:
        raise KeyMismatchError(
            f"aggregate is under key {aggregate.key_fingerprint.hex()[:16]}…, this private key is "
            f"{fingerprint.hex()[:16]}…: use the key holder of that federation"
        )
    plaintexts = run_chunked(decrypt_crt, (private_key.p, private_key.q), aggregate.ciphertexts, workers)
    return unpack(plaintexts, aggregate.layout, aggregate.num_values)


def decrypt_aggregate(
    private_key: paillier.PaillierPrivateKey, aggregate: EncryptedAggregate, workers: int | None = None
) -> np.ndarray:
    """Decrypt and unpack an aggregate into the weighted-mean float64 vector.

    The error versus the plaintext weighted mean of the (clipped) inputs is at
    most ``aggregate.layout.quantization_bound``.

    Raises:
        KeyMismatchError: If the aggregate is under another key.
        SlotOverflowError: If a plaintext does not fit the layout (forged input).
    """
    sums = decrypt_slot_sums(private_key, aggregate, workers)
    return dequantize(sums, aggregate.weights_total, aggregate.layout)
