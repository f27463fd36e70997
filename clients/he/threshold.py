"""Threshold Paillier with a trusted dealer: any t of n custodians decrypt, fewer learn nothing.

The scheme is Shoup's threshold RSA (V. Shoup, "Practical Threshold
Signatures", EUROCRYPT 2000) carried over to Paillier by Damgård and Jurik
(I. Damgård, M. Jurik, "A Generalisation, a Simplification and Some
Applications of Paillier's Probabilistic Public-Key System", PKC 2001,
section 4, with s = 1). Ciphertexts are ordinary Paillier ciphertexts under a
public key with ``g = N + 1``: :func:`~clients.he.encryption.encrypt_update`,
aggregation and the public-key format are used unchanged.

Key ceremony (:func:`deal`, a trusted dealer). Safe primes ``p = 2p' + 1`` and
``q = 2q' + 1`` (so ``p = q = 3 mod 4``, the Blum modulus the DJN obfuscators
need), ``N = pq``, ``m = p'q'``. The decryption exponent ``d`` is ``0 mod m``
and ``1 mod N``; custodian ``i`` gets ``s_i = f(i)`` for a random polynomial
``f`` of degree ``t - 1`` over ``Z_{Nm}`` with ``f(0) = d``. With ``Δ = n!``,
the verification keys are ``v_i = v^(Δ s_i) mod N^2`` for a random square
``v`` that generates the squares (checked with the factors). The dealer also
draws the DJN base ``h_s = (-x^2)^N mod N^2`` and checks it with the factors
(:func:`~clients.he.keys.check_djn_base_with_primes`), so the threshold key is
a :class:`~clients.he.keys.DJNPublicKey` with fast obfuscators. ``p``, ``q``,
``m``, ``d`` and ``x`` are in no returned object.

Partial decryption (:func:`partial_decrypt`). Custodian ``i`` publishes
``c_i = c^(2 Δ s_i) mod N^2`` for every ciphertext ``c`` of the aggregate,
with one non-interactive Chaum–Pedersen proof (Fiat–Shamir, SHA-256) for the
whole batch: exponents ``ρ_k`` derived from the hash of everything public
(the threshold key, the custodian, every ciphertext and every partial value)
fold the batch into ``C = Π c_k^ρ_k`` and ``C_i = Π c_{i,k}^ρ_k``, and the
proof shows ``log_{C^4}(C_i^2) = log_v(v_i)``. A wrong value slips through
only if the random combination cancels its error, which has probability
about ``2^-128``: every element of the group of squares mod ``N^2`` other
than 1 has an order whose prime factors are ``p, q, p', q'``, all far above
the 128-bit ``ρ_k``.

Combination (:func:`combine`). From any ``t`` verified partials,
``λ_i = Δ Π_{j≠i} j / (j - i)`` (integers), ``w = Π c_i^(2 λ_i) = c^(4 Δ^2 d)``
and ``M = L(w) (4 Δ^2)^-1 mod N`` with ``L(u) = (u - 1) / N``. A partial that
fails verification is named and skipped; fewer than ``t`` valid ones raise
:class:`InsufficientPartialsError`. Only the squares ``c_i^2`` are proven and
only they are used (Shoup's design): a custodian that publishes ``-c_i``
instead proves it just as well and it combines to the same plaintext, while a
value changed by anyone else changes the transcript hash and fails the proof.

Aggregates. :func:`partial_decrypt_aggregate` is the custodian's entry point:
anyone holding ``t`` partials can combine them, so the custodians, not the
combiner, are the ones that must refuse an aggregate of too few participants.
:func:`threshold_decrypt_aggregate` returns what the single-key
:func:`~clients.he.decryption.decrypt_aggregate` returns, after the same
unpack and range checks.

Trust and limits. The dealer sees every share and the factorization; it must
erase them once the shares are sealed to their custodians (the caller's job;
Python cannot zeroize integers, it can only drop its references, as this
module does). Sizes below 2048 bits are for tests only; the public-key format
reads moduli of 1024 bits and more (:data:`~clients.he.keys.MIN_KEY_BITS`).
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Sequence

import gmpy2
import numpy as np
from phe import paillier

from clients.he.decryption import check_before_decryption, slot_sums_from_plaintexts
from clients.he.encoding import dequantize
from clients.he.errors import (
    HEError,
    InvalidParametersError,
    KeyFormatError,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
)
from clients.he.keys import (
    DJNPublicKey,
    check_djn_base_with_primes,
    djn_exponent_bits,
    public_key_from_bytes,
    public_key_to_bytes,
)
from clients.he.parallel import run_chunked
from clients.he.serialization import EncryptedAggregate, check_ciphertexts, ciphertext_width

MAX_CUSTODIANS = 64
"""Most custodians a key may be shared among (``Δ = n!`` grows every partial's exponent)."""

DEAL_MIN_BITS = 512
"""Smallest modulus :func:`deal` makes (the DJN exponent needs ``|N| / 2 >= 256``); below 2048 is for tests only."""

CHALLENGE_BITS = 128
"""Length of the Fiat–Shamir challenge and of the batch exponents ``ρ_k`` (Shoup's L1)."""

HIDING_BITS = 128
"""Extra bits of the proof's random exponent: ``z = r + e Δ s_i`` hides ``s_i`` statistically to 2^-128."""

_DOMAIN = b"FLEP threshold Paillier: batched Chaum-Pedersen proof of partial decryption, v1"
_SIEVE_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, math.isqrt(p) + 1))]
_SIEVE_PRODUCT = gmpy2.mpz(math.prod(_SIEVE_PRIMES))
_SAFE_PRIME_STEPS = 50_000
_MR_ROUNDS = 40

