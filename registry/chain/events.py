"""Typed records of the registry's events, built from web3 logs.

Every record carries the event's arguments (snake_case, enums as :class:`~enum.IntEnum`, addresses
checksummed) plus where it happened: ``block_number``, ``transaction_hash`` and ``log_index``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

from eth_utils import to_checksum_address

from registry.chain.types import (
    ArtifactKind,
    CodecKeyPolicy,
    DisputeReason,
    DpParameters,
    ExclusionReason,
    HpkeSuite,
    KeyKind,
    artifact_digest,
)

_ENUM_FIELDS = {
    e.__name__: e for e in (ArtifactKind, KeyKind, CodecKeyPolicy, ExclusionReason, DisputeReason, HpkeSuite)
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class EventRecord:
    """Base of all event records: where the event was emitted."""

    event_name: ClassVar[str] = ""
    block_number: int
    transaction_hash: str
    log_index: int

    @classmethod
    def from_log(cls, log: Mapping[str, Any]) -> EventRecord:
        """Build the record from a decoded web3 log (``get_logs`` / ``process_receipt`` entry)."""
        args = {_snake(k): v for k, v in log["args"].items()}
        values: dict[str, Any] = {
            "block_number": log["blockNumber"],
            "transaction_hash": "0x" + bytes(log["transactionHash"]).hex(),
            "log_index": log["logIndex"],
        }
        for f in fields(cls):
            if f.name in values:
                continue
            values[f.name] = _convert(f.type, args[f.name])
        return cls(**values)

    @classmethod
    def argument_filters(cls, **filters: Any) -> dict[str, Any]:
        """web3 ``argument_filters`` (camelCase) for the given snake_case filters, dropping ``None``."""
        return {_camel(k): (int(v) if isinstance(v, int) else v) for k, v in filters.items() if v is not None}


def _convert(type_name: Any, value: Any) -> Any:
    name = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    if name in _ENUM_FIELDS:
        return _ENUM_FIELDS[name](value)
    if name == "DpParameters":
        return DpParameters.from_abi(value)
    if name == "tuple[int, ...]":
        return tuple(int(v) for v in value)
    if name == "tuple[str, ...]":
        return tuple(to_checksum_address(v) for v in value)
    if name == "bytes":
        return bytes(value)
    if name == "str" and isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return value


@dataclass(frozen=True)
class FederationCreated(EventRecord):
    event_name: ClassVar[str] = "FederationCreated"
    federation_id: int
    admin: str
    creator: str
    min_participants: int
    codec_key_policy: CodecKeyPolicy


@dataclass(frozen=True)
class FederationRoleGranted(EventRecord):
    event_name: ClassVar[str] = "FederationRoleGranted"
    federation_id: int
    role: bytes
    account: str
    sender: str


@dataclass(frozen=True)
class FederationRoleRevoked(EventRecord):
    event_name: ClassVar[str] = "FederationRoleRevoked"
    federation_id: int
    role: bytes
    account: str
    sender: str


@dataclass(frozen=True)
class ArtifactRegistered(EventRecord):
    event_name: ClassVar[str] = "ArtifactRegistered"
    artifact_id: int
    federation_id: int
    round: int
    kind: ArtifactKind
    submitter: str
    cid: str
    sha256: bytes
    size: int
    parents: tuple[int, ...]

    def digest(self) -> bytes:
        """The digest the registry must hold for this artifact (see :func:`artifact_digest`)."""
        return artifact_digest(
            self.kind, self.federation_id, self.round, self.submitter, self.cid, self.sha256, self.size, self.parents
        )


@dataclass(frozen=True)
class DatasetRegistered(EventRecord):
    event_name: ClassVar[str] = "DatasetRegistered"
    federation_id: int
    artifact_id: int
    owner: str
    sample_count: int


@dataclass(frozen=True)
class KeyEpochStarted(EventRecord):
    event_name: ClassVar[str] = "KeyEpochStarted"
    federation_id: int
    epoch: int
    public_key_artifact: int
    encoding_digest: bytes
    admin: str


@dataclass(frozen=True)
class EpochCustodySet(EventRecord):
    event_name: ClassVar[str] = "EpochCustodySet"
    federation_id: int
    epoch: int
    threshold_key_artifact: int
    threshold: int
    custodians: tuple[str, ...]
    admin: str


@dataclass(frozen=True)
class PartialDecryptionSubmitted(EventRecord):
    event_name: ClassVar[str] = "PartialDecryptionSubmitted"
    federation_id: int
    round: int
    custodian: str
    index: int
    artifact_id: int


@dataclass(frozen=True)
class KeyEpochRevoked(EventRecord):
    event_name: ClassVar[str] = "KeyEpochRevoked"
    federation_id: int
    epoch: int
    key_holder: str
    revoker: str


@dataclass(frozen=True)
class EncryptionKeyRegistered(EventRecord):
    event_name: ClassVar[str] = "EncryptionKeyRegistered"
    account: str
    suite: HpkeSuite
    public_key: bytes
    public_key_sha256: bytes


@dataclass(frozen=True)
class KeyGranted(EventRecord):
    event_name: ClassVar[str] = "KeyGranted"
    federation_id: int
    account: str
    key_owner: str
    kind: KeyKind
    grantor: str
    wrapped_key_cid: str
    wrapped_key_sha256: bytes
    key_epoch: int


@dataclass(frozen=True)
class KeyRevoked(EventRecord):
    event_name: ClassVar[str] = "KeyRevoked"
    federation_id: int
    account: str
    key_owner: str
    kind: KeyKind
    revoker: str


@dataclass(frozen=True)
class RoundOpened(EventRecord):
    event_name: ClassVar[str] = "RoundOpened"
    federation_id: int
    round: int
    opener: str
    deadline: int
    key_epoch: int


@dataclass(frozen=True)
class UpdateSubmitted(EventRecord):
    """A model update's only event: the artifact fields plus the analyst's declared FedAvg weight."""

    event_name: ClassVar[str] = "UpdateSubmitted"
    artifact_id: int
    federation_id: int
    round: int
    analyst: str
    cid: str
    sha256: bytes
    size: int
    weight: int
    parents: tuple[int, ...]

    def as_artifact(self) -> ArtifactRegistered:
        """The update as an artifact record (kind ``MODEL_UPDATE``, submitter = analyst), same position."""
        return ArtifactRegistered(
            block_number=self.block_number, transaction_hash=self.transaction_hash, log_index=self.log_index,
            artifact_id=self.artifact_id, federation_id=self.federation_id, round=self.round,
            kind=ArtifactKind.MODEL_UPDATE, submitter=self.analyst, cid=self.cid, sha256=self.sha256,
            size=self.size, parents=self.parents,
        )


@dataclass(frozen=True)
class RoundClosed(EventRecord):
    event_name: ClassVar[str] = "RoundClosed"
    federation_id: int
    round: int
    aggregator: str
    update_count: int


@dataclass(frozen=True)
class AggregatePosted(EventRecord):
    event_name: ClassVar[str] = "AggregatePosted"
    federation_id: int
    round: int
    aggregator: str
    artifact_id: int
    sha256: bytes
    included_count: int
    excluded_count: int
    weights_total: int


@dataclass(frozen=True)
class UpdateExcluded(EventRecord):
    event_name: ClassVar[str] = "UpdateExcluded"
    federation_id: int
    round: int
    update_artifact_id: int
    update_sha256: bytes
    reason: ExclusionReason


@dataclass(frozen=True)
class AggregateDisputed(EventRecord):
    event_name: ClassVar[str] = "AggregateDisputed"
    federation_id: int
    round: int
    key_holder: str
    subject_artifact_id: int
    reason: DisputeReason
    detail: str


@dataclass(frozen=True)
class RoundFinalized(EventRecord):
    event_name: ClassVar[str] = "RoundFinalized"
    federation_id: int
    round: int
    version: int
    key_holder: str
    parent_version: int
    global_model_artifact: int
    metrics_artifact: int
    dp: DpParameters


@dataclass(frozen=True)
class RoundAborted(EventRecord):
    event_name: ClassVar[str] = "RoundAborted"
    federation_id: int
    round: int
    admin: str
    reason: str


EVENT_TYPES: tuple[type[EventRecord], ...] = (
    FederationCreated,
    FederationRoleGranted,
    FederationRoleRevoked,
    ArtifactRegistered,
    DatasetRegistered,
    KeyEpochStarted,
    EpochCustodySet,
    KeyEpochRevoked,
    EncryptionKeyRegistered,
    KeyGranted,
    KeyRevoked,
    RoundOpened,
    UpdateSubmitted,
    RoundClosed,
    AggregatePosted,
    UpdateExcluded,
    AggregateDisputed,
    PartialDecryptionSubmitted,
    RoundFinalized,
    RoundAborted,
)
