"""Model tier: packed Paillier encryption and keyless, verifiable aggregation.

Roles:
    analyst:     :func:`encrypt_update` for an :class:`UpdateContext` (optionally with a :class:`RandomnessPool`)
    aggregator:  :func:`check_update_context` against each chain record, then
                 :func:`aggregate_updates` / :func:`aggregate_update_bytes` (no private key)
    key holder:  :func:`check_aggregate_context`, then :func:`decrypt_aggregate` (``min_participants``)
    FL code:     :class:`PaillierFedAvg`, an :class:`clients.aggregation.Aggregator`
    benchmark:   :func:`run_benchmark` (``flep bench he``)
"""

from clients.he.benchmark import SchemeFigures, run_benchmark
from clients.he.context import (
    RoundContext,
    UpdateContext,
    check_aggregate_context,
    check_update_context,
    encoding_digest,
    normalize_address,
)
from clients.he.decryption import decrypt_aggregate, decrypt_slot_sums
from clients.he.encoding import (
    MAX_CLIENTS,
    MAX_CLIP_BOUND,
    EncodingParams,
    SlotLayout,
    dequantize,
    pack,
    quantize,
    unpack,
    weight_levels,
)
from clients.he.encryption import encrypt_plaintexts, encrypt_update
from clients.he.errors import (
    ContextMismatchError,
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
    SlotSumOutOfRangeError,
    TooFewParticipantsError,
    WeightOutOfRangeError,
)
from clients.he.fedavg import PaillierFedAvg, RoundRecord, simulated_address
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
from clients.he.serialization import MAX_VALUES, EncryptedAggregate, EncryptedUpdate, ciphertext_width, digest

__all__ = [
    "ContextMismatchError",
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
    "MAX_CLIENTS",
    "MAX_CLIP_BOUND",
    "MAX_VALUES",
    "MalformedCiphertextError",
    "NonFiniteUpdateError",
    "PaillierFedAvg",
    "RandomnessPool",
    "RoundContext",
    "RoundRecord",
    "SchemeFigures",
    "SerializationError",
    "SlotLayout",
    "SlotOverflowError",
    "SlotSumOutOfRangeError",
    "TooFewParticipantsError",
    "UpdateContext",
    "WeightOutOfRangeError",
    "aggregate_update_bytes",
    "aggregate_updates",
    "check_aggregate_context",
    "check_compatible",
    "check_update_context",
    "ciphertext_width",
    "classic_keypair",
    "decrypt_aggregate",
    "decrypt_slot_sums",
    "dequantize",
    "digest",
    "djn_exponent_bits",
    "encoding_digest",
    "encrypt_plaintexts",
    "encrypt_update",
    "generate_keypair",
    "key_fingerprint",
    "normalize_address",
    "pack",
    "private_key_from_bytes",
    "private_key_to_bytes",
    "public_key_from_bytes",
    "public_key_to_bytes",
    "quantize",
    "run_benchmark",
    "simulated_address",
    "unpack",
    "weight_levels",
]
