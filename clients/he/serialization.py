"""Compact binary format of encrypted updates and encrypted aggregates (format version 2).

Layout (all integers big-endian)::

    magic "FLHE" | version u8 (2) | kind u8 (1 update, 2 aggregate)
    key fingerprint 32 bytes (clients.he.keys.key_fingerprint: covers n and any DJN base) | ciphertext width u16
    value_bits u8 | slot_bits u8 | slots_per_ciphertext u16
    max_clients u32 | max_weight u64 | clip_bound f64 | scale f64
    encoding digest 32 bytes (clients.he.context.encoding_digest of the four parameters above)
    federation_id u64 | round u64 | key_epoch u32
    num_values u64 | num_ciphertexts u32 | client_count u32 | weights_total u64
    update:    submitter 20 bytes (the analyst's chain address)
    aggregate: client_count x 32-byte sha256 digests of the input updates, strictly ascending
    body:      num_ciphertexts x ciphertext width bytes, each ciphertext in Z*_{n^2}

The fixed header is 148 bytes; an update's weight is its ``weights_total``
(with ``client_count`` 1). The ciphertext width is the byte length of ``n^2``
(512 bytes for a 2048-bit key), so an update is ``168 + num_ciphertexts *
2|n|/8`` bytes.

Version 2 binds every file to its round (:mod:`clients.he.context`); version-1
files (a free client id, no round) are refused: re-encrypt with this build.

Parsing treats the bytes as hostile and needs the federation's public key. In
order, without allocating anything proportional to a header field: magic,
version, kind; key fingerprint and ciphertext width; the bounds of every
field (clip bound in ``(0, MAX_CLIP_BOUND]``, positive finite scale,
``max_clients <= MAX_CLIENTS``, ``1 <= num_values <= MAX_VALUES``); the exact
file length the header implies; then the header's consistency with its own
parameters (recomputed layout, scale, ciphertext count, encoding digest), the
round context and the weight headroom; only then are ciphertexts converted and
checked to lie in Z*_{n^2}. Every refusal is a :class:`SerializationError`
naming the field, its value and the limit (or a :class:`KeyMismatchError` /
:class:`MalformedCiphertextError`).
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import NoReturn

import gmpy2
from phe import paillier

from clients.he.context import (
    ADDRESS_BYTES,
    RoundContext,
    UpdateContext,
    address_from_bytes,
    address_to_bytes,
    encoding_digest,
)
from clients.he.encoding import MAX_CLIENTS, MAX_CLIP_BOUND, SlotLayout
from clients.he.errors import (
    InvalidParametersError,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
)
from clients.he.keys import key_fingerprint

FORMAT_VERSION = 2
MAGIC = b"FLHE"
KIND_UPDATE = 1
KIND_AGGREGATE = 2
MAX_VALUES = 1 << 32
"""Most values one update may hold (a header claiming more is refused before anything is allocated)."""

DIGEST_BYTES = 32
_KIND_NAMES = {KIND_UPDATE: "encrypted update", KIND_AGGREGATE: "encrypted aggregate"}
_PREFIX = struct.Struct(">4sBB")
_HEADER = struct.Struct(">4sBB32sHBBHIQdd32sQQIQIIQ")


def ciphertext_width(public_key: paillier.PaillierPublicKey) -> int:
    """Fixed byte width of one ciphertext under ``public_key`` (bytes of n^2)."""
    return (2 * public_key.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class EncryptedUpdate:
    """One analyst's packed, encrypted update, bound to its round.

    Attributes:
        key_fingerprint: Fingerprint of the public key (:func:`clients.he.keys.key_fingerprint`).
        layout: Slot layout the values were packed with.
        num_values: Length of the float vector.
        context: Federation, round, key epoch and submitter address it was made for.
        weight: The analyst's FedAvg weight, already multiplied into its slots.
        ciphertexts: Raw Paillier ciphertexts, one per packed plaintext (left out of ``repr``).
    """

    key_fingerprint: bytes
    layout: SlotLayout
    num_values: int
    context: UpdateContext
    weight: int
    ciphertexts: tuple[int, ...] = field(repr=False)

    @property
    def submitter(self) -> str:
        """The submitter's address (lowercase ``0x`` hex): the update's identity in messages."""
        return self.context.submitter

    @property
    def round_context(self) -> RoundContext:
        """Federation, round and key epoch, without the submitter."""
        return self.context.round_context

    @property
    def encoding_digest(self) -> bytes:
        """:func:`clients.he.context.encoding_digest` of the update's encoding parameters."""
        return encoding_digest(self.layout.params)

    def to_bytes(self, public_key: paillier.PaillierPublicKey) -> bytes:
        """Serialize; see the module docstring for the layout.

        Raises:
            KeyMismatchError: If ``public_key`` is not the key of this update.
            InvalidParametersError: If the update holds more than ``MAX_VALUES`` values.
        """
        return _encode(public_key, KIND_UPDATE, self, self.round_context, 1, self.weight,
                       address_to_bytes(self.submitter))

    @classmethod
    def from_bytes(cls, data: bytes, public_key: paillier.PaillierPublicKey) -> EncryptedUpdate:
        """Parse and validate an encrypted update.

        Raises:
            SerializationError: Truncated, wrong kind/version, a field out of
                bounds, or a header inconsistent with itself.
            KeyMismatchError: Made under another public key.
            MalformedCiphertextError: A ciphertext outside Z*_{n^2}.
        """
        header, offset = _decode_header(data, public_key, KIND_UPDATE)
        submitter = address_from_bytes(data[offset : offset + ADDRESS_BYTES])
        context = UpdateContext.for_round(header.context, submitter)
        ciphertexts = _decode_body(data, offset + ADDRESS_BYTES, header, public_key, f"the update of {submitter}")
        return cls(header.fingerprint, header.layout, header.num_values, context, header.weights_total, ciphertexts)


