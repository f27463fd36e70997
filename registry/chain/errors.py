"""Exceptions of the chain layer, including one class per custom error of the registry contract.

A refused transaction surfaces as the subclass of :class:`RegistryRevert` named after the Solidity
error, carrying its fields as attributes (snake_case) and a message a person can act on.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import keccak, to_checksum_address


class ChainError(RuntimeError):
    """Base class of every error raised by the chain layer."""


class CompilationError(ChainError):
    """The registry contracts could not be compiled."""


class ChainConnectionError(ChainError):
    """The JSON-RPC endpoint does not answer."""


class WrongChainError(ChainError):
    """The RPC endpoint serves a different chain than the one configured."""

    def __init__(self, rpc_url: str, expected: int, actual: int) -> None:
        self.rpc_url, self.expected, self.actual = rpc_url, expected, actual
        super().__init__(
            f"RPC {rpc_url} serves chain id {actual}, but chain id {expected} is expected; "
            "point FLEP_RPC_URL at the right node or set FLEP_CHAIN_ID"
        )


class RegistryNotDeployedError(ChainError):
    """No registry contract exists at the configured address."""


class TransactionFailedError(ChainError):
    """A transaction reverted without a registry error (out of gas, panic, unknown reason)."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class RegistryRevert(ChainError):
    """A call refused by the registry with one of its custom errors.

    Attributes:
        error_name: The Solidity error name, e.g. ``ModelRegistryUnauthorizedAccount``.
        fields: The error's arguments by their snake_case names (also set as attributes).
    """

    solidity_name: ClassVar[str] = ""

    def __init__(self, **fields: Any) -> None:
        self.error_name = self.solidity_name
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        super().__init__(self.describe())

    def describe(self) -> str:
        """The readable message; subclasses say what failed and what to do."""
        args = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"registry refused the call: {self.error_name}({args})"


_ERROR_CLASSES: dict[str, type[RegistryRevert]] = {}


def _registers(cls: type[RegistryRevert]) -> type[RegistryRevert]:
    _ERROR_CLASSES[cls.solidity_name] = cls
    return cls


def _role(role: bytes) -> str:
    from registry.chain.types import role_name  # local: types imports nothing from here

    return role_name(role)


def _status(status: Any) -> str:
    return status.name.lower() if isinstance(status, IntEnum) else str(status)


@_registers
class UnauthorizedAccountError(RegistryRevert):
    solidity_name = "ModelRegistryUnauthorizedAccount"

    def describe(self) -> str:
        return (
            f"account {self.account} lacks role {_role(self.role)} in federation {self.federation_id}; "
            "ask the federation admin to grant it"
        )


@_registers
class AccessControlUnauthorizedError(RegistryRevert):
    solidity_name = "AccessControlUnauthorizedAccount"

    def describe(self) -> str:
        return f"account {self.account} lacks role {_role(self.needed_role)} (registry-wide)"


@_registers
class AccessControlBadConfirmationError(RegistryRevert):
    solidity_name = "AccessControlBadConfirmation"

    def describe(self) -> str:
        return "an account can only renounce its own roles"


@_registers
class UnknownFederationError(RegistryRevert):
    solidity_name = "ModelRegistryUnknownFederation"

    def describe(self) -> str:
        return f"federation {self.federation_id} does not exist"


@_registers
class UnknownRoleError(RegistryRevert):
    solidity_name = "ModelRegistryUnknownRole"

    def describe(self) -> str:
        return (
            f"role {_role(self.role)} is neither a per-federation role (admin, data owner, analyst, aggregator) "
            "nor registry-wide, nor a role of an existing federation; create the federation first"
        )


@_registers
class ZeroAddressError(RegistryRevert):
    solidity_name = "ModelRegistryZeroAddress"

    def describe(self) -> str:
        return "the zero address was given where an account is needed"


@_registers
class InvalidMinParticipantsError(RegistryRevert):
    solidity_name = "ModelRegistryInvalidMinParticipants"

    def describe(self) -> str:
        return f"a federation needs at least 1 participant per round, got {self.min_participants}"


@_registers
class EmptyCidError(RegistryRevert):
    solidity_name = "ModelRegistryEmptyCid"

    def describe(self) -> str:
        return "the artifact has no CID; add it to IPFS first and register the CID it returns"


@_registers
class CidTooLongError(RegistryRevert):
    solidity_name = "ModelRegistryCidTooLong"

    def describe(self) -> str:
        return f"the CID is {self.length} bytes long, at most {self.max_length} are accepted"


