"""Chain bindings of the FLEP registry: compile, deploy and drive ``ModelRegistry`` from Python.

Public surface: :func:`connect` (refuses the wrong chain), :class:`ModelRegistry` (one method per
action, typed views and event queries), the Solidity types and event records, and the exceptions
(one :class:`RegistryRevert` subclass per custom error of the contract).
"""

from registry.chain import events
from registry.chain.compiler import CompiledContract, compile_contracts, compile_registry
from registry.chain.connection import connect
from registry.chain.errors import (
    ChainConnectionError,
    ChainError,
    CompilationError,
    ErrorDecoder,
    RegistryNotDeployedError,
    RegistryRevert,
    TransactionFailedError,
    WrongChainError,
    error_classes,
)
from registry.chain.registry import Deployment, ModelRegistry, Tx, ZERO_ADDRESS
from registry.chain.types import (
    ArtifactInput,
    ArtifactKind,
    CodecKeyPolicy,
    Dataset,
    DisputeReason,
    DpParameters,
    EncryptionKey,
    EpochCustody,
    Exclusion,
    ExclusionReason,
    Federation,
    HpkeSuite,
    KeyEpoch,
    KeyGrant,
    KeyKind,
    MAX_REASON_BYTES,
    ModelVersion,
    Role,
    Round,
    RoundStatus,
    UpdateRecord,
    artifact_digest,
    role_by_name,
    role_name,
)

__all__ = [
    "ArtifactInput",
    "ArtifactKind",
    "ChainConnectionError",
    "ChainError",
    "CodecKeyPolicy",
    "CompilationError",
    "CompiledContract",
    "Dataset",
    "Deployment",
    "DisputeReason",
    "DpParameters",
    "EncryptionKey",
    "EpochCustody",
    "ErrorDecoder",
    "Exclusion",
    "ExclusionReason",
    "Federation",
    "HpkeSuite",
    "KeyEpoch",
    "KeyGrant",
    "KeyKind",
    "MAX_REASON_BYTES",
    "ModelRegistry",
    "ModelVersion",
    "RegistryNotDeployedError",
    "RegistryRevert",
    "Role",
    "Round",
    "RoundStatus",
    "TransactionFailedError",
    "Tx",
    "UpdateRecord",
    "WrongChainError",
    "ZERO_ADDRESS",
    "artifact_digest",
    "compile_contracts",
    "compile_registry",
    "connect",
    "error_classes",
    "events",
    "role_by_name",
    "role_name",
]