_KEY_MAGIC = b"FLTK"
_SHARE_MAGIC = b"FLKS"
_PARTIAL_MAGIC = b"FLPD"
_FORMAT_VERSION = 1
_KEY_HEADER = struct.Struct(">4sBBBH")  # magic, version, n_custodians, threshold, len(public key bytes)
_SHARE_HEADER = struct.Struct(">4sB32sHH")  # magic, version, threshold key fingerprint, index, len(s_i)
# magic, version, threshold key fingerprint, index, value count, value width, challenge, len(response)
_PARTIAL_HEADER = struct.Struct(">4sB32sHIH16sH")


class ThresholdError(HEError):
    """Base class of the threshold-decryption errors."""


class InvalidPartialError(ThresholdError):
    """A partial decryption that is malformed, for other ciphertexts or another key, or fails its proof."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


class InsufficientPartialsError(ThresholdError):
    """Fewer valid partial decryptions than the threshold: the ciphertexts cannot be decrypted.

    Attributes:
        rejected: The partials that were skipped, each with its custodian and reason.
    """

    def __init__(self, message: str, rejected: tuple[RejectedPartial, ...]) -> None:
        super().__init__(message)
        self.rejected = rejected


class PartialFormatError(ThresholdError, SerializationError):
    """Partial-decryption bytes that are truncated, of a wrong kind or version, or out of bounds."""


@dataclass(frozen=True)
class ThresholdParams:
    """How a key is shared: ``threshold`` of ``n_custodians`` decrypt.

    Raises:
        InvalidParametersError: On construction, unless ``1 <= threshold <= n_custodians <= MAX_CUSTODIANS``.
    """

    n_custodians: int
    threshold: int

    def __post_init__(self) -> None:
        for name in ("n_custodians", "threshold"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidParametersError(f"{name} must be an int, got {type(value).__name__}")
        if not 1 <= self.threshold <= self.n_custodians <= MAX_CUSTODIANS:
            raise InvalidParametersError(
                f"threshold {self.threshold} of {self.n_custodians} custodians: need "
                f"1 <= threshold <= n_custodians <= {MAX_CUSTODIANS}"
            )

    @property
    def delta(self) -> int:
        """``Δ = n_custodians!``: it clears the denominators of every Lagrange coefficient."""
        return math.factorial(self.n_custodians)


@dataclass(frozen=True)
class ThresholdPublicKey:
    """Everything public about a shared key.

    Attributes:
        public_key: The Paillier key encryptors use (a :class:`DJNPublicKey` from :func:`deal`), ``g = N + 1``.
        params: Threshold and number of custodians.
        verification_base: ``v``, a square generating the squares mod ``N^2``.
        verification_keys: ``v_i = v^(Δ s_i) mod N^2`` for custodians ``1..n`` (``[0]`` is custodian 1).

    Raises:
        KeyFormatError: On construction, if a field cannot be right (``g != N + 1``,
            ``v`` or a ``v_i`` not a unit with Jacobi symbol +1, a wrong count of ``v_i``).
    """

    public_key: paillier.PaillierPublicKey
    params: ThresholdParams
    verification_base: int = field(repr=False)
    verification_keys: tuple[int, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, paillier.PaillierPublicKey):
            raise KeyFormatError(f"threshold key needs a Paillier public key, got {type(self.public_key).__name__}")
        n = self.public_key.n
        if self.public_key.g != n + 1 or n % 2 == 0 or math.gcd(n, self.params.delta) != 1:
            raise KeyFormatError("threshold key's Paillier key must have an odd N, g = N + 1 and no factor <= n!")
        if len(self.verification_keys) != self.params.n_custodians:
            raise KeyFormatError(
                f"threshold key has {len(self.verification_keys)} verification keys for "
                f"{self.params.n_custodians} custodians; the key is corrupted"
            )
        _check_square_unit(self.verification_base, n, "verification base v")
        for index, key in enumerate(self.verification_keys, start=1):
            _check_square_unit(key, n, f"verification key of custodian {index}")

    @property
    def n(self) -> int:
        """The modulus ``N``."""
        return self.public_key.n

    @property
    def delta(self) -> int:
        """``Δ = n_custodians!``."""
        return self.params.delta

    def verification_key(self, index: int) -> int:
        """``v_i`` of custodian ``index`` (1-based)."""
        return self.verification_keys[index - 1]

    @cached_property
    def fingerprint(self) -> bytes:
        """sha256 of :meth:`to_bytes`: covers N, h_s, v, every v_i and the threshold."""
        return hashlib.sha256(self.to_bytes()).digest()

    def to_bytes(self) -> bytes:
        """Serialize (big-endian)::

            FLTK | version u8 (1) | n_custodians u8 | threshold u8 | len(pk) u16 | pk (FLPK public key bytes)
            | width u16 | v | v_1 .. v_n   (each value width = bytes of N^2)
        """
        public = public_key_to_bytes(self.public_key)
        width = ciphertext_width(self.public_key)
        values = (self.verification_base, *self.verification_keys)
        return (_KEY_HEADER.pack(_KEY_MAGIC, _FORMAT_VERSION, self.params.n_custodians, self.params.threshold,
                                 len(public))
                + public + struct.pack(">H", width) + b"".join(_fixed(value, width) for value in values))

    @classmethod
    def from_bytes(cls, data: bytes) -> ThresholdPublicKey:
        """Parse and validate bytes of :meth:`to_bytes`; the length is checked before any value is converted.

        Raises:
            KeyFormatError: Truncated or trailing bytes, a wrong magic or version, invalid
                threshold parameters, an invalid embedded public key, or an invalid value.
        """
        if len(data) < _KEY_HEADER.size:
            raise KeyFormatError(f"threshold key bytes truncated: {len(data)} bytes, the header is {_KEY_HEADER.size}")
        magic, version, n_custodians, threshold, public_length = _KEY_HEADER.unpack_from(data)
        if magic != _KEY_MAGIC:
            raise KeyFormatError(f"not a serialized threshold key (magic {magic!r}, expected {_KEY_MAGIC!r})")
        if version != _FORMAT_VERSION:
            raise KeyFormatError(f"unsupported threshold key format version {version}; this build reads version 1")
        try:
            params = ThresholdParams(n_custodians, threshold)
        except InvalidParametersError as exc:
            raise KeyFormatError(f"threshold key holds invalid parameters: {exc}") from exc
        offset = _KEY_HEADER.size
        if len(data) < offset + public_length + 2:
            raise KeyFormatError("threshold key bytes truncated inside its Paillier public key; re-export the key")
        public_key = public_key_from_bytes(bytes(data[offset : offset + public_length]))
        offset += public_length
        (width,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if width != ciphertext_width(public_key):
            raise KeyFormatError(f"threshold key value width {width} is not the {ciphertext_width(public_key)} "
                                 "bytes of N^2; the key is corrupted")
        expected = offset + (n_custodians + 1) * width
        if len(data) != expected:
            raise KeyFormatError(f"threshold key bytes have {len(data)} bytes, its header implies {expected}; "
                                 "re-export the key")
        values = [int.from_bytes(data[offset + k * width : offset + (k + 1) * width], "big")
                  for k in range(n_custodians + 1)]
        return cls(public_key, params, values[0], tuple(values[1:]))


@dataclass(frozen=True)
class KeyShare:
    """Custodian ``index``'s secret share ``s_i`` of the decryption exponent (left out of ``repr``)."""

    index: int
    value: int = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.index, int) or isinstance(self.index, bool) or self.index < 1:
            raise InvalidParametersError(f"key share index must be an int >= 1, got {self.index!r}")
        if not isinstance(self.value, int) or self.value < 0:
            raise InvalidParametersError(f"key share of custodian {self.index} must be a non-negative int")

    def to_bytes(self, public: ThresholdPublicKey) -> bytes:
        """Serialize, bound to ``public``: ``FLKS | version u8 | key fingerprint 32 | index u16 | len u16 | s_i``.

        These are secret bytes: seal them to the custodian, never store them in the clear.

        Raises:
            KeyMismatchError: If the share does not match ``public``'s verification key.
        """
        _check_share(self, public)
        value = _int_bytes(self.value)
        return _SHARE_HEADER.pack(_SHARE_MAGIC, _FORMAT_VERSION, public.fingerprint, self.index, len(value)) + value

    @classmethod
    def from_bytes(cls, data: bytes, public: ThresholdPublicKey) -> KeyShare:
        """Parse a share of ``public`` and check it against its verification key.

        Raises:
            KeyFormatError: Truncated or trailing bytes, a wrong magic or version, an
                index outside ``1..n``, or a value that does not match ``v_i``.
            KeyMismatchError: A share of another threshold key.
        """
        if len(data) < _SHARE_HEADER.size:
            raise KeyFormatError(f"key share bytes truncated: {len(data)} bytes, the header is {_SHARE_HEADER.size}")
        magic, version, fingerprint, index, length = _SHARE_HEADER.unpack_from(data)
        if magic != _SHARE_MAGIC:
            raise KeyFormatError(f"not a serialized key share (magic {magic!r}, expected {_SHARE_MAGIC!r})")
        if version != _FORMAT_VERSION:
            raise KeyFormatError(f"unsupported key share format version {version}; this build reads version 1")
        if fingerprint != public.fingerprint:
            raise KeyMismatchError(f"key share is for threshold key {fingerprint.hex()[:16]}…, not "
                                   f"{public.fingerprint.hex()[:16]}…: use the share of this key")
        if not 1 <= index <= public.params.n_custodians:
            raise KeyFormatError(f"key share index {index} is outside 1..{public.params.n_custodians}")
        if length > ciphertext_width(public.public_key) or len(data) != _SHARE_HEADER.size + length:
            raise KeyFormatError(f"key share of custodian {index} has {len(data)} bytes, its header implies "
                                 f"{_SHARE_HEADER.size + length}; the share is corrupted")
        share = cls(index, int.from_bytes(data[_SHARE_HEADER.size :], "big"))
        try:
            _check_share(share, public)
        except KeyMismatchError as exc:
            raise KeyFormatError(str(exc)) from exc
        return share


