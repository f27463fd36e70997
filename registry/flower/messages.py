"""What the ServerApp and the ClientApps say to each other through Flower: ids only, never a model.

Before the first round a roll call asks each SuperNode which analyst of the federation stands behind it (the
answer: its account), so the rounds start once every node is ready. A train instruction names the federation, the
round and the global model version the round starts from; the ServerApp sends it one round ahead (before the
round opens, while the previous one is aggregated and finalized), so the version's artifact is not known yet when
it is sent: the analyst reads it from the chain. A reply names the update artifact the analyst registered on
chain and the global model artifact it trained from. Everything these ids point to is fetched from IPFS and
verified against the chain by whoever reads it, so Flower carries no plaintext, no ciphertext and nothing a party
has to trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, ClassVar, Self

from flwr.app import ConfigRecord, RecordDict

if TYPE_CHECKING:  # the ClientApp imports this module and no chain code
    from registry.chain import ModelRegistry

TRAIN_RECORD = "flep.train"
REPLY_RECORD = "flep.update"
ROLL_CALL_RECORD = "flep.roll-call"
READY_RECORD = "flep.ready"


class MessageFormatError(ValueError):
    """A Flower message does not carry the record this protocol expects."""


def model_artifact(registry: ModelRegistry, federation_id: int, version: int) -> int:
    """The global model artifact of model version ``version`` on chain (0 for version 0: the plan's initial
    model), as a reply's ``model_artifact`` names it."""
    return registry.model_version(federation_id, version).global_model_artifact if version else 0


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


class _Record:
    """A dataclass carried as one config record named :attr:`RECORD` (fields: int, str or float)."""

    RECORD: ClassVar[str]

    def to_content(self) -> RecordDict:
        return RecordDict({self.RECORD: ConfigRecord(asdict(self))})

    @classmethod
    def from_content(cls, content: RecordDict) -> Self:
        """Raises: MessageFormatError: If the record or one of its fields is missing, mistyped or unknown."""
        return cls(**_read(content, cls.RECORD, cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Self:
        """The record from its fields as a mapping (what the analyst worker's socket carries).

        Raises:
            MessageFormatError: If a field is missing, mistyped or unknown.
        """
        return cls(**_typed(values, cls.RECORD, cls))


@dataclass(frozen=True)
class RollCall(_Record):
    """Which analyst of federation ``federation_id`` on registry ``registry`` stands behind this SuperNode?"""

    RECORD: ClassVar[str] = ROLL_CALL_RECORD
    registry: str
    federation_id: int


@dataclass(frozen=True)
class Ready(_Record):
    """The answer to a roll call: analyst ``analyst`` of the federation is ready behind this SuperNode."""

    RECORD: ClassVar[str] = READY_RECORD
    analyst: str


@dataclass(frozen=True)
class TrainInstruction(_Record):
    """Train round ``round`` of federation ``federation_id`` on registry ``registry`` from model version
    ``model_version`` (0: the plan's initial model), once the round is open."""

    RECORD: ClassVar[str] = TRAIN_RECORD
    registry: str
    federation_id: int
    round: int
    model_version: int


@dataclass(frozen=True)
class TrainReply(_Record):
    """The update ``update_id`` analyst ``analyst`` registered for the round, trained from the global model
    artifact ``model_artifact`` (0: the plan's initial model), with its gas and wall time; ``epsilon`` is the
    analyst's cumulative ε after a DP round (negative: no DP)."""

    RECORD: ClassVar[str] = REPLY_RECORD
    analyst: str
    update_id: int
    model_artifact: int
    gas_used: int
    seconds: float
    epsilon: float = -1.0
