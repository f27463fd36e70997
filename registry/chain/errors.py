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
        return f"role {_role(self.role)} is not a per-federation role (admin, data owner, analyst, aggregator)"


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
            "use the dedicated call (submit_update, post_aggregate, finalize_round, set_paillier_public_key)"
        )


@_registers
class PublicKeyAlreadySetError(RegistryRevert):
    solidity_name = "ModelRegistryPublicKeyAlreadySet"

    def describe(self) -> str:
        return (
            f"federation {self.federation_id} already has its Paillier public key (artifact {self.artifact_id}); "
            "a new key needs a new federation"
        )


@_registers
class PublicKeyNotSetError(RegistryRevert):
    solidity_name = "ModelRegistryPublicKeyNotSet"

    def describe(self) -> str:
        return f"federation {self.federation_id} has no Paillier public key yet; set it before opening a round"


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
            f"{self.min_participants}; wait for more or abort the round"
        )


@_registers
class AggregateUpdateMismatchError(RegistryRevert):
    solidity_name = "ModelRegistryAggregateUpdateMismatch"

    def describe(self) -> str:
        return (
            f"the aggregate names {self.given} updates but round {self.round} of federation "
            f"{self.federation_id} has {self.update_count}"
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
