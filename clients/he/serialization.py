"""Compact binary format of encrypted updates and encrypted aggregates.

Layout (all integers big-endian)::

    magic "FLHE" | version u8 | kind u8 (1 update, 2 aggregate)
    key fingerprint 32 bytes (clients.he.keys.key_fingerprint: covers n and any DJN base) | ciphertext width u16
    value_bits u8 | slot_bits u8 | slots_per_ciphertext u16
    max_clients u32 | max_weight u64 | clip_bound f64 | scale f64
    num_values u64 | num_ciphertexts u32 | client_count u32 | weights_total u64
    update:    len(client_id) u16 | client_id UTF-8
    aggregate: client_count x 32-byte sha256 digests of the input updates, ascending
    body:      num_ciphertexts x ciphertext width bytes, each ciphertext < n^2

The ciphertext width is the byte length of ``n^2`` (512 bytes for a 2048-bit
key), so a file is ``num_ciphertexts * 2|n|/8`` bytes plus a header of ~100
bytes. Parsing needs the federation's public key: it checks the fingerprint,
the header's internal consistency, the exact length, and that every ciphertext
lies in Z*_{n^2}.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import gmpy2
from phe import paillier

from clients.he.encoding import EncodingParams, SlotLayout
from clients.he.errors import (
    InvalidParametersError,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
)
from clients.he.keys import key_fingerprint

FORMAT_VERSION = 1
MAGIC = b"FLHE"
KIND_UPDATE = 1
KIND_AGGREGATE = 2
_KIND_NAMES = {KIND_UPDATE: "encrypted update", KIND_AGGREGATE: "encrypted aggregate"}
_HEADER = struct.Struct(">4sBB32sHBBHIQddQIIQ")


def ciphertext_width(public_key: paillier.PaillierPublicKey) -> int:
    """Fixed byte width of one ciphertext under ``public_key`` (bytes of n^2)."""
    return (2 * public_key.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class EncryptedUpdate:
    """One client's packed, encrypted update.

    Attributes:
        key_fingerprint: Fingerprint of the public key (:func:`clients.he.keys.key_fingerprint`).
        layout: Slot layout the values were packed with.
        num_values: Length of the float vector.
        client_id: Who produced it.
        weight: The client's FedAvg weight, already multiplied into its slots.
        ciphertexts: Raw Paillier ciphertexts, one per packed plaintext.
    """

    key_fingerprint: bytes
    layout: SlotLayout
    num_values: int
    client_id: str
    weight: int
    ciphertexts: tuple[int, ...]

    def to_bytes(self, public_key: paillier.PaillierPublicKey) -> bytes:
        """Serialize; see the module docstring for the layout.

        Raises:
            KeyMismatchError: If ``public_key`` is not the key of this update.
        """
        ident = self.client_id.encode("utf-8")
        if len(ident) > 0xFFFF:
            raise InvalidParametersError(f"client id of {len(ident)} bytes is too long (max 65535)")
        extra = struct.pack(">H", len(ident)) + ident
        return _encode(public_key, KIND_UPDATE, self.key_fingerprint, self.layout, self.num_values,
                       1, self.weight, extra, self.ciphertexts)

    @classmethod
    def from_bytes(cls, data: bytes, public_key: paillier.PaillierPublicKey) -> EncryptedUpdate:
        """Parse and validate an encrypted update.

        Raises:
            SerializationError: Truncated, wrong kind/version, inconsistent header.
            KeyMismatchError: Made under another public key.
            MalformedCiphertextError: A ciphertext outside Z*_{n^2}.
        """
        header, offset = _decode_header(data, public_key, KIND_UPDATE)
        if header["client_count"] != 1:
            raise SerializationError(f"an encrypted update must count 1 client, header says {header['client_count']}")
        if len(data) < offset + 2:
            raise SerializationError("encrypted update truncated before the client id")
        (ident_len,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if len(data) < offset + ident_len:
            raise SerializationError("encrypted update truncated inside the client id")
        try:
            client_id = data[offset : offset + ident_len].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(f"client id is not valid UTF-8: {exc}") from exc
        ciphertexts = _decode_body(data, offset + ident_len, header, public_key, client_id)
        return cls(header["fingerprint"], header["layout"], header["num_values"], client_id,
                   header["weights_total"], ciphertexts)


@dataclass(frozen=True)
class EncryptedAggregate:
    """The homomorphic sum of several encrypted updates.

    Attributes:
        key_fingerprint: Fingerprint of the public key (:func:`clients.he.keys.key_fingerprint`).
        layout: Common slot layout of the inputs.
        num_values: Length of the float vector.
        client_count: Number of updates summed.
        weights_total: Sum of the inputs' FedAvg weights (the divisor at decryption).
        input_digests: sha256 of each input update's bytes, ascending.
        ciphertexts: Raw Paillier ciphertexts of the slot sums.
    """

    key_fingerprint: bytes
    layout: SlotLayout
    num_values: int
    client_count: int
    weights_total: int
    input_digests: tuple[bytes, ...]
    ciphertexts: tuple[int, ...]

    def to_bytes(self, public_key: paillier.PaillierPublicKey) -> bytes:
        """Serialize; deterministic, so equal aggregates give equal bytes."""
        return _encode(public_key, KIND_AGGREGATE, self.key_fingerprint, self.layout, self.num_values,
                       self.client_count, self.weights_total, b"".join(self.input_digests), self.ciphertexts)

    @classmethod
    def from_bytes(cls, data: bytes, public_key: paillier.PaillierPublicKey) -> EncryptedAggregate:
        """Parse and validate an encrypted aggregate.

        Raises:
            SerializationError: Truncated, wrong kind/version, inconsistent header
                or input digests not in ascending order.
            KeyMismatchError: Made under another public key.
            MalformedCiphertextError: A ciphertext outside Z*_{n^2}.
        """
        header, offset = _decode_header(data, public_key, KIND_AGGREGATE)
        count = header["client_count"]
        end = offset + 32 * count
        if len(data) < end:
            raise SerializationError(f"encrypted aggregate truncated inside its {count} input digests")
        digests = tuple(data[offset + 32 * i : offset + 32 * (i + 1)] for i in range(count))
        if list(digests) != sorted(set(digests)):
            raise SerializationError("aggregate input digests are not strictly ascending (canonical order)")
        ciphertexts = _decode_body(data, end, header, public_key, "aggregate")
        return cls(header["fingerprint"], header["layout"], header["num_values"], count,
                   header["weights_total"], digests, ciphertexts)


def digest(data: bytes) -> bytes:
    """sha256 of serialized bytes: the hash an update or aggregate is registered under."""
    return hashlib.sha256(data).digest()


def _encode(public_key: paillier.PaillierPublicKey, kind: int, fingerprint: bytes, layout: SlotLayout,
            num_values: int, client_count: int, weights_total: int, extra: bytes,
            ciphertexts: tuple[int, ...]) -> bytes:
    if key_fingerprint(public_key) != fingerprint:
        raise KeyMismatchError(
            f"{_KIND_NAMES[kind]} was made under key {fingerprint.hex()[:16]}…, "
            f"serializing with key {key_fingerprint(public_key).hex()[:16]}…: use the federation's key"
        )
    width = ciphertext_width(public_key)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, kind, fingerprint, width, layout.value_bits,
                          layout.slot_bits, layout.slots_per_ciphertext, layout.max_clients,
                          layout.max_weight, layout.clip_bound, layout.scale, num_values,
                          len(ciphertexts), client_count, weights_total)
    body = b"".join(int(c).to_bytes(width, "big") for c in ciphertexts)
    return header + extra + body


def _decode_header(data: bytes, public_key: paillier.PaillierPublicKey, kind: int) -> tuple[dict, int]:
    what = _KIND_NAMES[kind]
    if len(data) < _HEADER.size:
        raise SerializationError(f"{what} truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
    (magic, version, got_kind, fingerprint, width, value_bits, slot_bits, slots, max_clients, max_weight,
     clip_bound, scale, num_values, num_cts, client_count, weights_total) = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SerializationError(f"not a FLEP HE file (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise SerializationError(f"{what} has format version {version}; this build reads {FORMAT_VERSION}")
    if got_kind != kind:
        raise SerializationError(f"expected an {what}, got a {_KIND_NAMES.get(got_kind, f'kind {got_kind}')}")
    expected_fp = key_fingerprint(public_key)
    if fingerprint != expected_fp:
        raise KeyMismatchError(
            f"{what} was encrypted under key {fingerprint.hex()[:16]}…, "
            f"the federation key is {expected_fp.hex()[:16]}…: it belongs to another federation or key epoch"
        )
    if width != ciphertext_width(public_key):
        raise SerializationError(f"{what} ciphertext width {width} != {ciphertext_width(public_key)} for this key")
    try:
        layout = SlotLayout.for_key_bits(EncodingParams(clip_bound, value_bits, max_clients, max_weight),
                                         public_key.n.bit_length())
    except InvalidParametersError as exc:
        raise SerializationError(f"{what} header holds invalid encoding parameters: {exc}") from exc
    recorded = SlotLayout(clip_bound, value_bits, max_clients, max_weight, scale, slot_bits, slots)
    mismatch = layout.differences(recorded)
    if mismatch:
        raise SerializationError(f"{what} header is inconsistent with its own parameters: {'; '.join(mismatch)}")
    if num_cts != layout.num_ciphertexts(num_values) or num_values == 0:
        raise SerializationError(
            f"{what} header counts {num_cts} ciphertexts for {num_values} values; "
            f"the layout needs {layout.num_ciphertexts(num_values)}"
        )
    if not 1 <= client_count <= max_clients or not client_count <= weights_total <= client_count * max_weight:
        raise SerializationError(
            f"{what} header counts {client_count} clients with total weight {weights_total}, "
            f"outside the headroom of {max_clients} clients x weight {max_weight}"
        )
    header = {"fingerprint": fingerprint, "layout": layout, "num_values": num_values, "num_cts": num_cts,
              "client_count": client_count, "weights_total": weights_total, "width": width}
    return header, _HEADER.size


def _decode_body(data: bytes, offset: int, header: dict, public_key: paillier.PaillierPublicKey,
                 source: str) -> tuple[int, ...]:
    width, count = header["width"], header["num_cts"]
    expected = offset + width * count
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "followed by trailing bytes"
        raise SerializationError(
            f"ciphertext body of {source} is {state}: file has {len(data)} bytes, header implies {expected}; "
            "fetch the file again and compare its sha256"
        )
    return check_ciphertexts(
        [int.from_bytes(data[offset + i * width : offset + (i + 1) * width], "big") for i in range(count)],
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
