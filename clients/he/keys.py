"""Paillier key generation, fingerprints and versioned key serialization.

Keys are python-paillier (``phe``) objects. A key generated here is a
:class:`DJNPublicKey`: a ``phe`` public key that also carries the
Damgård–Jurik–Nielsen base ``h_s`` and the obfuscator exponent length (see
:mod:`clients.he.randomness` for what they are for and the extra assumption
they rest on). A plain ``phe`` public key (and every key in format version 1)
is the classic scheme with obfuscators ``r^n``.

Public key bytes (magic ``FLPK``, big-endian)::

    version 1: FLPK | 1 u8 | len(n) u16 | n
    version 2: FLPK | 2 u8 | len(n) u16 | n | exponent_bits u16 | len(h_s) u16 | h_s

The private key has an explicit bytes API only (magic ``FLSK``): this module
never writes a private key to a file, so a caller must decide where the secret
goes (wrapped for a recipient, or an explicit path it protects itself).

Fingerprint. A version-1 key's fingerprint is ``sha256(n)`` (unchanged, so
existing artifacts keep theirs). A version-2 key's fingerprint is the sha256 of
its whole serialized public key, so it covers ``n``, ``h_s`` and the exponent
length. Why ``h_s`` must be bound: nobody without the factorization can check
that ``h_s`` is an n-th residue of large order, and a swapped ``h_s`` breaks
encryption silently (``h_s = -1`` or another element of small order makes the
obfuscator guessable and so reveals every plaintext; an ``h_s`` that is not an
n-th residue shifts every plaintext by a multiple of the random exponent, so
updates decrypt to garbage). Every encrypted update, aggregate and randomness
pool records the fingerprint, and the federation registers the public key
artifact (its sha256 and fingerprint) on chain, so an encryptor that checks the
fingerprint of the key file it loaded against the registered one detects a
swapped ``h_s``, and material made under a swapped key is refused by name.
Anyone can check that ``h_s`` has Jacobi symbol +1 mod n (a necessary
condition). The key holder, who knows ``p`` and ``q``, additionally checks
whenever it loads its private key that ``h_s`` is an n-th residue and a
quadratic non-residue mod p and mod q (which refuses 1, residue bases and
odd-order bases).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import struct
from dataclasses import dataclass

import gmpy2
from phe import paillier

from clients.he.errors import InvalidParametersError, KeyFormatError

DEFAULT_KEY_BITS = 3072
"""3072-bit n: ~128-bit security (NIST SP 800-57)."""

MIN_KEY_BITS = 1024
"""Smallest modulus accepted at all. Below 2048 bits is for fast tests only."""

MIN_DJN_EXPONENT_BITS = 256
"""Shortest obfuscator exponent accepted: recovering a t-bit exponent with Pollard's
lambda method costs ~2^(t/2) group operations, so 256 bits is 128-bit security
against that generic attack. Keys generated here use the longer ceil(|n|/2)."""

KEY_FORMAT_VERSION = 2
"""Newest key format written (version 2 = with the DJN base); version 1 is still read."""

_CLASSIC_VERSION = 1
_PUBLIC_MAGIC = b"FLPK"
_PRIVATE_MAGIC = b"FLSK"


def djn_exponent_bits(n_bits: int) -> int:
    """Obfuscator exponent length for an ``n_bits`` modulus: ``ceil(n_bits / 2)``.

    This is the length Damgård, Jurik and Nielsen give for their faster
    encryption (``alpha`` uniform in ``Z_{2^ceil(k/2)}`` for a k-bit n; IJIS
    2010) and that libdjn (ABY) and SecretFlow HEU's Damgård–Jurik use: 1024
    bits for a 2048-bit n, 1536 for 3072. It is far above the 2x-security-bits
    length (224 / 256) that generic exponent-recovery attacks require, which
    leaves margin for the extra assumption the short exponent needs.
    """
    return (n_bits + 1) // 2


class DJNPublicKey(paillier.PaillierPublicKey):
    """A Paillier public key with the Damgård–Jurik–Nielsen obfuscator base.

    Attributes:
        hs: ``h^n mod n^2`` for ``h = -x^2 mod n``, x a random unit only the
            key holder knew; obfuscators are ``hs^a mod n^2``.
        exponent_bits: Bit length of the random exponent ``a``.
    """

    def __init__(self, n: int, hs: int, exponent_bits: int) -> None:
        """Build the key, refusing a base or exponent length that cannot be right.

        Raises:
            KeyFormatError: If ``hs`` is not a unit of Z_{n^2} other than ±1
                (0, >= n^2, sharing a factor with n), has Jacobi symbol -1 mod
                n, or ``exponent_bits`` is outside ``MIN_DJN_EXPONENT_BITS .. |n|``.
        """
        super().__init__(n)
        check_djn_fields(n, hs, exponent_bits)
        self.hs = hs
        self.exponent_bits = exponent_bits

    def __repr__(self) -> str:
        return f"<DJNPublicKey n={self.n.bit_length()} bits, exponent={self.exponent_bits} bits>"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DJNPublicKey) and self.n == other.n and self.hs == other.hs
                and self.exponent_bits == other.exponent_bits)

    def __hash__(self) -> int:
        return hash((self.n, self.hs, self.exponent_bits))


def check_djn_fields(n: int, hs: int, exponent_bits: int) -> None:
    """Check what anyone can check about a DJN base without the factorization.

    ``hs`` must be a unit other than ±1 with Jacobi symbol ``(hs mod n | n) = +1``,
    as ``(-x^2)^n`` is on a Blum n (Legendre symbol -1 mod p and mod q). That
    is only a necessary condition: whether ``hs`` is an n-th residue, a
    non-residue mod p and q (:func:`check_djn_base_with_primes`) and of large
    order cannot be checked from ``n`` alone; that is why ``hs`` is bound into
    the key fingerprint.

    Raises:
        KeyFormatError: Naming the failed condition.
    """
    nsquare = n * n
    if not 1 < hs < nsquare - 1:
        raise KeyFormatError(
            f"DJN base h_s must lie in (1, n^2 - 1), got a {hs.bit_length()}-bit value "
            f"{'(zero)' if hs == 0 else ''}; the public key is corrupted or forged: fetch the registered key"
        )
    if gmpy2.gcd(hs, n) != 1:
        raise KeyFormatError("DJN base h_s shares a factor with n (not a unit); the public key is forged")
    if gmpy2.jacobi(hs % n, n) != 1:
        raise KeyFormatError(
            "DJN base h_s has Jacobi symbol -1 mod n, a DJN base (-x^2)^n on a Blum n has +1: "
            "the public key is corrupted or forged: fetch the registered key"
        )
    if not MIN_DJN_EXPONENT_BITS <= exponent_bits <= n.bit_length():
        raise KeyFormatError(
            f"DJN exponent length {exponent_bits} bits is outside {MIN_DJN_EXPONENT_BITS}..{n.bit_length()}; "
            "the public key is corrupted or forged"
        )


def check_djn_base_with_primes(hs: int, p: int, q: int) -> None:
    """Check, with the factorization, that ``hs`` is a DJN base: what only the key holder can check.

    ``hs`` must be an n-th residue mod n^2 (``hs^((p-1)(q-1)) = 1``), so that it
    decrypts away, and a quadratic non-residue both mod p and mod q (Legendre
    symbol -1), as ``(-x^2)^n`` is for p = q = 3 mod 4 and odd n. The Legendre
    condition refuses 1, every quadratic residue (e.g. ``(x^2)^n``, which
    generates only half the group DJN's analysis needs) and every base of odd
    order mod p or q, so a small odd-order base too. It does not prove the order
    is large: a small even-order element with Legendre symbol -1 mod p and q
    (-1, refused by :func:`check_djn_fields`, or rarer ones such as ``-w`` for a
    cube root of unity w) passes; binding ``hs`` into the fingerprint of the key
    generated here is what excludes those.

    Raises:
        KeyFormatError: Naming the failed condition.
    """
    for name, prime in (("p", p), ("q", q)):
        if gmpy2.legendre(hs % prime, prime) != -1:
            raise KeyFormatError(
                f"DJN base h_s is a quadratic residue (or zero) mod {name}, a DJN base (-x^2)^n is a non-residue: "
                "the key is corrupted or its base was substituted; regenerate the key pair"
            )
    if gmpy2.powmod(hs, (p - 1) * (q - 1), p * p * q * q) != 1:
        raise KeyFormatError("private key's DJN base h_s is not an n-th residue mod n^2: the key is corrupted")


@dataclass(frozen=True)
class KeyPair:
    """A federation's Paillier key pair."""

    public_key: paillier.PaillierPublicKey
    private_key: paillier.PaillierPrivateKey


def generate_keypair(bits: int = DEFAULT_KEY_BITS, djn: bool = True) -> KeyPair:
    """Generate a Paillier key pair with an n of exactly ``bits`` bits.

    With ``djn`` (the default) the key holder also draws ``x``, publishes
    ``h_s = (-x^2)^n mod n^2`` in the public key and forgets ``x``. The key
    holder generates it, not each encryptor, because the base must be one
    value fixed in the registered key: only then is it covered by the key's
    fingerprint (so a base substituted by an aggregator or a man in the middle
    is detected), checkable by the only party who can check it (the key holder
    verifies ``h_s`` is an n-th residue with ``p`` and ``q``), and worth a
    precomputed fixed-base table. An encryptor must never accept a base from
    anyone but the registered key.

    Args:
        bits: Modulus size; 3072 (default) or 2048 for real use. Sizes down to
            1024 are accepted so tests run fast.
        djn: Publish a DJN base (fast obfuscators); False gives a classic key.

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
    if not djn:
        return KeyPair(*paillier.generate_paillier_keypair(n_length=bits))
    p, q = _blum_primes(bits)
    n = p * q
    x = secrets.randbelow(n - 2) + 2
    while math.gcd(x, n) != 1:
        x = secrets.randbelow(n - 2) + 2
    hs = int(gmpy2.powmod(n - x * x % n, n, n * n))
    check_djn_base_with_primes(hs, p, q)  # holds by construction: (-x^2)^n is a non-residue mod p and q
    djn_public = DJNPublicKey(n, hs, djn_exponent_bits(bits))
    return KeyPair(djn_public, paillier.PaillierPrivateKey(djn_public, p, q))


def _blum_prime(bits: int) -> int:
    """A random prime of exactly ``bits`` bits that is 3 mod 4."""
    while True:
        candidate = gmpy2.next_prime(secrets.randbits(bits) | (1 << (bits - 1)))
        while candidate % 4 != 3:
            candidate = gmpy2.next_prime(candidate)
        if candidate.bit_length() == bits:
            return int(candidate)


def _blum_primes(bits: int) -> tuple[int, int]:
    """Distinct primes p, q = 3 mod 4 with ``p*q`` of exactly ``bits`` bits.

    DJN's analysis takes n a Blum integer, so that ``h = -x^2`` generates the
    whole subgroup of Jacobi-symbol-1 units; python-paillier's key generator
    does not restrict its primes, so DJN keys draw their own.
    """
    while True:
        p, q = _blum_prime(bits // 2), _blum_prime(bits - bits // 2)
        if p != q and (p * q).bit_length() == bits:
            return p, q


def classic_keypair(keys: KeyPair) -> KeyPair:
    """The same modulus and primes without the DJN base (version-1 key, ``r^n`` obfuscators).

    Its fingerprint is ``sha256(n)``, so material made under it is not
    accepted under the DJN key and vice versa.
    """
    public_key = paillier.PaillierPublicKey(keys.public_key.n)
    return KeyPair(public_key, paillier.PaillierPrivateKey(public_key, keys.private_key.p, keys.private_key.q))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def key_fingerprint(public_key: paillier.PaillierPublicKey) -> bytes:
    """Return the 32-byte key fingerprint.

    ``sha256(n)`` for a classic key; for a :class:`DJNPublicKey`, the sha256
    of its serialized bytes, which covers ``n``, ``h_s`` and the exponent length.
    """
    if isinstance(public_key, DJNPublicKey):
        return hashlib.sha256(public_key_to_bytes(public_key)).digest()
    return hashlib.sha256(_int_bytes(public_key.n)).digest()


def public_key_to_bytes(public_key: paillier.PaillierPublicKey) -> bytes:
    """Serialize a public key (format version 2 with a DJN base, else version 1); see the module docstring."""
    n_bytes = _int_bytes(public_key.n)
    if not isinstance(public_key, DJNPublicKey):
        return _PUBLIC_MAGIC + struct.pack(">BH", _CLASSIC_VERSION, len(n_bytes)) + n_bytes
    hs_bytes = _int_bytes(public_key.hs)
    return (_PUBLIC_MAGIC + struct.pack(">BH", KEY_FORMAT_VERSION, len(n_bytes)) + n_bytes
            + struct.pack(">HH", public_key.exponent_bits, len(hs_bytes)) + hs_bytes)


def _read_u16(data: bytes, offset: int, what: str) -> tuple[int, int]:
    if len(data) < offset + 2:
        raise KeyFormatError(f"key bytes truncated before {what}; re-export the key")
    return struct.unpack_from(">H", data, offset)[0], offset + 2


def _read_int(data: bytes, offset: int, what: str) -> tuple[int, int]:
    length, offset = _read_u16(data, offset, f"the length of {what}")
    if len(data) < offset + length:
        raise KeyFormatError(
            f"key bytes truncated inside {what}: need {length} bytes, have {len(data) - offset}; "
            "re-export the key"
        )
    return int.from_bytes(data[offset : offset + length], "big"), offset + length


def _check_header(data: bytes, magic: bytes, what: str) -> int:
    if data[:4] != magic:
        raise KeyFormatError(f"not a serialized {what} (magic {data[:4]!r}, expected {magic!r})")
    version = data[4] if len(data) > 4 else None
    if version not in (_CLASSIC_VERSION, KEY_FORMAT_VERSION):
        raise KeyFormatError(
            f"unsupported {what} format version {version}; this build reads versions "
            f"{_CLASSIC_VERSION} and {KEY_FORMAT_VERSION}"
        )
    return version


def _check_modulus(n: int) -> None:
    if n.bit_length() < MIN_KEY_BITS or n % 2 == 0:
        raise KeyFormatError(f"public key modulus of {n.bit_length()} bits is not a valid Paillier n")


def _read_djn_fields(data: bytes, offset: int) -> tuple[int, int, int]:
    exponent_bits, offset = _read_u16(data, offset, "the DJN exponent length")
    hs, offset = _read_int(data, offset, "h_s")
    return exponent_bits, hs, offset


def public_key_from_bytes(data: bytes) -> paillier.PaillierPublicKey:
    """Load a public key written by :func:`public_key_to_bytes` (version 1 or 2).

    Returns:
        A :class:`DJNPublicKey` for version 2, a plain ``phe`` key for version 1.

    Raises:
        KeyFormatError: On a wrong magic or version, truncated bytes, trailing
            bytes, an n that cannot be a Paillier modulus, or a DJN base or
            exponent length that cannot be right (0, >= n^2, not a unit,
            Jacobi symbol -1; see :func:`check_djn_fields`).
    """
    version = _check_header(data, _PUBLIC_MAGIC, "public key")
    n, end = _read_int(data, 5, "n")
    _check_modulus(n)
    if version == KEY_FORMAT_VERSION:
        exponent_bits, hs, end = _read_djn_fields(data, end)
    if end != len(data):
        raise KeyFormatError(f"public key has {len(data) - end} unexpected trailing bytes")
    if version == _CLASSIC_VERSION:
        return paillier.PaillierPublicKey(n)
    return DJNPublicKey(n, hs, exponent_bits)


def private_key_to_bytes(private_key: paillier.PaillierPrivateKey) -> bytes:
    """Serialize a private key to bytes: ``FLSK | version | fingerprint | p | q [| exponent_bits | h_s]``.

    The result is the secret itself: wrap it for its recipient or keep it in
    memory. Nothing here writes it to disk.
    """
    public_key = private_key.public_key
    djn = isinstance(public_key, DJNPublicKey)
    version = KEY_FORMAT_VERSION if djn else _CLASSIC_VERSION
    parts = [_PRIVATE_MAGIC, struct.pack(">B", version), key_fingerprint(public_key)]
    for prime in (private_key.p, private_key.q):
        prime_bytes = _int_bytes(prime)
        parts += [struct.pack(">H", len(prime_bytes)), prime_bytes]
    if djn:
        hs_bytes = _int_bytes(public_key.hs)
        parts += [struct.pack(">HH", public_key.exponent_bits, len(hs_bytes)), hs_bytes]
    return b"".join(parts)


def private_key_from_bytes(data: bytes) -> paillier.PaillierPrivateKey:
    """Load a private key written by :func:`private_key_to_bytes` (version 1 or 2).

    For a version-2 key, the key holder also checks with ``p`` and ``q`` what
    no other party can check (:func:`check_djn_base_with_primes`): ``h_s`` is
    an n-th residue and a quadratic non-residue mod p and mod q.

    Raises:
        KeyFormatError: On a wrong magic or version, truncated or trailing
            bytes, primes whose product does not match the recorded
            fingerprint, or an ``h_s`` that is not an n-th residue or is a
            quadratic residue mod p or q.
    """
    version = _check_header(data, _PRIVATE_MAGIC, "private key")
    if len(data) < 5 + 32:
        raise KeyFormatError("private key bytes truncated inside the key fingerprint")
    fingerprint = data[5:37]
    p, offset = _read_int(data, 37, "p")
    q, offset = _read_int(data, offset, "q")
    if version == KEY_FORMAT_VERSION:
        exponent_bits, hs, offset = _read_djn_fields(data, offset)
    if offset != len(data):
        raise KeyFormatError(f"private key has {len(data) - offset} unexpected trailing bytes")
    if p < 3 or q < 3 or p == q:
        raise KeyFormatError("private key primes are invalid (p and q must be distinct odd primes)")
    n = p * q
    _check_modulus(n)
    public_key = paillier.PaillierPublicKey(n) if version == _CLASSIC_VERSION else DJNPublicKey(n, hs, exponent_bits)
    if key_fingerprint(public_key) != fingerprint:
        raise KeyFormatError(
            f"private key fields give fingerprint {key_fingerprint(public_key).hex()[:16]}…, "
            f"the key records {fingerprint.hex()[:16]}…: the key bytes are corrupted"
        )
    if version == KEY_FORMAT_VERSION:
        check_djn_base_with_primes(hs, p, q)
    return paillier.PaillierPrivateKey(public_key, p, q)