@dataclass(frozen=True)
class EncryptedAggregate:
    """The homomorphic sum of several encrypted updates of one round.

    Attributes:
        key_fingerprint: Fingerprint of the public key (:func:`clients.he.keys.key_fingerprint`).
        layout: Common slot layout of the inputs.
        num_values: Length of the float vector.
        context: Federation, round and key epoch common to every input.
        client_count: Number of updates summed.
        weights_total: Sum of the inputs' FedAvg weights (the divisor at decryption).
        input_digests: sha256 of each input update's bytes, ascending.
        ciphertexts: Raw Paillier ciphertexts of the slot sums (left out of ``repr``).
    """

    key_fingerprint: bytes
    layout: SlotLayout
    num_values: int
    context: RoundContext
    client_count: int
    weights_total: int
    input_digests: tuple[bytes, ...]
    ciphertexts: tuple[int, ...] = field(repr=False)

    @property
    def encoding_digest(self) -> bytes:
        """:func:`clients.he.context.encoding_digest` of the aggregate's encoding parameters."""
        return encoding_digest(self.layout.params)

    def to_bytes(self, public_key: paillier.PaillierPublicKey) -> bytes:
        """Serialize; deterministic, so equal aggregates give equal bytes.

        Raises:
            KeyMismatchError: If ``public_key`` is not the key of this aggregate.
            InvalidParametersError: If the aggregate holds more than ``MAX_VALUES`` values.
        """
        return _encode(public_key, KIND_AGGREGATE, self, self.context, self.client_count, self.weights_total,
                       b"".join(self.input_digests))

    @classmethod
    def from_bytes(cls, data: bytes, public_key: paillier.PaillierPublicKey) -> EncryptedAggregate:
        """Parse and validate an encrypted aggregate.

        Raises:
            SerializationError: Truncated, wrong kind/version, a field out of
                bounds, a header inconsistent with itself, or input digests
                not in strictly ascending order.
            KeyMismatchError: Made under another public key.
            MalformedCiphertextError: A ciphertext outside Z*_{n^2}.
        """
        header, offset = _decode_header(data, public_key, KIND_AGGREGATE)
        count = header.client_count
        digests = tuple(data[offset + DIGEST_BYTES * i : offset + DIGEST_BYTES * (i + 1)] for i in range(count))
        if list(digests) != sorted(set(digests)):
            raise SerializationError("aggregate input digests are not strictly ascending (canonical order)")
        ciphertexts = _decode_body(data, offset + DIGEST_BYTES * count, header, public_key, "the aggregate")
        return cls(header.fingerprint, header.layout, header.num_values, header.context, count,
                   header.weights_total, digests, ciphertexts)


def digest(data: bytes) -> bytes:
    """sha256 of serialized bytes: the hash an update or aggregate is registered under."""
    return hashlib.sha256(data).digest()


