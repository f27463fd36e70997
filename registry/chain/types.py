"""Python mirrors of the registry's Solidity types: enums, roles, inputs and stored records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Mapping, Sequence

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


class ArtifactKind(IntEnum):
    """What an artifact's bytes are (``IModelRegistry.ArtifactKind``)."""

    DATASET = 0
    WRAPPED_KEY = 1
    MODEL_UPDATE = 2
    ENCRYPTED_AGGREGATE = 3
    GLOBAL_MODEL = 4
    METRICS = 5
    PAILLIER_PUBLIC_KEY = 6
    FEDERATION_CONFIG = 7
    THRESHOLD_KEY = 8
    PARTIAL_DECRYPTION = 9


class KeyKind(IntEnum):
    """Which secret a key grant hands over (``IModelRegistry.KeyKind``)."""

    PAILLIER_PRIVATE_KEY = 0
    CODEC_KEY = 1
    MODEL_KEY = 2


class HpkeSuite(IntEnum):
    """HPKE suite of a registered encryption key (``IModelRegistry.HpkeSuite``)."""

    DHKEM_X25519 = 0
    MLKEM768_X25519 = 1


class CodecKeyPolicy(IntEnum):
    """Who owns and grants the codec key (``IModelRegistry.CodecKeyPolicy``)."""

    PER_DATA_OWNER = 0
    FEDERATION_WIDE = 1


class RoundStatus(IntEnum):
    """Life cycle of a round (``IModelRegistry.RoundStatus``)."""

    NONE = 0
    OPEN = 1
    AGGREGATING = 2
    FINALIZED = 3
    ABORTED = 4


class ExclusionReason(IntEnum):
    """Why the aggregator left an update out of its aggregate (``IModelRegistry.ExclusionReason``)."""

    NONE = 0
    UNAVAILABLE = 1
    CONTENT_MISMATCH = 2
    OVER_SIZE = 3
    UNPARSEABLE = 4
    WRONG_KEY = 5
    WRONG_LAYOUT = 6
    WRONG_CONTEXT = 7
    WEIGHT_MISMATCH = 8


class DisputeReason(IntEnum):
    """Why a key holder refused to decrypt an aggregate (``IModelRegistry.DisputeReason``)."""

    VALID_UPDATE_EXCLUDED = 0
    INVALID_UPDATE_INCLUDED = 1
    AGGREGATE_MISMATCH = 2
    DECRYPTION_REFUSED = 3


ENUMS: dict[str, type[IntEnum]] = {
    "ArtifactKind": ArtifactKind,
    "KeyKind": KeyKind,
    "CodecKeyPolicy": CodecKeyPolicy,
    "RoundStatus": RoundStatus,
    "ExclusionReason": ExclusionReason,
    "DisputeReason": DisputeReason,
    "HpkeSuite": HpkeSuite,
}


def _role_id(name: str) -> bytes:
    return keccak(text=name)


class Role:
    """Per-federation base roles (grant them with ``grant_role``), and the registry-wide ones."""

    FEDERATION_ADMIN = _role_id("FEDERATION_ADMIN_ROLE")
    DATA_OWNER = _role_id("DATA_OWNER_ROLE")
    ANALYST = _role_id("ANALYST_ROLE")
    AGGREGATOR = _role_id("AGGREGATOR_ROLE")
    FEDERATION_CREATOR = _role_id("FEDERATION_CREATOR_ROLE")
    DEFAULT_ADMIN = bytes(32)


ROLE_NAMES: dict[bytes, str] = {
    Role.FEDERATION_ADMIN: "FEDERATION_ADMIN",
    Role.DATA_OWNER: "DATA_OWNER",
    Role.ANALYST: "ANALYST",
    Role.AGGREGATOR: "AGGREGATOR",
    Role.FEDERATION_CREATOR: "FEDERATION_CREATOR",
    Role.DEFAULT_ADMIN: "DEFAULT_ADMIN",
}
FEDERATION_ROLES = (Role.FEDERATION_ADMIN, Role.DATA_OWNER, Role.ANALYST, Role.AGGREGATOR)


def role_name(role: bytes) -> str:
    """Readable name of a role id (its hex when it is not one of the registry's roles)."""
    return ROLE_NAMES.get(bytes(role), "0x" + bytes(role).hex())


def role_by_name(name: str) -> bytes:
    """The per-federation role id for ``admin``/``data-owner``/``analyst``/``aggregator`` (any case).

    Raises:
        ValueError: If ``name`` is not a per-federation role.
    """
    key = name.strip().upper().replace("-", "_").removesuffix("_ROLE")
    key = "FEDERATION_ADMIN" if key == "ADMIN" else key
    for role in FEDERATION_ROLES:
        if ROLE_NAMES[role] == key:
            return role
    raise ValueError(f"unknown role {name!r}; use one of admin, data-owner, analyst, aggregator")


@dataclass(frozen=True)
class ArtifactInput:
    """Content address of an artifact as it is registered: IPFS CID, sha256 of the bytes, size."""

    cid: str
    sha256: bytes
    size: int

    def as_tuple(self) -> tuple[str, bytes, int]:
        return (self.cid, bytes(self.sha256), int(self.size))


@dataclass(frozen=True)
class Exclusion:
    """An update the aggregator leaves out of its aggregate, by content hash, with the reason."""

    update_sha256: bytes
    reason: ExclusionReason

    def as_tuple(self) -> tuple[bytes, int]:
        return (bytes(self.update_sha256), int(self.reason))