@_registers
class ZeroHashError(RegistryRevert):
    solidity_name = "ModelRegistryZeroHash"

    def describe(self) -> str:
        return "the sha256 is all zero; register the sha256 of the artifact's bytes"


@_registers
class UnknownArtifactError(RegistryRevert):
    solidity_name = "ModelRegistryUnknownArtifact"

    def describe(self) -> str:
        return f"artifact {self.artifact_id} does not exist"


@_registers
class WrongArtifactKindError(RegistryRevert):
    solidity_name = "ModelRegistryWrongArtifactKind"

    def describe(self) -> str:
        return (
            f"artifacts of kind {_status(self.kind)} cannot be registered this way; "
            "use the dedicated call (register_dataset, submit_update, post_aggregate, finalize_round, start_key_epoch)"
        )


@_registers
class PublicKeyNotSetError(RegistryRevert):
    solidity_name = "ModelRegistryPublicKeyNotSet"

    def describe(self) -> str:
        return (
            f"federation {self.federation_id} has no Paillier key epoch yet; the admin must start one "
            "(start_key_epoch) before opening a round or granting the private key"
        )


@_registers
class KeyGrantRevokedError(RegistryRevert):
    solidity_name = "ModelRegistryKeyGrantRevoked"

    def describe(self) -> str:
        return (
            f"the {_status(self.kind)} grant to {self.account} in federation {self.federation_id} was revoked "
            f"at {self.revoked_at} and can never be used again"
        )


@_registers
class KeyNotGrantedError(RegistryRevert):
    solidity_name = "ModelRegistryKeyNotGranted"

    def describe(self) -> str:
        return (
            f"account {self.account} holds no {_status(self.kind)} grant in federation {self.federation_id}; "
            "the federation admin must grant it first"
        )


@_registers
class RoundInProgressError(RegistryRevert):
    solidity_name = "ModelRegistryRoundInProgress"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} is still {_status(self.status)}; "
            "finalize or abort it before opening the next"
        )


@_registers
class DeadlineInPastError(RegistryRevert):
    solidity_name = "ModelRegistryDeadlineInPast"

    def describe(self) -> str:
        return f"deadline {self.deadline} is not after the current block time {self.timestamp}"


@_registers
class UnknownRoundError(RegistryRevert):
    solidity_name = "ModelRegistryUnknownRound"

    def describe(self) -> str:
        return f"round {self.round} of federation {self.federation_id} does not exist"


@_registers
class WrongRoundStatusError(RegistryRevert):
    solidity_name = "ModelRegistryWrongRoundStatus"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} is {_status(self.status)}, "
            f"but this call needs it {_status(self.expected)}"
        )


@_registers
class DeadlinePassedError(RegistryRevert):
    solidity_name = "ModelRegistryDeadlinePassed"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} closed for submissions at {self.deadline} "
            f"(block time now {self.timestamp})"
        )


@_registers
class DuplicateUpdateError(RegistryRevert):
    solidity_name = "ModelRegistryDuplicateUpdate"

    def describe(self) -> str:
        return (
            f"analyst {self.analyst} already submitted an update in round {self.round} of federation "
            f"{self.federation_id}; one update per analyst per round"
        )


@_registers
class TooFewUpdatesError(RegistryRevert):
    solidity_name = "ModelRegistryTooFewUpdates"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} has {self.update_count} updates but needs "
            f"{self.min_participants}; wait for more, include more, or abort the round"
        )


@_registers
class AggregateUpdateMismatchError(RegistryRevert):
    solidity_name = "ModelRegistryAggregateUpdateMismatch"

    def describe(self) -> str:
        return (
            f"the aggregate names {self.given} updates (included + excluded) but round {self.round} of federation "
            f"{self.federation_id} has {self.update_count}; every update must be included or excluded with a reason"
        )


@_registers
class AggregateAlreadyPostedError(RegistryRevert):
    solidity_name = "ModelRegistryAggregateAlreadyPosted"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} already has its aggregate "
            f"(artifact {self.artifact_id})"
        )


@_registers
class AggregateMissingError(RegistryRevert):
    solidity_name = "ModelRegistryAggregateMissing"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} has no aggregate yet; "
            "the aggregator must post it before the round can be finalized"
        )


@_registers
class UnknownModelVersionError(RegistryRevert):
    solidity_name = "ModelRegistryUnknownModelVersion"

    def describe(self) -> str:
        return f"model version {self.version} of federation {self.federation_id} does not exist"


