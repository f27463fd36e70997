"""What the ServerApp and the ClientApps say to each other through Flower: ids only, never a model.

A train instruction names the federation, the round and the global model version (with its artifact id) the
round starts from; a reply names the update artifact the analyst registered on chain. Everything these ids
point to is fetched from IPFS and verified against the chain by whoever reads it, so Flower carries no
plaintext, no ciphertext and nothing a party has to trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from flwr.app import ConfigRecord, RecordDict

if TYPE_CHECKING:
    from registry.chain import ModelRegistry

TRAIN_RECORD = "flep.train"
REPLY_RECORD = "flep.update"


class MessageFormatError(ValueError):
    """A Flower message does not carry the record this protocol expects."""


def _read(content: RecordDict, record: str, kind: type) -> dict:
    """The fields of ``kind`` from ``content[record]``, each checked for its type."""
    if record not in content.config_records:
        raise MessageFormatError(f"the message carries no {record!r} config record; is the other side a FLEP "
                                 "Flower app of the same version?")
    return _typed(content.config_records[record], record, kind)


def _typed(values: Mapping[str, object], where: str, kind: type) -> dict:
    """The fields of ``kind`` from ``values``, each checked for its type (no others allowed)."""
    names = [f.name for f in fields(kind)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise MessageFormatError(f"{where!r} carries unknown field(s) {unknown}")
    found = {}
    for f in fields(kind):
        value = values.get(f.name)
        expected = {"int": int, "str": str, "float": float}[str(f.type)]
        if type(value) is not expected and not (expected is float and type(value) is int):
            raise MessageFormatError(f"field {f.name!r} of {where!r} must be {expected.__name__}, got "
                                     f"{type(value).__name__}")
        found[f.name] = expected(value)
    return found


@dataclass(frozen=True)
class TrainInstruction:
    """Train round ``round`` of federation ``federation_id`` on registry ``registry`` from model version
    ``model_version`` (0: the plan's initial model), whose global model artifact is ``model_artifact``."""

    registry: str
    federation_id: int
    round: int
    model_version: int
    model_artifact: int

    @classmethod
    def from_chain(cls, registry: ModelRegistry, federation_id: int, round_: int) -> TrainInstruction:
        """The instruction the chain backs for ``round_``: it starts from the federation's latest model version.
        The ServerApp sends it; a SuperNode compares what it received with it."""
        version = registry.federation(federation_id).model_version_count
        artifact = registry.model_version(federation_id, version).global_model_artifact if version else 0
        return cls(registry.address, federation_id, round_, version, artifact)

    def to_content(self) -> RecordDict:
        return RecordDict({TRAIN_RECORD: ConfigRecord(asdict(self))})

    @classmethod
    def from_content(cls, content: RecordDict) -> TrainInstruction:
        """Raises: MessageFormatError: If the record or one of its fields is missing, mistyped or unknown."""
        return cls(**_read(content, TRAIN_RECORD, cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> TrainInstruction:
        """The instruction from its fields as a mapping (the analyst worker's request).

        Raises:
            MessageFormatError: If a field is missing, mistyped or unknown.
        """
        return cls(**_typed(values, TRAIN_RECORD, cls))


@dataclass(frozen=True)
class TrainReply:
    """The update ``update_id`` analyst ``analyst`` registered for the round, with its gas and wall time;
    ``epsilon`` is the analyst's cumulative ε after a DP round (negative: no DP)."""

    analyst: str
    update_id: int
    gas_used: int
    seconds: float
    epsilon: float = -1.0

    def to_content(self) -> RecordDict:
        return RecordDict({REPLY_RECORD: ConfigRecord(asdict(self))})

    @classmethod
    def from_content(cls, content: RecordDict) -> TrainReply:
        """Raises: MessageFormatError: If the record or one of its fields is missing, mistyped or unknown."""
        return cls(**_read(content, REPLY_RECORD, cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> TrainReply:
        """The reply from its fields as a mapping (the analyst worker's answer).

        Raises:
            MessageFormatError: If a field is missing, mistyped or unknown.
        """
        return cls(**_typed(values, REPLY_RECORD, cls))