MAX_REASON_BYTES = 512
"""Longest free-text dispute detail or abort reason the registry accepts (``ModelRegistry.MAX_REASON_LENGTH``)."""

MICROS = 10**6
ATTOS = 10**18


@dataclass(frozen=True)
class DpParameters:
    """DP record of a round, fixed-point as on chain; ``DpParameters.none()`` is "no DP"."""

    epsilon_micros: int
    delta_atto: int
    noise_multiplier_micros: int
    clip_norm_micros: int
    accountant: str

    @classmethod
    def none(cls) -> DpParameters:
        """The "no DP" record."""
        return cls(0, 0, 0, 0, "")

    @classmethod
    def from_floats(
        cls, epsilon: float, delta: float, noise_multiplier: float, clip_norm: float, accountant: str
    ) -> DpParameters:
        """Build from the usual float values (ε, δ, σ, C), rounded to the chain's fixed point."""
        return cls(
            round(epsilon * MICROS),
            round(delta * ATTOS),
            round(noise_multiplier * MICROS),
            round(clip_norm * MICROS),
            accountant,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.accountant)

    @property
    def epsilon(self) -> float:
        return self.epsilon_micros / MICROS

    @property
    def delta(self) -> float:
        return self.delta_atto / ATTOS

    @property
    def noise_multiplier(self) -> float:
        return self.noise_multiplier_micros / MICROS

    @property
    def clip_norm(self) -> float:
        return self.clip_norm_micros / MICROS

    def as_tuple(self) -> tuple[int, int, int, int, str]:
        return (
            self.epsilon_micros,
            self.delta_atto,
            self.noise_multiplier_micros,
            self.clip_norm_micros,
            self.accountant,
        )

    @classmethod
    def from_abi(cls, value: Any) -> DpParameters:
        if isinstance(value, Mapping):
            return cls(
                value["epsilonMicros"],
                value["deltaAtto"],
                value["noiseMultiplierMicros"],
                value["clipNormMicros"],
                value["accountant"],
            )
        return cls(*value)


@dataclass(frozen=True)
class Federation:
    """Stored record of a federation."""

    federation_id: int
    paillier_public_key_artifact: int
    min_participants: int
    codec_key_policy: CodecKeyPolicy
    round_count: int
    model_version_count: int
    key_epoch: int


@dataclass(frozen=True)
class KeyEpoch:
    """Stored record of a Paillier key epoch (all zero when it never started)."""

    federation_id: int
    epoch: int
    public_key_artifact: int
    started_at: int
    revoked_at: int
    encoding_digest: bytes

    @property
    def live(self) -> bool:
        return self.started_at != 0 and self.revoked_at == 0


@dataclass(frozen=True)
class EpochCustody:
    """Threshold custody of a key epoch (``threshold`` 0: a single key holder decrypts its rounds)."""

    federation_id: int
    epoch: int
    threshold: int
    custodian_count: int
    threshold_key_artifact: int

    @property
    def shared(self) -> bool:
        """Whether the epoch's key is shared among custodians."""
        return self.threshold != 0


@dataclass(frozen=True)
class Round:
    """Stored record of a round."""

    federation_id: int
    round: int
    status: RoundStatus
    deadline: int
    update_count: int
    key_epoch: int
    included_count: int
    disputed: bool
    aggregate_artifact: int
    model_version: int
    weights_total: int
    aggregate_sha256: bytes


@dataclass(frozen=True)
class EncryptionKey:
    """An account's registered HPKE public key record (zero ``registered_at`` when none)."""

    suite: HpkeSuite
    registered_at: int
    public_key_sha256: bytes


@dataclass(frozen=True)
class UpdateRecord:
    """Stored record of a model update, filed by federation and content hash (all zero when unknown)."""

    artifact_id: int
    round: int
    weight: int


@dataclass(frozen=True)
class Dataset:
    """Stored record of a dataset: its owner and sample count (zero address and 0 when not a dataset)."""

    owner: str
    sample_count: int


@dataclass(frozen=True)
class ModelVersion:
    """Stored record of a model version: its round, parent version and artifacts."""

    federation_id: int
    version: int
    round: int
    parent_version: int
    global_model_artifact: int
    metrics_artifact: int


@dataclass(frozen=True)
class KeyGrant:
    """Stored record of a key grant (all zero when never granted)."""

    grantor: str
    granted_at: int
    revoked_at: int
    wrapped_key_sha256: bytes
    key_epoch: int

    @property
    def active(self) -> bool:
        return self.granted_at != 0 and self.revoked_at == 0


def artifact_digest(
    kind: ArtifactKind,
    federation_id: int,
    round_: int,
    submitter: str,
    cid: str,
    sha256: bytes,
    size: int,
    parents: Sequence[int],
) -> bytes:
    """The digest the registry stores for an artifact (Solidity ``ArtifactDigest.compute``)."""
    parents_hash = keccak(b"".join(int(p).to_bytes(32, "big") for p in parents))
    return keccak(
        encode(
            ["uint8", "uint64", "uint64", "address", "bytes32", "bytes32", "uint64", "bytes32"],
            [
                int(kind),
                federation_id,
                round_,
                to_checksum_address(submitter),
                keccak(text=cid),
                bytes(sha256),
                size,
                parents_hash,
            ],
        )
    )