@_registers
class InvalidDpParametersError(RegistryRevert):
    solidity_name = "ModelRegistryInvalidDpParameters"

    def describe(self) -> str:
        return (
            f"inconsistent DP record (epsilon {self.epsilon_micros}e-6, delta {self.delta_atto}e-18, "
            f"sigma {self.noise_multiplier_micros}e-6, C {self.clip_norm_micros}e-6): with an accountant "
            "epsilon, sigma and C must be positive and delta < 1; without one all must be zero"
        )


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


@_registers
class ForeignParentError(RegistryRevert):
    solidity_name = "ModelRegistryForeignParent"

    def describe(self) -> str:
        return (
            f"parent artifact {self.parent} belongs to federation {self.parent_federation_id}, not to federation "
            f"{self.federation_id}; an artifact can only derive from artifacts of its own federation"
        )


@_registers
class UpdateAsParentError(RegistryRevert):
    solidity_name = "ModelRegistryUpdateAsParent"

    def describe(self) -> str:
        return (
            f"artifact {self.parent} is a model update; only its round's aggregate may derive from it, "
            "so it cannot be named as a parent"
        )


@_registers
class UnsortedParentsError(RegistryRevert):
    solidity_name = "ModelRegistryUnsortedParents"

    def describe(self) -> str:
        return (
            f"parent {self.parent} breaks the strictly ascending order an update's parents need "
            "(each dataset counted once); sort and deduplicate the parent ids"
        )


@_registers
class EmptyDatasetError(RegistryRevert):
    solidity_name = "ModelRegistryEmptyDataset"

    def describe(self) -> str:
        return "a dataset must hold at least one sample; register its real sample count"


@_registers
class KeyEpochRevokedError(RegistryRevert):
    solidity_name = "ModelRegistryKeyEpochRevoked"

    def describe(self) -> str:
        return (
            f"Paillier key epoch {self.epoch} of federation {self.federation_id} was revoked with its key holder "
            "and is never used again; the admin must start a new key epoch (a new key pair)"
        )


@_registers
class WrongKeyEpochError(RegistryRevert):
    solidity_name = "ModelRegistryWrongKeyEpoch"

    def describe(self) -> str:
        return (
            f"account {self.account} holds the Paillier key of epoch {self.grant_epoch}, but this round of "
            f"federation {self.federation_id} uses epoch {self.round_epoch}; the admin must grant that epoch's key"
        )


@_registers
class DuplicateUpdateContentError(RegistryRevert):
    solidity_name = "ModelRegistryDuplicateUpdateContent"

    def describe(self) -> str:
        return (
            f"an update with sha256 {_hex(self.sha256)} is already registered in federation {self.federation_id} "
            f"as artifact {self.artifact_id}; a copied or replayed update is refused: encrypt a fresh one"
        )


@_registers
class InvalidWeightError(RegistryRevert):
    solidity_name = "ModelRegistryInvalidWeight"

    def describe(self) -> str:
        return (
            f"analyst {self.analyst} declared FedAvg weight {self.weight}, but the datasets it names and was "
            f"granted hold {self.granted_samples} samples in federation {self.federation_id}; declare at most that "
            "(and at least 1), naming every dataset trained on as a parent"
        )


@_registers
class DatasetNotGrantedError(RegistryRevert):
    solidity_name = "ModelRegistryDatasetNotGranted"

    def describe(self) -> str:
        return (
            f"analyst {self.analyst} names dataset {self.dataset_id} of federation {self.federation_id} without a "
            "live grant of its codec key; ask its data owner for a grant or drop the dataset"
        )


@_registers
class UpdateNotInRoundError(RegistryRevert):
    solidity_name = "ModelRegistryUpdateNotInRound"

    def describe(self) -> str:
        where = (
            f"it is update {self.artifact_id} of round {self.update_round}"
            if self.artifact_id
            else "no update of the federation has that hash"
        )
        return (
            f"sha256 {_hex(self.sha256)} is not an update of round {self.round} of federation "
            f"{self.federation_id}: {where}; an aggregate may only name the round's own updates"
        )


@_registers
class UnsortedUpdatesError(RegistryRevert):
    solidity_name = "ModelRegistryUnsortedUpdates"

    def describe(self) -> str:
        return (
            f"update {_hex(self.sha256)} is named out of order or twice in the aggregate of round {self.round} of "
            f"federation {self.federation_id}; name each update once, hashes strictly ascending"
        )


@_registers
class MissingExclusionReasonError(RegistryRevert):
    solidity_name = "ModelRegistryMissingExclusionReason"

    def describe(self) -> str:
        return f"the exclusion of update {_hex(self.sha256)} gives no reason; every exclusion must say why"


