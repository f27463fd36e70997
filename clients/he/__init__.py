"""Model tier: packed Paillier encryption and keyless, verifiable aggregation.

Roles:
    analyst:     :func:`encrypt_update` (optionally with a :class:`RandomnessPool`)
    aggregator:  :func:`aggregate_updates` / :func:`aggregate_update_bytes` (no private key)
    key holder:  :func:`decrypt_aggregate`
    FL code:     :class:`PaillierFedAvg`, an :class:`clients.aggregation.Aggregator`
    benchmark:   :func:`run_benchmark` (``flep bench he``)
"""

from clients.he.benchmark import SchemeFigures, run_benchmark
from clients.he.decryption import decrypt_aggregate, decrypt_slot_sums
from clients.he.encoding import EncodingParams, SlotLayout, dequantize, pack, quantize, unpack, weight_levels
from clients.he.encryption import encrypt_plaintexts, encrypt_update
from clients.he.errors import (
    DuplicateUpdateError,
    HeadroomExceededError,
    HEError,
    InvalidParametersError,
    KeyFormatError,
    KeyMismatchError,
    LayoutMismatchError,
    MalformedCiphertextError,
    NonFiniteUpdateError,
    SerializationError,
    SlotOverflowError,
    WeightOutOfRangeError,
)
from clients.he.fedavg import PaillierFedAvg, RoundRecord
from clients.he.homomorphic_sum import aggregate_update_bytes, aggregate_updates, check_compatible
from clients.he.keys import (
    DEFAULT_KEY_BITS,
    DJNPublicKey,
    KeyPair,
    classic_keypair,
    djn_exponent_bits,
    generate_keypair,
    key_fingerprint,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)
from clients.he.randomness import RandomnessPool
from clients.he.serialization import EncryptedAggregate, EncryptedUpdate, ciphertext_width, digest

__all__ = [
    "DEFAULT_KEY_BITS",
    "DJNPublicKey",
    "DuplicateUpdateError",
    "EncodingParams",
    "EncryptedAggregate",
    "EncryptedUpdate",
    "HEError",
    "HeadroomExceededError",
    "InvalidParametersError",
    "KeyFormatError",
    "KeyMismatchError",
    "KeyPair",
    "LayoutMismatchError",
    "MalformedCiphertextError",
    "NonFiniteUpdateError",
    "PaillierFedAvg",
    "RandomnessPool",
    "RoundRecord",
    "SchemeFigures",
    "SerializationError",
    "SlotLayout",
    "SlotOverflowError",
    "WeightOutOfRangeError",
    "aggregate_update_bytes",
    "aggregate_updates",
    "check_compatible",
    "classic_keypair",
    "ciphertext_width",
    "decrypt_aggregate",
    "decrypt_slot_sums",
    "dequantize",
    "digest",
    "djn_exponent_bits",
    "encrypt_plaintexts",
    "encrypt_update",
    "generate_keypair",
    "key_fingerprint",
    "pack",
    "private_key_from_bytes",
    "private_key_to_bytes",
    "public_key_from_bytes",
    "public_key_to_bytes",
    "quantize",
    "run_benchmark",
    "unpack",
    "weight_levels",
]
