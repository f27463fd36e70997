"""Round context: what an encrypted update or aggregate is bound to.

An encrypted update is only meaningful for one federation, one round, one key
epoch and one submitter, under the encoding the federation registered. Every
update header records all of them (:mod:`clients.he.serialization`), and every
aggregate header its round context, so an untrusted aggregator or analyst
cannot replay an update in another round or federation or pass off another
analyst's update as its own without the key holder noticing:

* the aggregator refuses to sum updates whose contexts or encodings differ
  (:func:`clients.he.homomorphic_sum.check_compatible`) and each update is checked
  against its chain record with :func:`check_update_context`;
* the key holder checks the aggregate against the round it decrypts for with
  :func:`check_aggregate_context`.

The submitter is the analyst's chain address (20 bytes). It is stored as
lowercase ``0x`` hex, without an EIP-55 checksum, and compared that way, so
addresses in any letter case match.

The encoding digest (:func:`encoding_digest`) is the value a federation
registers on chain next to its public key: sha256 over a domain tag and the
encoding parameters, so a header's parameters can be matched against the
registered ones with one comparison.

The header binds fields, not intent: a submitter can still put any content in
its own update (see :mod:`clients.he.decryption` for what is and is not
detected), and only the chain record says which submitter was entitled to
which round.
"""

from __future__ import annotations

import hashlib
import string
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clients.he.encoding import EncodingParams
from clients.he.errors import ContextMismatchError, InvalidParametersError

if TYPE_CHECKING:
    from clients.he.serialization import EncryptedAggregate, EncryptedUpdate

MAX_U32 = (1 << 32) - 1
MAX_U64 = (1 << 64) - 1
ADDRESS_BYTES = 20
_HEX_DIGITS = frozenset(string.hexdigits)

ENCODING_DOMAIN = b"FLEP-encoding-v1"
"""Domain tag of :func:`encoding_digest`."""

_ENCODING = struct.Struct(">dBIQ")


def encoding_digest(params: EncodingParams) -> bytes:
    """sha256 of ``"FLEP-encoding-v1" | clip_bound f64 | value_bits u8 | max_clients u32 | max_weight u64``.

    Big-endian; this is the digest a federation registers on chain next to its
    public key, and every update and aggregate header carries. Every valid
    :class:`EncodingParams` fits these widths (its slot bound keeps ``max_weight``
    below 2^64, and ``max_clients`` is at most ``MAX_CLIENTS``).
    """
    packed = _ENCODING.pack(params.clip_bound, params.value_bits, params.max_clients, params.max_weight)
    return hashlib.sha256(ENCODING_DOMAIN + packed).digest()


def normalize_address(address: str) -> str:
    """Return ``address`` as lowercase ``0x`` + 40 hex digits.

    Raises:
        InvalidParametersError: If ``address`` is not a 0x-prefixed 20-byte hex string.
    """
    if (not isinstance(address, str) or address[:2] not in ("0x", "0X") or len(address) != 2 + 2 * ADDRESS_BYTES
            or not set(address[2:]) <= _HEX_DIGITS):
        raise InvalidParametersError(
            f"submitter {address!r} is not a 0x-prefixed 20-byte hex address; pass the analyst's chain account"
        )
    return "0x" + address[2:].lower()


def address_to_bytes(address: str) -> bytes:
    """The 20 bytes of a ``0x`` address.

    Raises:
        InvalidParametersError: If ``address`` is not a 20-byte hex address.
    """
    return bytes.fromhex(normalize_address(address)[2:])


def address_from_bytes(raw: bytes) -> str:
    """The lowercase ``0x`` form of address bytes."""
    return "0x" + raw.hex()


