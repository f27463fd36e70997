"""Paillier key generation, fingerprints and versioned key serialization.

Keys are python-paillier (``phe``) objects. The public key travels as bytes
(magic ``FLPK``, format version, ``n``); the private key has an explicit bytes
API only (magic ``FLSK``): this module never writes a private key to a file, so
a caller must decide where the secret goes (wrapped for a recipient, or an
explicit path it protects itself).

The fingerprint of a key is ``sha256(n)`` over the minimal big-endian bytes of
``n``; every encrypted update and aggregate records it, so material under a
different key is refused by name instead of decrypting to garbage.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from phe import paillier

from clients.he.errors import InvalidParametersError, KeyFormatError

DEFAULT_KEY_BITS = 3072
"""3072-bit n: ~128-bit security (NIST SP 800-57)."""

MIN_KEY_BITS = 1024
"""Smallest modulus accepted at all. Below 2048 bits is for fast tests only."""

KEY_FORMAT_VERSION = 1
_PUBLIC_MAGIC = b"FLPK"
_PRIVATE_MAGIC = b"FLSK"


@dataclass(frozen=True)
class KeyPair:
    """A federation's Paillier key pair."""

    public_key: paillier.PaillierPublicKey
    private_key: paillier.PaillierPrivateKey


def generate_keypair(bits: int = DEFAULT_KEY_BITS) -> KeyPair:
    """Generate a Paillier key pair with an n of exactly ``bits`` bits.

    Args:
        bits: Modulus size; 3072 (default) or 2048 for real use. Sizes down to
            1024 are accepted so tests run fast.

    Returns:
        The new key pair.

    Raises:
        InvalidParametersError: If ``bits`` is below 1024 or not a multiple of 8.
    """
    if bits < MIN_KEY_BITS or bits % 8:
        raise InvalidParametersError(
            f"Paillier key size must be a multiple of 8 and at least {MIN_KEY_BITS} bits "
            f"(use 3072 for 128-bit security), got {bits}"
        )
    public_key, private_key = paillier.generate_paillier_keypair(n_length=bits)
    return KeyPair(public_key, private_key)


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def key_fingerprint(public_key: paillier.PaillierPublicKey) -> bytes:
    """Return the 32-byte key fingerprint ``sha256(n)``."""
    return hashlib.sha256(_int_bytes(public_key.n)).digest()


def public_key_to_bytes(public_key: paillier.PaillierPublicKey) -> bytes:
    """Serialize a public key: ``FLPK | version u8 | len(n) u16 | n``, big-endian."""
    n_bytes = _int_bytes(public_key.n)
    return _PUBLIC_MAGIC + struct.pack(">BH", KEY_FORMAT_VERSION, len(n_bytes)) + n_bytes


def _read_int(data: bytes, offset: int, what: str) -> tuple[int, int]:
    if len(data) < offset + 2:
        raise KeyFormatError(f"key bytes truncated before the length of {what}; re-export the key")
    (length,) = struct.unpack_from(">H", data, offset)
    offset += 2
    if len(data) < offset + length:
        raise KeyFormatError(
            f"key bytes truncated inside {what}: need {length} bytes, have {len(data) - offset}; "
            "re-export the key"
        )
    return int.from_bytes(data[offset : offset + length], "big"), offset + length


def _check_header(data: bytes, magic: bytes, what: str) -> None:
    if data[:4] != magic:
        raise KeyFormatError(f"not a serialized {what} (magic {data[:4]!r}, expected {magic!r})")
    if len(data) < 5 or data[4] != KEY_FORMAT_VERSION:
        version = data[4] if len(data) > 4 else None
        raise KeyFormatError(
            f"unsupported {what} format version {version}; this build reads version {KEY_FORMAT_VERSION}"
        )


def public_key_from_bytes(data: bytes) -> paillier.PaillierPublicKey:
    """Load a public key written by :func:`public_key_to_bytes`.

    Raises:
        KeyFormatError: On a wrong magic or version, truncated bytes, trailing
            bytes, or an n that cannot be a Paillier modulus.
    """
    _check_header(data, _PUBLIC_MAGIC, "public key")
    n, end = _read_int(data, 5, "n")
    if end != len(data):
        raise KeyFormatError(f"public key has {len(data) - end} unexpected trailing bytes")
    if n.bit_length() < MIN_KEY_BITS or n % 2 == 0:
        raise KeyFormatError(f"public key modulus of {n.bit_length()} bits is not a valid Paillier n")
    return paillier.PaillierPublicKey(n)


def private_key_to_bytes(private_key: paillier.PaillierPrivateKey) -> bytes:
    """Serialize a private key to bytes: ``FLSK | version | fingerprint | p | q``.

    The result is the secret itself: wrap it for its recipient or keep it in
    memory. Nothing here writes it to disk.
    """
    fingerprint = key_fingerprint(private_key.public_key)
    parts = [_PRIVATE_MAGIC, struct.pack(">B", KEY_FORMAT_VERSION), fingerprint]
    for prime in (private_key.p, private_key.q):
        prime_bytes = _int_bytes(prime)
        parts += [struct.pack(">H", len(prime_bytes)), prime_bytes]
    return b"".join(parts)


def private_key_from_bytes(data: bytes) -> paillier.PaillierPrivateKey:
    """Load a private key written by :func:`private_key_to_bytes`.

    Raises:
        KeyFormatError: On a wrong magic or version, truncated or trailing
            bytes, or primes whose product does not match the recorded
            fingerprint.
    """
    _check_header(data, _PRIVATE_MAGIC, "private key")
    if len(data) < 5 + 32:
        raise KeyFormatError("private key bytes truncated inside the key fingerprint")
    fingerprint = data[5:37]
    p, offset = _read_int(data, 37, "p")
    q, offset = _read_int(data, offset, "q")
    if offset != len(data):
        raise KeyFormatError(f"private key has {len(data) - offset} unexpected trailing bytes")
    if p < 3 or q < 3 or p == q:
        raise KeyFormatError("private key primes are invalid (p and q must be distinct odd primes)")
    public_key = paillier.PaillierPublicKey(p * q)
    if key_fingerprint(public_key) != fingerprint:
        raise KeyFormatError(
            f"private key primes give fingerprint {key_fingerprint(public_key).hex()[:16]}…, "
            f"the key records {fingerprint.hex()[:16]}…: the key bytes are corrupted"
        )
    return paillier.PaillierPrivateKey(public_key, p, q)