@dataclass(frozen=True)
class Dealing:
    """What the dealer hands out: the public key material and one share per custodian (left out of ``repr``)."""

    public: ThresholdPublicKey
    shares: tuple[KeyShare, ...] = field(repr=False)


@dataclass(frozen=True)
class EqualityProof:
    """Fiat–Shamir Chaum–Pedersen proof ``(e, z)``: the verifier recomputes the commitments from them."""

    challenge: int
    response: int

    def __post_init__(self) -> None:
        if not 0 <= self.challenge < 1 << CHALLENGE_BITS or self.response < 0:
            raise InvalidParametersError(f"a proof's challenge must lie in [0, 2^{CHALLENGE_BITS}) and its response "
                                         "be non-negative")


@dataclass(frozen=True)
class PartialDecryption:
    """Custodian ``index``'s partial decryption of a batch of ciphertexts.

    Attributes:
        key_fingerprint: :attr:`ThresholdPublicKey.fingerprint` of the key it is under.
        index: The custodian (1-based).
        values: ``c_k^(2 Δ s_i) mod N^2`` per ciphertext, in order (left out of ``repr``).
        proof: One proof for the whole batch.
    """

    key_fingerprint: bytes
    index: int
    values: tuple[int, ...] = field(repr=False)
    proof: EqualityProof = field(repr=False)

    def to_bytes(self, public: ThresholdPublicKey) -> bytes:
        """Serialize (big-endian)::

            FLPD | version u8 (1) | threshold key fingerprint 32 | index u16 | count u32 | width u16
            | challenge 16 bytes | len(response) u16 | response | count values of width bytes (of N^2)

        Raises:
            KeyMismatchError: If the partial is not under ``public``.
        """
        if self.key_fingerprint != public.fingerprint:
            raise KeyMismatchError(f"partial decryption of custodian {self.index} is under threshold key "
                                   f"{self.key_fingerprint.hex()[:16]}…, not {public.fingerprint.hex()[:16]}…")
        width = ciphertext_width(public.public_key)
        response = _int_bytes(self.proof.response)
        header = _PARTIAL_HEADER.pack(_PARTIAL_MAGIC, _FORMAT_VERSION, self.key_fingerprint, self.index,
                                      len(self.values), width, _fixed(self.proof.challenge, 16), len(response))
        return header + response + b"".join(_fixed(value, width) for value in self.values)

    @classmethod
    def from_bytes(cls, data: bytes, public: ThresholdPublicKey, expected_count: int | None = None
                   ) -> PartialDecryption:
        """Parse hostile bytes: every header field and the exact length are checked before the values are read.

        Args:
            data: Bytes of :meth:`to_bytes`.
            public: The threshold key the partial must be under.
            expected_count: The number of ciphertexts it must cover (the aggregate's), if known.

        Raises:
            PartialFormatError: Truncated or trailing bytes, a wrong magic or version, an index,
                count, width or response length out of bounds, or a value outside ``(0, N^2)``.
            KeyMismatchError: A partial under another threshold key.
        """
        if len(data) < _PARTIAL_HEADER.size:
            raise PartialFormatError(f"partial decryption bytes truncated: {len(data)} bytes, the header is "
                                     f"{_PARTIAL_HEADER.size}")
        magic, version, fingerprint, index, count, width, challenge, response_length = (
            _PARTIAL_HEADER.unpack_from(data))
        if magic != _PARTIAL_MAGIC:
            raise PartialFormatError(f"not a serialized partial decryption (magic {magic!r}, "
                                     f"expected {_PARTIAL_MAGIC!r})")
        if version != _FORMAT_VERSION:
            raise PartialFormatError(f"unsupported partial decryption format version {version}; this build reads 1")
        if fingerprint != public.fingerprint:
            raise KeyMismatchError(f"partial decryption is under threshold key {fingerprint.hex()[:16]}…, not "
                                   f"{public.fingerprint.hex()[:16]}…: ask the custodian for one under this key")
        what = f"partial decryption of custodian {index}"
        if not 1 <= index <= public.params.n_custodians:
            raise PartialFormatError(f"partial decryption names custodian {index}, outside "
                                     f"1..{public.params.n_custodians}")
        if width != ciphertext_width(public.public_key):
            raise PartialFormatError(f"{what} has values of {width} bytes, N^2 has "
                                     f"{ciphertext_width(public.public_key)}")
        if count < 1 or (expected_count is not None and count != expected_count):
            expected = "at least 1" if expected_count is None else str(expected_count)
            raise PartialFormatError(f"{what} holds {count} values, expected {expected}: it is for other ciphertexts")
        if response_length > _response_bytes(public):
            raise PartialFormatError(f"{what} has a {response_length}-byte proof response, the most possible is "
                                     f"{_response_bytes(public)}")
        offset = _PARTIAL_HEADER.size + response_length
        expected_length = offset + count * width
        if len(data) != expected_length:
            state = "truncated" if len(data) < expected_length else "followed by trailing bytes"
            raise PartialFormatError(f"{what} is {state}: {len(data)} bytes, its header implies {expected_length}; "
                                     "fetch it again")
        response = int.from_bytes(data[_PARTIAL_HEADER.size : offset], "big")
        nsquare = public.n * public.n
        values = []
        for k in range(count):
            value = int.from_bytes(data[offset + k * width : offset + (k + 1) * width], "big")
            if not 0 < value < nsquare:
                raise PartialFormatError(f"value {k} of {what} is outside (0, N^2); the partial is corrupted")
            values.append(value)
        return cls(fingerprint, index, tuple(values), EqualityProof(int.from_bytes(challenge, "big"), response))