def _encode(public_key: paillier.PaillierPublicKey, kind: int, item: EncryptedUpdate | EncryptedAggregate,
            context: RoundContext, client_count: int, weights_total: int, extra: bytes) -> bytes:
    """Header, ``extra`` (submitter or input digests) and body of ``item``."""
    if key_fingerprint(public_key) != item.key_fingerprint:
        raise KeyMismatchError(
            f"{_KIND_NAMES[kind]} was made under key {item.key_fingerprint.hex()[:16]}…, "
            f"serializing with key {key_fingerprint(public_key).hex()[:16]}…: use the federation's key"
        )
    if item.num_values > MAX_VALUES:
        raise InvalidParametersError(f"{item.num_values} values exceed the format's limit of {MAX_VALUES}")
    layout = item.layout
    width = ciphertext_width(public_key)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, kind, item.key_fingerprint, width, layout.value_bits,
                          layout.slot_bits, layout.slots_per_ciphertext, layout.max_clients, layout.max_weight,
                          layout.clip_bound, layout.scale, item.encoding_digest, context.federation_id,
                          context.round, context.key_epoch, item.num_values, len(item.ciphertexts),
                          client_count, weights_total)
    body = b"".join(int(c).to_bytes(width, "big") for c in item.ciphertexts)
    return header + extra + body


@dataclass(frozen=True)
class _Header:
    """The validated fixed header of a file."""

    fingerprint: bytes
    layout: SlotLayout
    context: RoundContext
    num_values: int
    num_cts: int
    client_count: int
    weights_total: int
    width: int


