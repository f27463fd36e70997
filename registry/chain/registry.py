"""Typed wrapper around the deployed ``ModelRegistry`` contract: one method per action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from registry.chain import events as ev
from registry.chain.compiler import CompiledContract, registry_contract
from registry.chain.errors import (
    ErrorDecoder,
    RegistryNotDeployedError,
    TransactionFailedError,
    UnknownArtifactError,
)
from registry.chain.types import (
    ArtifactInput,
    ArtifactKind,
    CodecKeyPolicy,
    Dataset,
    DisputeReason,
    EncryptionKey,
    DpParameters,
    EpochCustody,
    Exclusion,
    Federation,
    HpkeSuite,
    KeyEpoch,
    KeyGrant,
    KeyKind,
    ModelVersion,
    Round,
    RoundStatus,
    UpdateRecord,
)

Sender = LocalAccount | str
E = TypeVar("E", bound=ev.EventRecord)
T = TypeVar("T")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Deployment:
    """Where a registry was deployed."""

    address: str
    chain_id: int
    block: int
    transaction_hash: str
    gas_used: int


@dataclass(frozen=True)
class Tx(Generic[T]):
    """A mined transaction: the value the call produced (read from its events) together with its receipt.

    Attributes:
        value: What the action returns (an id, a round number, whether a grant changed, an event record).
        transaction_hash: The transaction's hash (``0x`` hex).
        block_number: The block it was mined in.
        gas_used: Gas it used.
    """

    value: T
    transaction_hash: str
    block_number: int
    gas_used: int

    @classmethod
    def of(cls, value: T, receipt: TxReceipt) -> Tx[T]:
        return cls(value, "0x" + bytes(receipt["transactionHash"]).hex(), int(receipt["blockNumber"]),
                   int(receipt["gasUsed"]))


def _address(sender: Sender) -> str:
    return to_checksum_address(sender.address if isinstance(sender, LocalAccount) else sender)


class ModelRegistry:
    """The registry contract at ``address``, acting as ``sender``.

    ``sender`` is either a :class:`LocalAccount` (transactions are signed locally and sent raw, so any
    RPC works) or an address the node manages (``eth_sendTransaction``, e.g. Anvil's dev accounts).
    Every action waits for its receipt and returns a :class:`Tx`: its value together with the receipt's hash,
    block and gas.
    A refusal raises the :class:`~registry.chain.errors.RegistryRevert` subclass of the Solidity error.
    """

    def __init__(
        self,
        w3: Web3,
        address: str,
        sender: Sender,
        compiled: CompiledContract | None = None,
        tx_timeout: float = 60.0,
    ) -> None:
        self.w3 = w3
        self.compiled = compiled or registry_contract()
        self.address = to_checksum_address(address)
        self.sender = sender
        self.account = _address(sender)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.compiled.abi)
        self._custody: Contract | None = None
        self.errors = ErrorDecoder(self.compiled.abi)
        self.tx_timeout = tx_timeout

    # ------------------------------------------------------------------ construction

    @classmethod
    def deploy(
        cls, w3: Web3, deployer: Sender, operator: str | None = None, compiled: CompiledContract | None = None
    ) -> tuple[ModelRegistry, Deployment]:
        """Deploy a registry whose operator (federation creator) is ``operator`` (default: the deployer).

        Raises:
            TransactionFailedError: If the deployment reverts.
        """
        compiled = compiled or registry_contract()
        factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        operator_address = to_checksum_address(operator) if operator else _address(deployer)
        receipt = _send(w3, factory.constructor(operator_address), deployer, ErrorDecoder(compiled.abi), 120.0)
        address = receipt["contractAddress"]
        deployment = Deployment(
            address=to_checksum_address(address),
            chain_id=w3.eth.chain_id,
            block=receipt["blockNumber"],
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            gas_used=receipt["gasUsed"],
        )
        return cls(w3, address, deployer, compiled), deployment

    @classmethod
    def at(cls, w3: Web3, address: str, sender: Sender, compiled: CompiledContract | None = None) -> ModelRegistry:
        """The registry already deployed at ``address``.

        Raises:
            RegistryNotDeployedError: If no contract code lives at ``address`` on this chain.
        """
        if not w3.eth.get_code(to_checksum_address(address)):
            raise RegistryNotDeployedError(
                f"no contract at {address} on chain {w3.eth.chain_id}; deploy one with `flep registry deploy` "
                "or fix FLEP_REGISTRY_ADDRESS"
            )
        return cls(w3, address, sender, compiled)

    def as_account(self, sender: Sender) -> ModelRegistry:
        """The same registry acting as another account."""
        return ModelRegistry(self.w3, self.address, sender, self.compiled, self.tx_timeout)

    # ------------------------------------------------------------------ federations and roles

    def create_federation(
        self, admin: str, min_participants: int, codec_key_policy: CodecKeyPolicy = CodecKeyPolicy.PER_DATA_OWNER
    ) -> Tx[int]:
        """Create a federation administered by ``admin``; returns its id (caller: federation creator)."""
        receipt = self._transact(
            self.contract.functions.createFederation(to_checksum_address(admin), min_participants, int(codec_key_policy))
        )
        return Tx.of(self._one(ev.FederationCreated, receipt).federation_id, receipt)

    def grant_role(self, federation_id: int, role: bytes, account: str) -> Tx[bool]:
        """Grant a per-federation role; returns whether anything changed (caller: federation admin)."""
        receipt = self._transact(
            self.contract.functions.grantFederationRole(federation_id, role, to_checksum_address(account))
        )
        return Tx.of(bool(self._all(ev.FederationRoleGranted, receipt)), receipt)

    def revoke_role(self, federation_id: int, role: bytes, account: str) -> Tx[bool]:
        """Revoke a per-federation role; returns whether anything changed (caller: federation admin)."""
        receipt = self._transact(
            self.contract.functions.revokeFederationRole(federation_id, role, to_checksum_address(account))
        )
        return Tx.of(bool(self._all(ev.FederationRoleRevoked, receipt)), receipt)

    # ------------------------------------------------------------------ artifacts and keys

    def register_artifact(
        self, federation_id: int, kind: ArtifactKind, artifact: ArtifactInput, parents: Sequence[int] = ()
    ) -> Tx[int]:
        """Register a wrapped key (owner/admin) or metrics report (admin); returns its id."""
        receipt = self._transact(
            self.contract.functions.registerArtifact(federation_id, int(kind), artifact.as_tuple(), list(parents))
        )
        return Tx.of(self._one(ev.ArtifactRegistered, receipt).artifact_id, receipt)

    def register_dataset(
        self, federation_id: int, artifact: ArtifactInput, sample_count: int, parents: Sequence[int] = ()
    ) -> Tx[int]:
        """Register a dataset of ``sample_count`` samples; returns its artifact id (caller: data owner)."""
        receipt = self._transact(
            self.contract.functions.registerDataset(federation_id, artifact.as_tuple(), sample_count, list(parents))
        )
        return Tx.of(self._one(ev.DatasetRegistered, receipt).artifact_id, receipt)

    def start_key_epoch(self, federation_id: int, public_key: ArtifactInput, encoding_digest: bytes) -> Tx[int]:
        """Start the next Paillier key epoch (the first key, or a rotation); returns the epoch (caller: admin)."""
        receipt = self._transact(
            self.contract.functions.startKeyEpoch(federation_id, public_key.as_tuple(), bytes(encoding_digest))
        )
        return Tx.of(self._one(ev.KeyEpochStarted, receipt).epoch, receipt)

    def set_epoch_custody(self, federation_id: int, threshold: int, custodians: Sequence[str],
                          threshold_key: ArtifactInput) -> Tx[int]:
        """Share the current key epoch among ``custodians`` (custodian ``i`` is ``custodians[i - 1]``), any
        ``threshold`` of them decrypting; returns the threshold key's artifact id (caller: admin)."""
        receipt = self._transact(
            self.contract.functions.setEpochCustody(
                federation_id, threshold, [to_checksum_address(c) for c in custodians], threshold_key.as_tuple()
            )
        )
        return Tx.of(self._one(ev.EpochCustodySet, receipt).threshold_key_artifact, receipt)

    def register_encryption_key(self, suite: HpkeSuite, public_key: bytes) -> Tx[ev.EncryptionKeyRegistered]:
        """Register (or replace) the caller's HPKE public key, which grants to it are sealed for."""
        receipt = self._transact(self.contract.functions.registerEncryptionKey(int(suite), bytes(public_key)))
        return Tx.of(self._one(ev.EncryptionKeyRegistered, receipt), receipt)

    def encryption_key(self, account: str) -> EncryptionKey:
        """The encryption key record of ``account`` (zero ``registered_at`` when it registered none)."""
        suite, registered, sha = self._call(self.contract.functions.getEncryptionKey(to_checksum_address(account)))
        return EncryptionKey(HpkeSuite(suite), registered, bytes(sha))

    def grant_key(
        self, federation_id: int, kind: KeyKind, account: str, wrapped_key_cid: str, wrapped_key_sha256: bytes
    ) -> Tx[bool]:
        """Grant a wrapped key to ``account``; returns whether anything changed (idempotent)."""
        receipt = self._transact(
            self.contract.functions.grantKey(
                federation_id, int(kind), to_checksum_address(account), wrapped_key_cid, bytes(wrapped_key_sha256)
            )
        )
        return Tx.of(bool(self._all(ev.KeyGranted, receipt)), receipt)

    def revoke_key(self, federation_id: int, kind: KeyKind, account: str, key_owner: str = ZERO_ADDRESS) -> Tx[bool]:
        """Revoke a key grant forever; returns whether anything changed. ``key_owner`` is the data owner
        for per-owner codec keys and the zero address for federation keys."""
        receipt = self._transact(
            self.contract.functions.revokeKey(
                federation_id, int(kind), to_checksum_address(key_owner), to_checksum_address(account)
            )
        )
        return Tx.of(bool(self._all(ev.KeyRevoked, receipt)), receipt)

    # ------------------------------------------------------------------ rounds

    def open_round(self, federation_id: int, deadline: int) -> Tx[int]:
        """Open the next round, accepting updates until block time ``deadline``; returns its number."""
        receipt = self._transact(self.contract.functions.openRound(federation_id, deadline))
        return Tx.of(self._one(ev.RoundOpened, receipt).round, receipt)

    def submit_update(
        self, federation_id: int, round_: int, update: ArtifactInput, weight: int, parents: Sequence[int] = ()
    ) -> Tx[int]:
        """Register the caller's model update with its FedAvg ``weight``; returns its artifact id (caller: analyst).

        ``parents`` are the datasets trained on (and e.g. the starting model); they are sent sorted.
        """
        receipt = self._transact(
            self.contract.functions.submitUpdate(federation_id, round_, update.as_tuple(), weight, sorted(parents))
        )
        return Tx.of(self._one(ev.UpdateSubmitted, receipt).artifact_id, receipt)

    def close_round(self, federation_id: int, round_: int) -> Tx[int]:
        """Close submissions; returns the number of updates (caller: aggregator)."""
        receipt = self._transact(self.contract.functions.closeRound(federation_id, round_))
        return Tx.of(self._one(ev.RoundClosed, receipt).update_count, receipt)

    def post_aggregate(
        self,
        federation_id: int,
        round_: int,
        aggregate: ArtifactInput,
        included: Sequence[bytes],
        excluded: Sequence[Exclusion] = (),
    ) -> Tx[int]:
        """Register the encrypted aggregate of the updates with content hashes ``included``, naming every other
        update of the round in ``excluded``; returns its artifact id (caller: aggregator).

        Both lists are sent in the canonical (ascending) order the contract requires; this method does not
        sort them, so a list out of order is refused by the chain as it would be from any other client.
        """
        receipt = self._transact(
            self.contract.functions.postAggregate(
                federation_id, round_, aggregate.as_tuple(), [bytes(h) for h in included],
                [e.as_tuple() for e in excluded],
            )
        )
        return Tx.of(self._one(ev.AggregatePosted, receipt).artifact_id, receipt)

    def dispute_aggregate(
        self, federation_id: int, round_: int, subject_sha256: bytes, reason: DisputeReason, detail: str
    ) -> Tx[ev.AggregateDisputed]:
        """Refuse to decrypt the round's aggregate, naming an update or the aggregate (caller: key holder)."""
        receipt = self._transact(
            self.contract.functions.disputeAggregate(federation_id, round_, bytes(subject_sha256), int(reason), detail)
        )
        return Tx.of(self._one(ev.AggregateDisputed, receipt), receipt)

    def submit_partial_decryption(self, federation_id: int, round_: int,
                                  partial: ArtifactInput) -> Tx[ev.PartialDecryptionSubmitted]:
        """Register the caller's partial decryption of the round's aggregate (caller: a custodian)."""
        receipt = self._transact(
            self.contract.functions.submitPartialDecryption(federation_id, round_, partial.as_tuple())
        )
        return Tx.of(self._one(ev.PartialDecryptionSubmitted, receipt), receipt)

    def finalize_round(
        self,
        federation_id: int,
        round_: int,
        global_model: ArtifactInput,
        metrics: ArtifactInput,
        dp: DpParameters,
        parent_version: int = 0,
    ) -> Tx[int]:
        """Finalize the round with its global model, metrics and DP record; returns the new model version
        (caller: key holder; under threshold custody also the admin, once the threshold of partials is in)."""
        receipt = self._transact(
            self.contract.functions.finalizeRound(
                federation_id, round_, parent_version, global_model.as_tuple(), metrics.as_tuple(), dp.as_tuple()
            )
        )
        return Tx.of(self._one(ev.RoundFinalized, receipt).version, receipt)

    def abort_round(self, federation_id: int, round_: int, reason: str) -> Tx[None]:
        """Abort a live round for good (caller: admin)."""
        return Tx.of(None, self._transact(self.contract.functions.abortRound(federation_id, round_, reason)))

    # ------------------------------------------------------------------ views

    def federation(self, federation_id: int) -> Federation:
        pk, minimum, policy, rounds, versions, epoch = self._call(
            self.contract.functions.getFederation(federation_id)
        )
        return Federation(federation_id, pk, minimum, CodecKeyPolicy(policy), rounds, versions, epoch)

    def key_epoch(self, federation_id: int, epoch: int) -> KeyEpoch:
        artifact, started, revoked, encoding = self._call(self.contract.functions.getKeyEpoch(federation_id, epoch))
        return KeyEpoch(federation_id, epoch, artifact, started, revoked, bytes(encoding))

    def epoch_custody(self, federation_id: int, epoch: int) -> EpochCustody:
        """The threshold custody of key ``epoch`` (``threshold`` 0 for a single key holder's epoch)."""
        threshold, count, artifact = self._call(self._custody_contract().functions.getCustody(federation_id, epoch))
        return EpochCustody(federation_id, epoch, threshold, count, artifact)

    def custodian_index(self, federation_id: int, epoch: int, account: str) -> int:
        """The index of ``account`` among the custodians of key ``epoch`` (0: not one of them)."""
        return self._call(self._custody_contract().functions.custodianIndex(
            federation_id, epoch, to_checksum_address(account)))

    def partial_custodians(self, federation_id: int, round_: int) -> tuple[int, ...]:
        """The custodian indices that registered a partial decryption of the round, ascending."""
        bits = self._call(self._custody_contract().functions.partialCustodians(federation_id, round_))
        return tuple(i + 1 for i in range(64) if bits >> i & 1)

    def round(self, federation_id: int, round_: int) -> Round:
        status, deadline, count, epoch, included, disputed, aggregate, version, weights, sha = self._call(
            self.contract.functions.getRound(federation_id, round_)
        )
        return Round(federation_id, round_, RoundStatus(status), deadline, count, epoch, included, disputed,
                     aggregate, version, weights, bytes(sha))

    def update_record(self, federation_id: int, sha256: bytes) -> UpdateRecord:
        """The update registered under content hash ``sha256`` (all zero when none)."""
        artifact_id, round_, weight = self._call(self.contract.functions.getUpdate(federation_id, bytes(sha256)))
        return UpdateRecord(artifact_id, round_, weight)

    def dataset(self, artifact_id: int) -> Dataset:
        """The dataset record of ``artifact_id`` (zero owner and count when it is no dataset)."""
        owner, samples = self._call(self.contract.functions.getDataset(artifact_id))
        return Dataset(to_checksum_address(owner), samples)

    def model_version(self, federation_id: int, version: int) -> ModelVersion:
        round_, parent, model, metrics = self._call(self.contract.functions.getModelVersion(federation_id, version))
        return ModelVersion(federation_id, version, round_, parent, model, metrics)

    def key_grant(self, federation_id: int, kind: KeyKind, account: str, key_owner: str = ZERO_ADDRESS) -> KeyGrant:
        grantor, granted, revoked, sha, epoch = self._call(
            self.contract.functions.getKeyGrant(
                federation_id, int(kind), to_checksum_address(key_owner), to_checksum_address(account)
            )
        )
        return KeyGrant(to_checksum_address(grantor), granted, revoked, bytes(sha), epoch)

    def is_key_holder(self, federation_id: int, account: str) -> bool:
        return self._call(self.contract.functions.isKeyHolder(federation_id, to_checksum_address(account)))

    def has_role(self, federation_id: int, role: bytes, account: str) -> bool:
        return self._call(
            self.contract.functions.hasFederationRole(federation_id, role, to_checksum_address(account))
        )

    def federation_count(self) -> int:
        return self._call(self.contract.functions.federationCount())

    def artifact_count(self) -> int:
        return self._call(self.contract.functions.artifactCount())

    def artifact_digest(self, artifact_id: int) -> bytes:
        return bytes(self._call(self.contract.functions.artifactDigest(artifact_id)))

    def update_digest(self, federation_id: int, round_: int, analyst: str) -> bytes:
        return bytes(
            self._call(self.contract.functions.updateDigest(federation_id, round_, to_checksum_address(analyst)))
        )

    def stored_digest(self, record: ev.ArtifactRegistered) -> bytes:
        """The digest the chain holds for an artifact event (model updates are filed per round and analyst)."""
        if record.kind == ArtifactKind.MODEL_UPDATE:
            return self.update_digest(record.federation_id, record.round, record.submitter)
        return self.artifact_digest(record.artifact_id)

    def verify_artifact(self, record: ev.ArtifactRegistered) -> bool:
        """Whether an artifact event matches the digest in contract storage."""
        return self.stored_digest(record) == record.digest()

    # ------------------------------------------------------------------ event queries

    def events(self, record_type: type[E], from_block: int = 0, to_block: int | str = "latest", **filters: Any) -> list[E]:
        """Records of one event type, filtered on its indexed arguments (snake_case, ``None`` = any).

        Example: ``registry.events(ArtifactRegistered, federation_id=1, round=2)``.
        """
        event = getattr(self.contract.events, record_type.event_name)
        logs = event().get_logs(
            argument_filters=record_type.argument_filters(**filters), from_block=from_block, to_block=to_block
        )
        return [record_type.from_log(log) for log in logs]

    def artifacts(
        self, federation_id: int | None = None, round_: int | None = None, artifact_id: int | None = None,
        from_block: int = 0,
    ) -> list[ev.ArtifactRegistered]:
        """Artifact records, by federation, round and/or id, in id order; model updates (which emit
        ``UpdateSubmitted`` only) are included as records of kind ``MODEL_UPDATE``."""
        filters = {"federation_id": federation_id, "round": round_, "artifact_id": artifact_id}
        registered = self.events(ev.ArtifactRegistered, from_block, **filters)
        updates = [u.as_artifact() for u in self.events(ev.UpdateSubmitted, from_block, **filters)]
        return sorted(registered + updates, key=lambda record: record.artifact_id)

    def artifact(self, artifact_id: int, from_block: int = 0) -> ev.ArtifactRegistered:
        """The record of one artifact.

        Raises:
            UnknownArtifactError: If no such artifact was registered.
        """
        found = self.artifacts(artifact_id=artifact_id, from_block=from_block)
        if not found:
            raise UnknownArtifactError(artifact_id=artifact_id)
        return found[0]

    def round_updates(self, federation_id: int, round_: int, from_block: int = 0) -> list[ev.UpdateSubmitted]:
        """The updates submitted to a round, in artifact-id order."""
        found = self.events(ev.UpdateSubmitted, from_block, federation_id=federation_id, round=round_)
        return sorted(found, key=lambda u: u.artifact_id)

    # ------------------------------------------------------------------ plumbing

    def _custody_contract(self) -> Contract:
        """The registry's threshold-custody books (a contract its constructor deployed)."""
        if self._custody is None:
            address = self._call(self.contract.functions.custody())
            self._custody = self.w3.eth.contract(address=address, abi=self.compiled.custody_abi)
        return self._custody

    def _transact(self, fn: ContractFunction) -> TxReceipt:
        return _send(self.w3, fn, self.sender, self.errors, self.tx_timeout)

    def _call(self, fn: ContractFunction) -> Any:
        try:
            return fn.call({"from": self.account})
        except (ContractCustomError, ContractLogicError) as exc:
            raise _translate(exc, self.errors) from exc

    def _all(self, record_type: type[E], receipt: TxReceipt) -> list[E]:
        event = getattr(self.contract.events, record_type.event_name)
        return [record_type.from_log(log) for log in event().process_receipt(receipt, errors=DISCARD)]

    def _one(self, record_type: type[E], receipt: TxReceipt) -> E:
        found = self._all(record_type, receipt)
        if len(found) != 1:
            raise TransactionFailedError(
                f"transaction {receipt['transactionHash'].hex()} emitted {len(found)} {record_type.event_name} "
                "events, expected 1"
            )
        return found[0]


def _translate(exc: Exception, errors: ErrorDecoder) -> Exception:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        decoded = errors.decode(data)
        if decoded is not None:
            return decoded
    if isinstance(exc, ContractPanicError):
        return TransactionFailedError(f"the registry panicked: {exc}")
    return TransactionFailedError(f"the registry call reverted: {exc}")


def _send(
    w3: Web3, fn: Callable[..., Any] | ContractFunction, sender: Sender, errors: ErrorDecoder, timeout: float
) -> TxReceipt:
    """Send ``fn`` as ``sender`` and wait for the receipt; reverts become registry exceptions.

    Gas is estimated first, so a refusal is reported with its custom error before anything is sent.
    """
    address = _address(sender)
    try:
        # The estimate is exact for the state it ran on; a write that depends on block time (a grant's timestamp
        # landing in an already-written slot) can cost more in the mined block, so leave a margin.
        gas = fn.estimate_gas({"from": address}) * 5 // 4 + 10_000
        if isinstance(sender, LocalAccount):
            tx = fn.build_transaction(
                {"from": address, "gas": gas, "nonce": w3.eth.get_transaction_count(address, "pending"),
                 "chainId": w3.eth.chain_id}
            )
            tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        else:
            tx_hash = fn.transact({"from": address, "gas": gas})
    except (ContractCustomError, ContractLogicError) as exc:
        raise _translate(exc, errors) from exc
    # Anvil mines at once: poll the receipt often (web3 defaults to 0.1 s, a tenth of a second per transaction).
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.02)
    if receipt["status"] != 1:
        raise TransactionFailedError(
            f"transaction 0x{bytes(tx_hash).hex()} from {address} reverted on chain (gas used {receipt['gasUsed']})"
        )
    return receipt