def _check_range(name: str, value: int, top: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise InvalidParametersError(f"{name} must be an integer in 1..{top}, got {value!r}")


@dataclass(frozen=True)
class RoundContext:
    """The round an aggregate belongs to.

    Attributes:
        federation_id: The federation's on-chain id (u64, >= 1).
        round: The round number within the federation (u64, >= 1).
        key_epoch: The epoch of the federation's Paillier key (u32, >= 1).

    Raises:
        InvalidParametersError: On construction, if a field is not an integer in range.
    """

    federation_id: int
    round: int
    key_epoch: int

    def __post_init__(self) -> None:
        _check_range("federation_id", self.federation_id, MAX_U64)
        _check_range("round", self.round, MAX_U64)
        _check_range("key_epoch", self.key_epoch, MAX_U32)

    def __str__(self) -> str:
        return f"federation {self.federation_id}, round {self.round}, key epoch {self.key_epoch}"


@dataclass(frozen=True)
class UpdateContext:
    """The round an update belongs to and the analyst who submits it.

    Attributes:
        federation_id: The federation's on-chain id (u64, >= 1).
        round: The round number (u64, >= 1).
        key_epoch: The epoch of the federation's Paillier key (u32, >= 1).
        submitter: The analyst's chain address, stored as lowercase ``0x`` hex.

    Raises:
        InvalidParametersError: On construction, if a number is out of range or
            ``submitter`` is not a 20-byte hex address.
    """

    federation_id: int
    round: int
    key_epoch: int
    submitter: str

    def __post_init__(self) -> None:
        RoundContext(self.federation_id, self.round, self.key_epoch)
        object.__setattr__(self, "submitter", normalize_address(self.submitter))

    @classmethod
    def for_round(cls, context: RoundContext, submitter: str) -> UpdateContext:
        """The update context of ``submitter`` in the round ``context``."""
        return cls(context.federation_id, context.round, context.key_epoch, submitter)

    @property
    def round_context(self) -> RoundContext:
        """The round, without the submitter."""
        return RoundContext(self.federation_id, self.round, self.key_epoch)

    def __str__(self) -> str:
        return f"{self.round_context}, submitter {self.submitter}"


def round_differences(expected: RoundContext, found: RoundContext) -> list[str]:
    """``"<field>: expected X, found Y"`` for each field where ``found`` differs."""
    pairs = [("federation", expected.federation_id, found.federation_id), ("round", expected.round, found.round),
             ("key epoch", expected.key_epoch, found.key_epoch)]
    return [f"{name}: expected {want}, found {got}" for name, want, got in pairs if want != got]


def digest_difference(expected: bytes, found: bytes) -> list[str]:
    """The encoding-digest entry for a mismatch message, or nothing when equal."""
    if expected == found:
        return []
    return [f"encoding digest: expected {expected.hex()[:16]}…, found {found.hex()[:16]}…"]


def check_update_context(update: EncryptedUpdate, expected: UpdateContext, expected_encoding_digest: bytes) -> None:
    """Refuse an update that is not bound to ``expected`` (typically its chain record).

    Args:
        update: A parsed encrypted update.
        expected: The federation, round, key epoch and submitter the chain records for it.
        expected_encoding_digest: The federation's registered :func:`encoding_digest`.

    Raises:
        ContextMismatchError: Naming every differing field (federation, round,
            key epoch, submitter, encoding digest) with expected and found values.
    """
    found = update.context
    differences = round_differences(expected.round_context, found.round_context)
    if found.submitter != expected.submitter:
        differences.append(f"submitter: expected {expected.submitter}, found {found.submitter}")
    differences += digest_difference(expected_encoding_digest, update.encoding_digest)
    if differences:
        raise ContextMismatchError(
            f"encrypted update of {found.submitter} does not match its record: {'; '.join(differences)}; "
            "it was made for another round, federation, key or encoding, or copied from another analyst: "
            "exclude it by name"
        )


def check_aggregate_context(aggregate: EncryptedAggregate, expected: RoundContext,
                            expected_encoding_digest: bytes) -> None:
    """Refuse an aggregate that is not bound to the round ``expected``.

    Args:
        aggregate: A parsed encrypted aggregate.
        expected: The federation, round and key epoch the key holder decrypts for.
        expected_encoding_digest: The federation's registered :func:`encoding_digest`.

    Raises:
        ContextMismatchError: Naming every differing field (federation, round,
            key epoch, encoding digest) with expected and found values.
    """
    differences = round_differences(expected, aggregate.context)
    differences += digest_difference(expected_encoding_digest, aggregate.encoding_digest)
    if differences:
        raise ContextMismatchError(
            f"encrypted aggregate does not match the round being decrypted: {'; '.join(differences)}; "
            "do not decrypt it; recompute the aggregate from the round's recorded updates"
        )