def _decode_header(data: bytes, public_key: paillier.PaillierPublicKey, kind: int) -> tuple[_Header, int]:
    """Validate the fixed header and the exact file length; return the header and the offset after it.

    Raises:
        SerializationError, KeyMismatchError: See the module docstring.
    """
    what = _KIND_NAMES[kind]
    _check_prefix(data, kind)
    if len(data) < _HEADER.size:
        raise SerializationError(f"{what} truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
    (_, _, _, fingerprint, width, value_bits, slot_bits, slots, max_clients, max_weight, clip_bound, scale,
     recorded_digest, federation_id, round_, key_epoch, num_values, num_cts, client_count,
     weights_total) = _HEADER.unpack_from(data)
    _check_key(what, fingerprint, width, public_key)
    _check_bounds(what, clip_bound, scale, max_clients, num_values, client_count)
    extra = ADDRESS_BYTES if kind == KIND_UPDATE else DIGEST_BYTES * client_count
    _check_length(what, len(data), _HEADER.size + extra + width * num_cts)
    layout = _check_layout(what, public_key, SlotLayout(clip_bound, value_bits, max_clients, max_weight, scale,
                                                       slot_bits, slots))
    if num_cts != layout.num_ciphertexts(num_values):
        raise SerializationError(
            f"{what} header counts {num_cts} ciphertexts for {num_values} values; "
            f"the layout needs {layout.num_ciphertexts(num_values)}"
        )
    if recorded_digest != encoding_digest(layout.params):
        raise SerializationError(
            f"{what} header encoding digest {recorded_digest.hex()[:16]}… does not match its own parameters "
            f"(recomputed {encoding_digest(layout.params).hex()[:16]}…); the file is corrupted or forged"
        )
    context = _check_context(what, federation_id, round_, key_epoch)
    if kind == KIND_UPDATE and client_count != 1:
        raise SerializationError(f"an encrypted update must count 1 client, header says {client_count}")
    if not client_count <= weights_total <= client_count * max_weight:
        raise SerializationError(
            f"{what} header counts {client_count} clients with total weight {weights_total}, "
            f"outside the headroom of {max_clients} clients x weight {max_weight}"
        )
    header = _Header(fingerprint, layout, context, num_values, num_cts, client_count, weights_total, width)
    return header, _HEADER.size


def _check_prefix(data: bytes, kind: int) -> None:
    what = _KIND_NAMES[kind]
    if len(data) < _PREFIX.size:
        raise SerializationError(f"{what} truncated: {len(data)} bytes, not even a file header")
    magic, version, got_kind = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SerializationError(f"not a FLEP HE file (magic {magic!r}, expected {MAGIC!r})")
    if version == 1:
        raise SerializationError(
            f"{what} has format version 1 (not bound to a federation, round and submitter); "
            f"this build reads version {FORMAT_VERSION}: re-encrypt with this build"
        )
    if version != FORMAT_VERSION:
        raise SerializationError(f"{what} has format version {version}; this build reads {FORMAT_VERSION}")
    if got_kind != kind:
        raise SerializationError(f"expected an {what}, got a {_KIND_NAMES.get(got_kind, f'kind {got_kind}')}")


def _check_key(what: str, fingerprint: bytes, width: int, public_key: paillier.PaillierPublicKey) -> None:
    expected_fp = key_fingerprint(public_key)
    if fingerprint != expected_fp:
        raise KeyMismatchError(
            f"{what} was encrypted under key {fingerprint.hex()[:16]}…, "
            f"the federation key is {expected_fp.hex()[:16]}…: it belongs to another federation or key epoch"
        )
    if width != ciphertext_width(public_key):
        raise SerializationError(f"{what} ciphertext width {width} != {ciphertext_width(public_key)} for this key")


def _check_bounds(what: str, clip_bound: float, scale: float, max_clients: int, num_values: int,
                  client_count: int) -> None:
    """Refuse header fields outside their bounds, before anything depends on them."""
    if not (math.isfinite(clip_bound) and 0 < clip_bound <= MAX_CLIP_BOUND):
        _out_of_bounds(what, "clip_bound", clip_bound, f"a finite float in (0, {MAX_CLIP_BOUND:g}]")
    if not (math.isfinite(scale) and scale > 0):
        _out_of_bounds(what, "scale", scale, "a positive finite float")
    if not 1 <= max_clients <= MAX_CLIENTS:
        _out_of_bounds(what, "max_clients", max_clients, f"1..{MAX_CLIENTS}")
    if not 1 <= num_values <= MAX_VALUES:
        _out_of_bounds(what, "num_values", num_values, f"1..{MAX_VALUES}")
    if not 1 <= client_count <= max_clients:
        _out_of_bounds(what, "client_count", client_count, f"1..{max_clients} (its max_clients)")


def _out_of_bounds(what: str, name: str, value: object, limit: str) -> NoReturn:
    raise SerializationError(f"{what} header field {name} = {value!r} is outside {limit}; "
                             "the file is corrupted or forged: fetch it again and compare its sha256")


def _check_length(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        state = "truncated" if actual < expected else "followed by trailing bytes"
        raise SerializationError(
            f"{what} is {state}: file has {actual} bytes, its header implies {expected}; "
            "fetch the file again and compare its sha256"
        )


def _check_layout(what: str, public_key: paillier.PaillierPublicKey, recorded: SlotLayout) -> SlotLayout:
    """The layout recomputed from the header's parameters, refusing a header that disagrees with it."""
    try:
        layout = SlotLayout.for_key_bits(recorded.params, public_key.n.bit_length())
    except InvalidParametersError as exc:
        raise SerializationError(f"{what} header holds invalid encoding parameters: {exc}") from exc
    mismatch = layout.differences(recorded)
    if mismatch:
        raise SerializationError(f"{what} header is inconsistent with its own parameters: {'; '.join(mismatch)}")
    return layout


def _check_context(what: str, federation_id: int, round_: int, key_epoch: int) -> RoundContext:
    try:
        return RoundContext(federation_id, round_, key_epoch)
    except InvalidParametersError as exc:
        raise SerializationError(f"{what} header holds an invalid round context: {exc}") from exc


def _decode_body(data: bytes, offset: int, header: _Header, public_key: paillier.PaillierPublicKey,
                 source: str) -> tuple[int, ...]:
    """Convert the body (whose length :func:`_decode_header` checked) and check every ciphertext."""
    width = header.width
    return check_ciphertexts(
        [int.from_bytes(data[offset + i * width : offset + (i + 1) * width], "big") for i in range(header.num_cts)],
        public_key,
        source,
    )


def check_ciphertexts(ciphertexts: list[int], public_key: paillier.PaillierPublicKey, source: str) -> tuple[int, ...]:
    """Check every ciphertext lies in Z*_{n^2}.

    A ciphertext shares a factor with n exactly when the product of all of
    them mod n does (p and q are prime), so one gcd checks the whole list; the
    per-ciphertext scan only runs to name the culprit.

    Raises:
        MalformedCiphertextError: Naming the first bad ciphertext's index and ``source``.
    """
    n = gmpy2.mpz(public_key.n)
    nsquare = n * n
    product = gmpy2.mpz(1)
    for index, c in enumerate(ciphertexts):
        if c >= nsquare:
            raise MalformedCiphertextError(f"ciphertext {index} of {source} is >= n^2; the file is corrupted or forged")
        product = product * c % n
    if gmpy2.gcd(product, n) != 1:
        index = next(i for i, c in enumerate(ciphertexts) if gmpy2.gcd(c, n) != 1)
        raise MalformedCiphertextError(
            f"ciphertext {index} of {source} is not a unit mod n^2 (zero or shares a factor with n); refused"
        )
    return tuple(ciphertexts)