@_registers
class AggregateDisputedError(RegistryRevert):
    solidity_name = "ModelRegistryAggregateDisputed"

    def describe(self) -> str:
        return (
            f"a key holder disputed the aggregate of round {self.round} of federation {self.federation_id}; "
            "the round cannot be finalized: the admin should abort it (see its AggregateDisputed event)"
        )


@_registers
class DisputeSubjectMismatchError(RegistryRevert):
    solidity_name = "ModelRegistryDisputeSubjectMismatch"

    def describe(self) -> str:
        return (
            f"this dispute must name the aggregate of round {self.round} of federation {self.federation_id} "
            f"(sha256 {_hex(self.expected)}), not {_hex(self.given)}"
        )


@_registers
class ReasonTooLongError(RegistryRevert):
    solidity_name = "ModelRegistryReasonTooLong"

    def describe(self) -> str:
        return f"the reason text has {self.length} bytes; at most {self.max_length} are accepted"


@_registers
class InvalidEncryptionKeyError(RegistryRevert):
    solidity_name = "ModelRegistryInvalidEncryptionKey"

    def describe(self) -> str:
        return (
            f"an encryption key of suite {_status(self.suite)} must be {self.expected_length} bytes, "
            f"got {self.length}; register the raw HPKE public key bytes"
        )


@_registers
class InvalidThresholdError(RegistryRevert):
    solidity_name = "ModelRegistryInvalidThreshold"

    def describe(self) -> str:
        return (
            f"a threshold of {self.threshold} of {self.custodian_count} custodians is not possible; it needs "
            "1 <= threshold <= custodians <= 64"
        )


@_registers
class CustodyAlreadySetError(RegistryRevert):
    solidity_name = "ModelRegistryCustodyAlreadySet"

    def describe(self) -> str:
        return (
            f"key epoch {self.epoch} of federation {self.federation_id} is already shared among custodians; "
            "deal a new key for a new epoch (`flep keys ceremony`)"
        )


@_registers
class DuplicateCustodianError(RegistryRevert):
    solidity_name = "ModelRegistryDuplicateCustodian"

    def describe(self) -> str:
        return f"account {self.account} is named twice among the custodians; each holds one share"


@_registers
class NotCustodianError(RegistryRevert):
    solidity_name = "ModelRegistryNotCustodian"

    def describe(self) -> str:
        return (
            f"account {self.account} is not a custodian of key epoch {self.epoch} of federation "
            f"{self.federation_id} (or the epoch has a single key holder); only custodians submit partial "
            "decryptions"
        )


@_registers
class DuplicatePartialError(RegistryRevert):
    solidity_name = "ModelRegistryDuplicatePartial"

    def describe(self) -> str:
        return (
            f"custodian {self.custodian} already submitted its partial decryption of round {self.round} of "
            f"federation {self.federation_id}"
        )


@_registers
class TooFewPartialsError(RegistryRevert):
    solidity_name = "ModelRegistryTooFewPartials"

    def describe(self) -> str:
        return (
            f"round {self.round} of federation {self.federation_id} has {self.partial_count} partial "
            f"decryptions, its key epoch needs {self.threshold} before it can be finalized; wait for more "
            "custodians"
        )


def error_classes() -> dict[str, type[RegistryRevert]]:
    """Exception class per Solidity error name."""
    return dict(_ERROR_CLASSES)


class ErrorDecoder:
    """Turns revert data into the matching :class:`RegistryRevert` subclass, using the contract ABI."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        from registry.chain.types import ENUMS

        self._by_selector: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        self._enums = ENUMS
        for entry in abi:
            if entry.get("type") != "error":
                continue
            signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
            self._by_selector[keccak(text=signature)[:4]] = (entry["name"], entry["inputs"])

    def decode(self, data: bytes | str) -> RegistryRevert | None:
        """The exception for ``data``, or ``None`` when it is no error of this ABI."""
        raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
        entry = self._by_selector.get(raw[:4])
        if entry is None:
            return None
        name, inputs = entry
        values = decode([i["type"] for i in inputs], raw[4:])
        fields = {_snake(i["name"]): self._convert(i, v) for i, v in zip(inputs, values)}
        cls = _ERROR_CLASSES.get(name)
        if cls is None:
            cls = type(name, (RegistryRevert,), {"solidity_name": name})
        return cls(**fields)

    def _convert(self, spec: dict[str, Any], value: Any) -> Any:
        internal = spec.get("internalType", "")
        if internal.startswith("enum "):
            enum = self._enums.get(internal.rsplit(".", 1)[-1])
            return enum(value) if enum else value
        if spec["type"] == "address":
            return to_checksum_address(value)
        return value