@dataclass(frozen=True)
class RejectedPartial:
    """A partial decryption :func:`combine` skipped, and why."""

    index: int
    reason: str


@dataclass(frozen=True)
class Combination:
    """The result of :func:`combine`.

    Attributes:
        plaintexts: One plaintext in ``[0, N)`` per ciphertext, in order (left out of ``repr``).
        used: The ``t`` custodians whose partials were combined, ascending.
        rejected: The partials that were skipped, with their reasons.
    """

    plaintexts: tuple[int, ...] = field(repr=False)
    used: tuple[int, ...]
    rejected: tuple[RejectedPartial, ...]


def deal(bits: int, params: ThresholdParams, rng: random.Random | None = None) -> Dealing:
    """Run the key ceremony as a trusted dealer: a fresh key shared ``t`` of ``n``.

    Args:
        bits: Modulus size (a multiple of 8, at least ``DEAL_MIN_BITS``; 2048 or 3072 for real use).
        params: Threshold and number of custodians.
        rng: A seeded ``random.Random`` for reproducible tests only; default the OS CSPRNG (``secrets``).

    Returns:
        The public key material and the ``n`` shares; nothing else (no factor, ``m`` or ``d``).

    Raises:
        InvalidParametersError: If ``bits`` is not a multiple of 8 or below ``DEAL_MIN_BITS``.
    """
    if not isinstance(params, ThresholdParams):
        raise InvalidParametersError(f"params must be ThresholdParams, got {type(params).__name__}")
    if bits < DEAL_MIN_BITS or bits % 8:
        raise InvalidParametersError(
            f"threshold key size must be a multiple of 8 and at least {DEAL_MIN_BITS} bits "
            f"(use 3072 for 128-bit security), got {bits}"
        )
    p = _safe_prime(bits // 2, rng)
    q = _safe_prime(bits // 2, rng)
    while q == p:
        q = _safe_prime(bits // 2, rng)
    dealing = _deal_from_primes(p, q, params, rng)
    del p, q
    return dealing


def _deal_from_primes(p: int, q: int, params: ThresholdParams, rng: random.Random | None) -> Dealing:
    """The ceremony for given safe primes (tests call it to compare with a single-key decryption)."""
    n = gmpy2.mpz(p) * q
    nsquare = n * n
    p_prime, q_prime = (p - 1) // 2, (q - 1) // 2
    m = gmpy2.mpz(p_prime) * q_prime
    order = n * m  # order of the group of squares mod N^2 (cyclic: Z_p x Z_q x Z_p' x Z_q')
    d = m * gmpy2.invert(m, n)  # 0 mod m, 1 mod N
    coefficients = [d] + [gmpy2.mpz(_randbelow(rng, int(order))) for _ in range(params.threshold - 1)]
    values = []
    for index in range(1, params.n_custodians + 1):
        value = gmpy2.mpz(0)
        for coefficient in reversed(coefficients):
            value = (value * index + coefficient) % order
        values.append(value)
    v = _square_generator(n, order, (p, q, p_prime, q_prime), rng)
    delta = params.delta
    verification_keys = tuple(int(gmpy2.powmod(v, delta * value % order, nsquare)) for value in values)
    x = _random_unit(n, rng)
    hs = gmpy2.powmod(n - x * x % n, n, nsquare)
    check_djn_base_with_primes(int(hs), p, q)  # holds by construction: p = q = 3 mod 4, N odd
    public_key = DJNPublicKey(int(n), int(hs), djn_exponent_bits(n.bit_length()))
    public = ThresholdPublicKey(public_key, params, int(v), verification_keys)
    shares = tuple(KeyShare(index, int(value)) for index, value in enumerate(values, start=1))
    del m, order, d, coefficients, values, x, p_prime, q_prime
    return Dealing(public, shares)


def partial_decrypt(share: KeyShare, public: ThresholdPublicKey, ciphertexts: Sequence[int],
                    workers: int | None = None) -> PartialDecryption:
    """Custodian's partial decryption of a batch, with one proof for the whole batch.

    Args:
        share: This custodian's key share.
        public: The threshold key.
        ciphertexts: Raw Paillier ciphertexts under ``public.public_key`` (e.g. an aggregate's).
        workers: Worker processes for the exponentiations; default one per core, 1 for in-process.

    Returns:
        The values ``c^(2 Δ s_i) mod N^2`` and their proof.

    Raises:
        KeyMismatchError: If ``share`` does not match its verification key in ``public``.
        InvalidParametersError: If ``ciphertexts`` is empty.
        MalformedCiphertextError: If a ciphertext is not a unit mod ``N^2``.
    """
    _check_share(share, public)
    batch = _check_batch(public, ciphertexts)
    nsquare = public.n * public.n
    exponent = 2 * public.delta * share.value
    values = tuple(run_chunked(_powers, (exponent, nsquare), batch, workers))
    seed = _batch_seed(public, share.index, batch, values)
    base, target = _folded(public, seed, batch, values)
    secret = public.delta * share.value
    nonce = secrets.randbits(_nonce_bits(public))
    v = public.verification_base
    challenge = _challenge(public, seed, base, target, gmpy2.powmod(v, nonce, nsquare),
                           gmpy2.powmod(base, nonce, nsquare))
    proof = EqualityProof(challenge, nonce + challenge * secret)
    return PartialDecryption(public.fingerprint, share.index, values, proof)


def verify_partial(public: ThresholdPublicKey, ciphertexts: Sequence[int], partial: PartialDecryption) -> None:
    """Check a partial decryption of ``ciphertexts`` and its proof (anyone can: public data only).

    Raises:
        InvalidPartialError: Naming the custodian and what failed (another key, an index
            outside ``1..n``, a wrong number of values, a value not a unit, or the proof).
        InvalidParametersError, MalformedCiphertextError: If ``ciphertexts`` themselves are invalid.
    """
    _verify(public, _check_batch(public, ciphertexts), partial)


def combine(public: ThresholdPublicKey, ciphertexts: Sequence[int],
            partials: Sequence[PartialDecryption]) -> Combination:
    """Decrypt ``ciphertexts`` from the partials of any ``t`` custodians.

    Every partial is verified; one that fails is named in ``rejected`` and skipped, as
    is a second partial of a custodian already counted. The ``t`` valid partials of
    the lowest custodian indices are combined.

    Returns:
        The plaintexts, the custodians used and the rejected partials.

    Raises:
        InsufficientPartialsError: Fewer than ``t`` valid partials (its ``rejected`` names the others).
        InvalidParametersError, MalformedCiphertextError: If ``ciphertexts`` themselves are invalid.
    """
    batch = _check_batch(public, ciphertexts)
    valid: dict[int, PartialDecryption] = {}
    rejected: list[RejectedPartial] = []
    for partial in partials:
        if partial.index in valid:
            rejected.append(RejectedPartial(partial.index, f"custodian {partial.index} has a second partial "
                                            "decryption; the first valid one is used, this one is skipped"))
            continue
        try:
            _verify(public, batch, partial)
        except InvalidPartialError as exc:
            rejected.append(RejectedPartial(exc.index, f"{exc}; it is skipped"))
            continue
        valid[partial.index] = partial
    threshold = public.params.threshold
    if len(valid) < threshold:
        reasons = "".join(f"; {item.reason}" for item in rejected)
        raise InsufficientPartialsError(
            f"only {len(valid)} valid partial decryption{'s' if len(valid) != 1 else ''} of the {threshold} "
            f"required (threshold {threshold} of {public.params.n_custodians}){reasons}; "
            "ask more custodians for partial decryptions of these ciphertexts",
            tuple(rejected),
        )
    used = tuple(sorted(valid)[:threshold])
    plaintexts = _interpolate(public, [valid[index] for index in used], len(batch))
    return Combination(tuple(plaintexts), used, tuple(rejected))


def partial_decrypt_aggregate(share: KeyShare, public: ThresholdPublicKey, aggregate: EncryptedAggregate,
                              min_participants: int = 1, workers: int | None = None) -> PartialDecryption:
    """Custodian side: refuse an aggregate of too few participants, else partially decrypt it.

    The custodians are where the minimum is enforced: whoever gathers ``t`` partials decrypts.

    Raises:
        InvalidParametersError: If ``min_participants`` is below 1.
        KeyMismatchError: If the aggregate is under another key, or ``share`` does not match ``public``.
        TooFewParticipantsError: If ``aggregate.client_count < min_participants``.
    """
    check_before_decryption(public.public_key, aggregate, min_participants)
    return partial_decrypt(share, public, aggregate.ciphertexts, workers)


def threshold_slot_sums(public: ThresholdPublicKey, aggregate: EncryptedAggregate,
                        partials: Sequence[PartialDecryption], min_participants: int = 1,
                        on_combined: Callable[[Combination], None] | None = None) -> np.ndarray:
    """Combine partials of an aggregate into its integer slot sums, as :func:`decrypt_slot_sums` returns them.

    Args:
        public: The threshold key.
        aggregate: The encrypted aggregate.
        partials: Partial decryptions of ``aggregate.ciphertexts`` from at least ``t`` custodians.
        min_participants: Fewest updates the aggregate must sum; checked before combining.
        on_combined: Called with the combination (which custodians were used, which skipped and why), before the
            sums are checked.

    Returns:
        uint64 vector of length ``aggregate.num_values``.

    Raises:
        InvalidParametersError, KeyMismatchError, TooFewParticipantsError: As :func:`decrypt_slot_sums`.
        InsufficientPartialsError: Fewer than ``t`` valid partials.
        SlotOverflowError, SlotSumOutOfRangeError: As :func:`decrypt_slot_sums` (forged input).
    """
    check_before_decryption(public.public_key, aggregate, min_participants)
    combination = combine(public, aggregate.ciphertexts, partials)
    if on_combined is not None:
        on_combined(combination)
    return slot_sums_from_plaintexts(list(combination.plaintexts), aggregate)


def threshold_decrypt_aggregate(public: ThresholdPublicKey, aggregate: EncryptedAggregate,
                                partials: Sequence[PartialDecryption], min_participants: int = 1,
                                on_combined: Callable[[Combination], None] | None = None) -> np.ndarray:
    """Combine partials of an aggregate into the weighted-mean float64 vector, as :func:`decrypt_aggregate` does.

    Raises:
        See :func:`threshold_slot_sums`.
    """
    sums = threshold_slot_sums(public, aggregate, partials, min_participants, on_combined)
    return dequantize(sums, aggregate.weights_total, aggregate.layout)


def _verify(public: ThresholdPublicKey, batch: list[gmpy2.mpz], partial: PartialDecryption) -> None:
    index = partial.index
    what = f"partial decryption of custodian {index}"
    if partial.key_fingerprint != public.fingerprint:
        raise InvalidPartialError(index, f"{what} is under threshold key {partial.key_fingerprint.hex()[:16]}…, "
                                         f"not {public.fingerprint.hex()[:16]}…")
    if not isinstance(index, int) or not 1 <= index <= public.params.n_custodians:
        raise InvalidPartialError(index, f"{what} names a custodian outside 1..{public.params.n_custodians}")
    if len(partial.values) != len(batch):
        raise InvalidPartialError(index, f"{what} holds {len(partial.values)} values for {len(batch)} "
                                         "ciphertexts: it is for other ciphertexts")
    n = gmpy2.mpz(public.n)
    nsquare = n * n
    product = gmpy2.mpz(1)
    for value in partial.values:
        if not 0 < value < nsquare:
            raise InvalidPartialError(index, f"{what} holds a value outside (0, N^2)")
        product = product * value % n
    if gmpy2.gcd(product, n) != 1:
        raise InvalidPartialError(index, f"{what} holds a value that is not a unit mod N^2")
    proof = partial.proof
    if not (0 <= proof.challenge < 1 << CHALLENGE_BITS and 0 <= proof.response < 1 << (_nonce_bits(public) + 1)):
        raise InvalidPartialError(index, f"{what} has a proof out of range")
    seed = _batch_seed(public, index, batch, partial.values)
    base, target = _folded(public, seed, batch, partial.values)
    v = public.verification_base
    v_i = public.verification_key(index)
    # v^z = a * v_i^e and base^z = b * target^e for the commitments a, b the prover hashed.
    commitment_v = gmpy2.powmod(v, proof.response, nsquare) * gmpy2.powmod(v_i, -proof.challenge, nsquare) % nsquare
    commitment_c = (gmpy2.powmod(base, proof.response, nsquare) * gmpy2.powmod(target, -proof.challenge, nsquare)
                    % nsquare)
    if _challenge(public, seed, base, target, commitment_v, commitment_c) != proof.challenge:
        raise InvalidPartialError(
            index, f"{what} fails its proof: its values are not the ciphertexts raised to custodian {index}'s "
                   "key share (tampered, computed with another share, or made for other ciphertexts)")


def _interpolate(public: ThresholdPublicKey, partials: list[PartialDecryption], count: int) -> list[int]:
    """``M_k = L(Π c_{i,k}^(2 λ_i)) (4 Δ^2)^-1 mod N`` over the given (verified) partials."""
    n = gmpy2.mpz(public.n)
    nsquare = n * n
    delta = public.delta
    lambdas = _lagrange_at_zero(delta, [partial.index for partial in partials])
    scale = gmpy2.invert(4 * delta * delta, n)
    out = []
    for k in range(count):
        w = gmpy2.mpz(1)
        for partial in partials:
            w = w * gmpy2.powmod(partial.values[k], 2 * lambdas[partial.index], nsquare) % nsquare
        if (w - 1) % n:
            raise ThresholdError(f"combined value {k} is not 1 mod N: the partials or the key are inconsistent; "
                                 "check the threshold key against the registered one")
        out.append(int((w - 1) // n * scale % n))
    return out


def _lagrange_at_zero(delta: int, indices: list[int]) -> dict[int, int]:
    """``Δ λ_{0,i}`` for the set ``indices``: integers, as ``Δ = n!`` clears every denominator."""
    out = {}
    for i in indices:
        numerator, denominator = delta, 1
        for j in indices:
            if j != i:
                numerator *= j
                denominator *= j - i
        out[i] = numerator // denominator
    return out


def _batch_seed(public: ThresholdPublicKey, index: int, batch: Sequence[int], values: Sequence[int]) -> bytes:
    """SHA-256 of everything public about one partial: key, custodian, ciphertexts and values."""
    width = ciphertext_width(public.public_key)
    digest = hashlib.sha256(_DOMAIN)
    digest.update(public.fingerprint)
    digest.update(struct.pack(">HI", index, len(batch)))
    for value in batch:
        digest.update(_fixed(value, width))
    for value in values:
        digest.update(_fixed(value, width))
    return digest.digest()


def _folded(public: ThresholdPublicKey, seed: bytes, batch: Sequence[int], values: Sequence[int]
            ) -> tuple[gmpy2.mpz, gmpy2.mpz]:
    """``(C^4, C_i^2)`` for ``C = Π c_k^ρ_k``, ``C_i = Π c_{i,k}^ρ_k`` with ``ρ_k`` derived from ``seed``.

    The squarings put both into the group of squares, where the proof is sound; the
    extra factor 2 of ``C^4`` matches the 2 in ``c_i = c^(2 Δ s_i)``.
    """
    nsquare = gmpy2.mpz(public.n) ** 2
    rhos = [int.from_bytes(hashlib.sha256(seed + b"rho" + struct.pack(">I", k)).digest()[: CHALLENGE_BITS // 8],
                           "big")
            for k in range(len(batch))]
    c_fold = _multi_power(batch, rhos, nsquare)
    v_fold = _multi_power(values, rhos, nsquare)
    return gmpy2.powmod(c_fold, 4, nsquare), gmpy2.powmod(v_fold, 2, nsquare)


def _multi_power(bases: Sequence[int], exponents: Sequence[int], modulus: gmpy2.mpz) -> gmpy2.mpz:
    """``Π b_k^(e_k) mod modulus`` for non-negative exponents: exactly the product of the single powers.

    The bucket method (the simplest form of Pippenger's algorithm, N. Pippenger, "On the
    evaluation of powers and related problems", FOCS 1976): the exponents are cut into
    ``w``-bit digits; for each digit position, from the top, the accumulator is raised
    to ``2^w``, every base is multiplied into the bucket of its digit ``d``, and the
    buckets are folded into ``Π_d bucket_d^d`` by a running product. That is about
    ``(bits / w) (K + 2^(w+1))`` multiplications for ``K`` bases (``w`` minimizes it)
    instead of about ``1.2 bits`` per base for one exponentiation each: some 7 times
    fewer for 1,500 bases of 128 bits. Only the order of the multiplications changes,
    not the value. The inputs are public (ciphertexts, partial values, hash-derived
    exponents), so the data-dependent bucket choice leaks nothing secret.
    """
    if len(bases) != len(exponents) or any(exponent < 0 for exponent in exponents):
        raise ValueError("multi-exponentiation needs one non-negative exponent per base")
    count = len(bases)
    bits = max((exponent.bit_length() for exponent in exponents), default=0)
    window = min(range(1, 17), key=lambda w: -(-bits // w) * (count + (2 << w)))
    mask = (1 << window) - 1
    result = gmpy2.mpz(1)
    for shift in range(-(-bits // window) * window - window, -1, -window):
        for _ in range(window):
            result = result * result % modulus
        buckets: list[gmpy2.mpz | None] = [None] * (mask + 1)
        for base, exponent in zip(bases, exponents):
            digit = (exponent >> shift) & mask
            if digit:
                bucket = buckets[digit]
                buckets[digit] = gmpy2.mpz(base) if bucket is None else bucket * base % modulus
        # Π_d bucket_d^d = Π_d (Π_{d' >= d} bucket_d'): one running product, one accumulator.
        running, folded = None, gmpy2.mpz(1)
        for digit in range(mask, 0, -1):
            bucket = buckets[digit]
            if bucket is not None:
                running = bucket if running is None else running * bucket % modulus
            if running is not None:
                folded = folded * running % modulus
        result = result * folded % modulus
    return result


def _challenge(public: ThresholdPublicKey, seed: bytes, base: int, target: int, commitment_v: int,
               commitment_c: int) -> int:
    width = ciphertext_width(public.public_key)
    digest = hashlib.sha256(_DOMAIN + b"challenge" + seed)
    for value in (base, target, commitment_v, commitment_c):
        digest.update(_fixed(value, width))
    return int.from_bytes(digest.digest()[: CHALLENGE_BITS // 8], "big")


def _nonce_bits(public: ThresholdPublicKey) -> int:
    """Bits of the proof's random exponent: ``Δ s_i e < Δ N^2 2^128``, plus the hiding margin."""
    return 2 * public.n.bit_length() + public.delta.bit_length() + CHALLENGE_BITS + HIDING_BITS


def _response_bytes(public: ThresholdPublicKey) -> int:
    return (_nonce_bits(public) + 1 + 7) // 8


def _check_batch(public: ThresholdPublicKey, ciphertexts: Sequence[int]) -> list[gmpy2.mpz]:
    if len(ciphertexts) == 0:
        raise InvalidParametersError("no ciphertexts to decrypt")
    values = [int(c) for c in ciphertexts]
    for index, c in enumerate(values):
        if c <= 0:
            raise MalformedCiphertextError(f"ciphertext {index} of the ciphertexts to decrypt is not positive; "
                                           "ciphertexts lie in (0, N^2)")
    return [gmpy2.mpz(c) for c in check_ciphertexts(values, public.public_key, "the ciphertexts to decrypt")]


def _check_share(share: KeyShare, public: ThresholdPublicKey) -> None:
    if not 1 <= share.index <= public.params.n_custodians:
        raise KeyMismatchError(f"key share of custodian {share.index} is not one of the "
                               f"{public.params.n_custodians} custodians of this threshold key")
    nsquare = public.n * public.n
    if gmpy2.powmod(public.verification_base, public.delta * share.value, nsquare) != public.verification_key(
            share.index):
        raise KeyMismatchError(f"key share of custodian {share.index} does not match its verification key: "
                               "it is a share of another key, or corrupted; use this key's share")


def _check_square_unit(value: int, n: int, what: str) -> None:
    if not isinstance(value, int) or not 1 < value < n * n:
        raise KeyFormatError(f"threshold key's {what} is outside (1, N^2); the key is corrupted or forged")
    if math.gcd(value, n) != 1 or gmpy2.jacobi(value % n, n) != 1:
        raise KeyFormatError(f"threshold key's {what} is not a square unit mod N^2; the key is corrupted or forged")


def _powers(exponent: int, modulus: int, bases: list[int]) -> list[int]:
    """``b^exponent mod modulus`` for each base (module-level, so worker processes can run it)."""
    return [int(gmpy2.powmod(b, exponent, modulus)) for b in bases]


def _square_generator(n: gmpy2.mpz, order: gmpy2.mpz, prime_factors: tuple[int, ...],
                      rng: random.Random | None) -> gmpy2.mpz:
    """A square mod N^2 of order exactly ``order = N m``: checked against each prime factor with the factors."""
    nsquare = n * n
    while True:
        v = gmpy2.powmod(_random_unit(nsquare, rng, n), 2, nsquare)
        if all(gmpy2.powmod(v, order // factor, nsquare) != 1 for factor in prime_factors):
            return v


def _random_unit(modulus: gmpy2.mpz, rng: random.Random | None, n: gmpy2.mpz | None = None) -> gmpy2.mpz:
    """Uniform in ``[2, modulus)`` and coprime to ``n`` (default ``modulus``)."""
    n = modulus if n is None else n
    while True:
        x = gmpy2.mpz(_randbelow(rng, int(modulus) - 2) + 2)
        if gmpy2.gcd(x, n) == 1:
            return x


def _safe_prime(bits: int, rng: random.Random | None) -> int:
    """A random safe prime ``p = 2p' + 1`` of ``bits`` bits whose top two bits are set.

    The top two bits make the product of two such primes exactly ``2 * bits`` bits.
    Rather than ``next_prime`` on ``p'`` and a test of ``2p' + 1`` (most ``p'`` fail it),
    candidates step by 6 from a random start with ``p' = 5 mod 6`` (so neither ``p'`` nor
    ``2p' + 1`` is divisible by 2 or 3; then ``p = 3 mod 4``), are sieved for both numbers
    by one gcd with the product of the primes below 2000, and pass a base-2 Fermat test
    of both before the full tests: more than ten times faster at 1024 bits.
    """
    while True:
        candidate = gmpy2.mpz(_randbits(rng, bits - 1) | (3 << (bits - 3)))
        candidate += (5 - candidate % 6) % 6
        for _ in range(_SAFE_PRIME_STEPS):
            if candidate.bit_length() != bits - 1:
                break
            p = 2 * candidate + 1
            if (gmpy2.gcd(candidate * p, _SIEVE_PRODUCT) == 1 and gmpy2.powmod(2, candidate - 1, candidate) == 1
                    and gmpy2.powmod(2, p - 1, p) == 1 and gmpy2.is_prime(candidate, _MR_ROUNDS)
                    and gmpy2.is_prime(p, _MR_ROUNDS)):
                return int(p)
            candidate += 6


def _randbits(rng: random.Random | None, bits: int) -> int:
    return secrets.randbits(bits) if rng is None else rng.getrandbits(bits)


def _randbelow(rng: random.Random | None, bound: int) -> int:
    return secrets.randbelow(bound) if rng is None else rng.randrange(bound)


def _int_bytes(value: int) -> bytes:
    return int(value).to_bytes((int(value).bit_length() + 7) // 8, "big")


def _fixed(value: int, width: int) -> bytes:
    return int(value).to_bytes(width, "big")
