"""The auditor role: anyone with the chain and IPFS re-verifies artifacts, rounds and model lineage.

Nothing is taken from a party's word: every artifact is re-fetched and re-hashed against the chain, every
update of a round is re-assessed with the aggregator's checks (:mod:`registry.roles.review`), the aggregate
is recomputed from the chain-recorded inclusions and compared byte for byte, weights are summed from the
chain records, and a model version is traced back through its rounds to version 1. Under threshold custody
every partial decryption is checked against the chain; with the epoch's model key (the partials are sealed
under it: :mod:`registry.roles.partials`) each proof is re-checked, the combination redone and the
published model compared with the previous one plus the decrypted mean, value for value. Each check is reported
with what it compared, so a failure names the artifact, round or field that differs.

The same role answers the audit queries, read from the chain's events and views: a model version's lineage
(:meth:`Auditor.lineage`: rounds, key epochs, aggregators, key holders or custodians, included and excluded
updates, datasets, DP records, each artifact with its verification), a round's event timeline (:meth:`Auditor.timeline`)
and who was granted or revoked which key or role (:meth:`Auditor.access`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Mapping, TypeVar

import numpy as np

from eth_utils import to_checksum_address
from web3.exceptions import TransactionNotFound

from clients.he import EncryptedAggregate, HEError, aggregate_update_bytes
from registry.chain import (
    ArtifactKind,
    DpParameters,
    EpochCustody,
    ExclusionReason,
    ModelVersion,
    RoundStatus,
    events,
    role_name,
)
from registry.chain.errors import UnknownArtifactError
from registry.chain.types import ATTOS, MICROS
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext
from registry.roles.errors import ChainMismatchError, RoleError
from registry.roles.models import model_params
from registry.roles.plan import current_plan, initial_params
from registry.roles.partials import EpochCustodians, ThresholdCustodyError, epoch_custodians, threshold_decryption
from registry.roles.review import UpdateAssessment, assess_update
from registry.store import StoreError


@dataclass(frozen=True)
class Check:
    """One verification step.

    Attributes:
        subject: What was checked, e.g. ``update #12`` or ``round 2``.
        name: Which property, e.g. ``content`` or ``aggregate recomputation``.
        ok: Whether it held.
        detail: What was compared, or what differed.
        artifact_id: The artifact the check is about (``None`` for a check of a whole round, e.g. its weights).
    """

    subject: str
    name: str
    ok: bool
    detail: str
    artifact_id: int | None = None


@dataclass(frozen=True)
class Verification:
    """The checks of one ``verify`` request; it passes only when every check does."""

    target: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


T = TypeVar("T")

ROUND_EVENTS: tuple[type[events.EventRecord], ...] = (
    events.RoundOpened,
    events.UpdateSubmitted,
    events.RoundClosed,
    events.AggregatePosted,
    events.UpdateExcluded,
    events.AggregateDisputed,
    events.RoundFinalized,
    events.RoundAborted,
    events.ArtifactRegistered,
    events.PartialDecryptionSubmitted,
)
"""The events of a round's timeline (all indexed by federation and round); custodians' partial decryptions
under threshold custody."""


@dataclass(frozen=True)
class Recorded:
    """Where and when the chain recorded something.

    Attributes:
        block_number: The block.
        block_time: The block's timestamp (Unix seconds).
        transaction_hash: The transaction (``0x`` hex).
    """

    block_number: int
    block_time: int
    transaction_hash: str


@dataclass(frozen=True)
class AuditedArtifact:
    """An artifact of a lineage with the verification checks about it.

    Attributes:
        artifact_id: Its id.
        kind: What it is.
        cid: Its IPFS CID, as registered (untrusted text).
        size: Its registered size in bytes.
        recorded: Its registration.
        checks: The checks about this artifact (content, and for updates their inclusion or exclusion).
    """

    artifact_id: int
    kind: ArtifactKind
    cid: str
    size: int
    recorded: Recorded
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class LineageUpdate:
    """A model update of a lineage round.

    Attributes:
        artifact: The update artifact and its checks.
        analyst: Who submitted it.
        weight: Its FedAvg weight as registered on chain.
        parents: The artifacts it declared it derives from (its datasets, e.g.).
        exclusion: Why the aggregator left it out (``NONE`` when it was included).
    """

    artifact: AuditedArtifact
    analyst: str
    weight: int
    parents: tuple[int, ...]
    exclusion: ExclusionReason


@dataclass(frozen=True)
class LineageDataset:
    """A dataset the included updates of a round trained on.

    Attributes:
        artifact: The dataset artifact and its content check.
        owner: The data owner who registered it.
        sample_count: Its registered number of samples.
    """

    artifact: AuditedArtifact
    owner: str
    sample_count: int


@dataclass(frozen=True)
class LineagePartial:
    """A custodian's partial decryption of a lineage round's aggregate (threshold custody).

    Attributes:
        index: The custodian's index.
        custodian: Its account.
        artifact: The partial's artifact and its checks (content; the proof when it was re-checked).
        used: Whether the combination used it: as re-computed with the model key, else as the finalizer's
            metrics report claims.
    """

    index: int
    custodian: str
    artifact: AuditedArtifact
    used: bool


@dataclass(frozen=True)
class LineageRound:
    """One model version of a lineage and the round that produced it.

    Attributes:
        version: The model version.
        parent_version: The version it was trained from (0 for the first).
        round: The round that produced it.
        key_epoch: The Paillier key epoch of the round.
        aggregator: Who posted the round's aggregate.
        key_holder: Who decrypted it and finalized the round (a custodian under threshold custody).
        opened, aggregated, finalized: Where the round was opened, its aggregate posted and the round finalized.
        included: The updates summed into the aggregate, in artifact-id order.
        excluded: The updates left out, each with its reason, in artifact-id order.
        datasets: The datasets the included updates name as parents, in artifact-id order.
        aggregate, global_model, metrics: The round's output artifacts.
        dp: The round's DP record (``dp.enabled`` false when the round used no DP).
        cumulative_epsilon: Sum of the DP rounds' ε from version 1 to this one (basic composition).
        cumulative_delta: Sum of their δ likewise.
        round_checks: Checks about the whole round (e.g. its weights), or about an artifact not listed above.
        threshold: Partials the round needed (0: a single key holder decrypted it).
        partials: The registered partial decryptions, by custodian index.
    """

    version: int
    parent_version: int
    round: int
    key_epoch: int
    aggregator: str
    key_holder: str
    opened: Recorded
    aggregated: Recorded
    finalized: Recorded
    included: tuple[LineageUpdate, ...]
    excluded: tuple[LineageUpdate, ...]
    datasets: tuple[LineageDataset, ...]
    aggregate: AuditedArtifact
    global_model: AuditedArtifact
    metrics: AuditedArtifact
    dp: DpParameters
    cumulative_epsilon: float
    cumulative_delta: float
    round_checks: tuple[Check, ...]
    threshold: int = 0
    partials: tuple[LineagePartial, ...] = ()

    @property
    def custodians(self) -> tuple[str, ...]:
        """The custodians whose partials were combined."""
        return tuple(p.custodian for p in self.partials if p.used)

    @property
    def artifacts(self) -> tuple[AuditedArtifact, ...]:
        """Every artifact of the round: updates, datasets, aggregate, partials, model and metrics."""
        return (*(u.artifact for u in self.included + self.excluded), *(d.artifact for d in self.datasets),
                self.aggregate, *(p.artifact for p in self.partials), self.global_model, self.metrics)

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.artifacts) and all(c.ok for c in self.round_checks)


@dataclass(frozen=True)
class Lineage:
    """Model ``version`` of a federation traced back to version 1.

    The cumulative ε and δ are plain sums over the rounds that recorded DP (basic sequential composition): an
    upper bound, looser than what an accountant composing the same mechanisms would give. A round without a
    DP record gives its data no DP guarantee, whatever the sum says.

    Attributes:
        federation_id: The federation.
        version: The model version asked about.
        rounds: Its lineage, newest first (``version`` down to 1).
    """

    federation_id: int
    version: int
    rounds: tuple[LineageRound, ...]

    @property
    def cumulative_epsilon(self) -> float:
        return self.rounds[0].cumulative_epsilon

    @property
    def cumulative_delta(self) -> float:
        return self.rounds[0].cumulative_delta

    @property
    def rounds_without_dp(self) -> tuple[int, ...]:
        """The rounds of the lineage that recorded no DP."""
        return tuple(r.round for r in self.rounds if not r.dp.enabled)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rounds)


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a round's timeline.

    Attributes:
        record: The event record (its name, arguments, block, transaction and log index).
        block_time: The block's timestamp (Unix seconds).
        gas_used: Gas used by the whole transaction that emitted it (``None`` when the node no longer has
            the receipt).
    """

    record: events.EventRecord
    block_time: int
    gas_used: int | None


@dataclass(frozen=True)
class AccessEntry:
    """One grant, revocation or key registration of an account.

    Attributes:
        account: Whom it concerns.
        kind: ``codec_key``, ``paillier_private_key`` or ``model_key`` (key grants), ``role:<name>``
            (federation roles, e.g. ``role:analyst``) or ``encryption_key`` (the account's HPKE public key).
        action: ``granted``, ``revoked`` or ``registered``.
        actor: Who did it (the grantor, revoker or admin; the account itself for a key registration).
        record: The event record (block, transaction and the event's own arguments).
        block_time: The block's timestamp (Unix seconds).
    """

    account: str
    kind: str
    action: str
    actor: str
    record: events.EventRecord
    block_time: int


@dataclass
class ChainFacts:
    """What an auditor reads of the chain that no later block changes, shareable between auditors over time.

    A block's timestamp and a transaction's gas are fixed once mined (the devnet does not reorganize), unlike
    the registry's views and event lists, which a new block may extend.

    Attributes:
        block_times: Block timestamps (Unix seconds) by block number.
        gas: Gas used by transaction hash (``None``: the node no longer has the receipt).
    """

    block_times: dict[int, int] = field(default_factory=dict)
    gas: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _FederationRecords:
    """The events of one federation that a lineage needs, read once and indexed."""

    finalized: dict[int, events.RoundFinalized]
    opened: dict[int, events.RoundOpened]
    posted: dict[int, events.AggregatePosted]
    exclusions: dict[int, dict[int, ExclusionReason]]
    updates: dict[int, list[events.UpdateSubmitted]]
    artifacts: dict[int, events.ArtifactRegistered]
    datasets: dict[int, events.DatasetRegistered]


class Auditor:
    """Re-verifies what a federation's chain records say against the chain itself and IPFS.

    Args:
        context: The federation, seen through any account (the auditor sends no transaction).
        max_update_bytes: Largest update fetched when re-assessing a round.
        model_key_for: The model key of a key epoch (a member's), to re-check partial decryptions and the
            combination under threshold custody; without it those checks are reported as skipped.
        facts: Block times and gas already read (e.g. by an earlier auditor of the same chain).

    An auditor reads the chain as it is when first asked and remembers it (key epochs, model versions, the
    federation's events of a lineage): use a new one to see later blocks. Its content checks are as fresh as
    its context's verified fetch (see :attr:`FederationContext.verified`).
    """

    def __init__(self, context: FederationContext, max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES,
                 model_key_for: Callable[[int], bytes] | None = None, facts: ChainFacts | None = None) -> None:
        self.context = context
        self.max_update_bytes = max_update_bytes
        self.model_key_for = model_key_for
        self.facts = facts if facts is not None else ChainFacts()
        self._decryptions: dict[int, tuple[list[Check], tuple[int, ...] | None]] = {}
        self._custody: dict[int, EpochCustodians] = {}  # by key epoch: its threshold key is fetched once
        self._epoch_keys: dict[int, EpochKeys] = {}
        self._custody_records: dict[int, EpochCustody] = {}
        self._versions: dict[int, ModelVersion] = {}

    def verify_artifact(self, artifact_id: int) -> Verification:
        """Re-fetch one artifact and check its event digest, CID, sha256 and size against the chain.

        Raises:
            UnknownArtifactError: If no such artifact was registered (a ``ChainError``).
        """
        record = self.context.registry.artifact(artifact_id, from_block=self.context.from_block)
        return Verification(f"artifact #{artifact_id}", (self._content(record),))

    def fetch_artifacts(self, artifact_ids: list[int]) -> dict[int, tuple[Check, bytes | None]]:
        """The content check of each of the federation's artifacts ``artifact_ids``, with its verified bytes
        (``None`` when the check failed); their records are read in one query (e.g. every version's metrics).

        Raises:
            UnknownArtifactError: If the federation registered no such artifact (a ``ChainError``).
        """
        registry, fid, start = self.context.registry, self.context.federation_id, self.context.from_block
        records = {r.artifact_id: r for r in registry.events(events.ArtifactRegistered, start, federation_id=fid)}
        if any(i not in records for i in artifact_ids):  # model updates are recorded by their own event
            records.update((u.artifact_id, u.as_artifact())
                           for u in registry.events(events.UpdateSubmitted, start, federation_id=fid))
        for artifact_id in artifact_ids:
            if artifact_id not in records:
                raise UnknownArtifactError(artifact_id=artifact_id)
        return {i: self._fetch(records[i]) for i in artifact_ids}

    def verify_round(self, round_: int) -> Verification:
        """Re-verify a round: every artifact's content, every inclusion and exclusion, the aggregate
        recomputation, the weights and, once finalized, the model's parents.

        Raises:
            UnknownRoundError: If the round does not exist (a ``ChainError``).
        """
        return Verification(f"round {round_}", tuple(self._round_checks(round_)))

    def verify_model(self, version: int) -> Verification:
        """Re-verify model ``version`` and its lineage back to version 1, round by round.

        Raises:
            UnknownModelVersionError: If the version does not exist (a ``ChainError``).
        """
        checks: list[Check] = []
        current = version
        while current:
            stored = self._model_version(current)
            checks.extend(self._round_checks(stored.round))
            current = stored.parent_version
        return Verification(f"model v{version}", tuple(checks))

    # ------------------------------------------------------------------ audit queries

    def lineage(self, version: int) -> Lineage:
        """Model ``version`` traced back to version 1, every artifact re-verified (as :meth:`verify_model`).

        For each version: its round, key epoch, aggregator and key holder, the included and excluded updates
        (analyst, weight, exclusion reason), the datasets of the included updates (owner, samples), the DP
        record and the ε/δ summed from version 1 (see :class:`Lineage`), with transactions and block times.

        Raises:
            UnknownModelVersionError: If the version does not exist (a ``ChainError``).
            ChainMismatchError: If the node's events lack a record its contract storage holds.
        """
        fid = self.context.federation_id
        versions: list[ModelVersion] = []
        current = version
        while current:
            stored = self._model_version(current)
            versions.append(stored)
            current = stored.parent_version
        records = self._federation_records()
        dataset_checks: dict[int, Check] = {}
        rounds: list[LineageRound] = []
        epsilon_micros = delta_atto = 0
        for stored in reversed(versions):
            finalized = _expect(records.finalized, stored.version, f"model v{stored.version}")
            if finalized.dp.enabled:
                epsilon_micros += finalized.dp.epsilon_micros
                delta_atto += finalized.dp.delta_atto
            rounds.append(self._lineage_round(stored, finalized, records, dataset_checks,
                                              epsilon_micros / MICROS, delta_atto / ATTOS))
        return Lineage(fid, version, tuple(reversed(rounds)))

    def timeline(self, round_: int) -> list[TimelineEntry]:
        """Every event of round ``round_`` (see :data:`ROUND_EVENTS`), in chain order (block, log index).

        Raises:
            UnknownRoundError: If the round does not exist (a ``ChainError``).
        """
        registry, fid = self.context.registry, self.context.federation_id
        registry.round(fid, round_)
        found = [record for record_type in ROUND_EVENTS
                 for record in registry.events(record_type, self.context.from_block, federation_id=fid, round=round_)]
        found.sort(key=lambda r: (r.block_number, r.log_index))
        return [TimelineEntry(r, self._block_time(r.block_number), self._gas_used(r.transaction_hash)) for r in found]

    def access(self, account: str | None = None) -> list[AccessEntry]:
        """The federation's key grants and revocations, role grants and revocations, and the HPKE key
        registrations of its accounts (of ``account`` only, if given), by account, kind and chain order.

        Key registrations are registry-wide: those of every account the federation granted or revoked
        anything are listed.

        Raises:
            UnknownFederationError: If the federation does not exist (a ``ChainError``).
            ValueError: If ``account`` is not an address.
        """
        registry, fid, start = self.context.registry, self.context.federation_id, self.context.from_block
        registry.federation(fid)
        wanted = to_checksum_address(account) if account is not None else None
        def entry(who: str, kind: str, action: str, actor: str, record: events.EventRecord) -> AccessEntry:
            return AccessEntry(who, kind, action, actor, record, self._block_time(record.block_number))

        found = [entry(g.account, g.kind.name.lower(), "granted", g.grantor, g)
                 for g in registry.events(events.KeyGranted, start, federation_id=fid, account=wanted)]
        found += [entry(r.account, r.kind.name.lower(), "revoked", r.revoker, r)
                  for r in registry.events(events.KeyRevoked, start, federation_id=fid, account=wanted)]
        found += [entry(g.account, _role_kind(g.role), "granted", g.sender, g)
                  for g in registry.events(events.FederationRoleGranted, start, federation_id=fid, account=wanted)]
        found += [entry(r.account, _role_kind(r.role), "revoked", r.sender, r)
                  for r in registry.events(events.FederationRoleRevoked, start, federation_id=fid, account=wanted)]
        members = {wanted} if wanted else {e.account for e in found}
        found += [entry(k.account, "encryption_key", "registered", k.account, k)
                  for k in registry.events(events.EncryptionKeyRegistered, start, account=wanted)
                  if k.account in members]
        return sorted(found, key=lambda e: (e.account.lower(), e.kind, e.record.block_number, e.record.log_index))

    # ------------------------------------------------------------------ lineage parts

    def _federation_records(self) -> _FederationRecords:
        registry, fid, start = self.context.registry, self.context.federation_id, self.context.from_block
        exclusions: dict[int, dict[int, ExclusionReason]] = defaultdict(dict)
        for excluded in registry.events(events.UpdateExcluded, start, federation_id=fid):
            exclusions[excluded.round][excluded.update_artifact_id] = excluded.reason
        updates: dict[int, list[events.UpdateSubmitted]] = defaultdict(list)
        for update in registry.events(events.UpdateSubmitted, start, federation_id=fid):
            updates[update.round].append(update)
        return _FederationRecords(
            finalized={r.version: r for r in registry.events(events.RoundFinalized, start, federation_id=fid)},
            opened={r.round: r for r in registry.events(events.RoundOpened, start, federation_id=fid)},
            posted={r.round: r for r in registry.events(events.AggregatePosted, start, federation_id=fid)},
            exclusions=exclusions,
            updates=updates,
            artifacts={r.artifact_id: r for r in registry.events(events.ArtifactRegistered, start, federation_id=fid)},
            datasets={r.artifact_id: r for r in registry.events(events.DatasetRegistered, start, federation_id=fid)},
        )

    def _lineage_round(self, stored: ModelVersion, finalized: events.RoundFinalized, records: _FederationRecords,
                       dataset_checks: dict[int, Check], cumulative_epsilon: float,
                       cumulative_delta: float) -> LineageRound:
        round_ = stored.round
        opened = _expect(records.opened, round_, f"round {round_}")
        posted = _expect(records.posted, round_, f"the aggregate of round {round_}")
        by_artifact: dict[int | None, list[Check]] = defaultdict(list)
        for check in self._round_checks(round_, records):
            by_artifact[check.artifact_id].append(check)

        def audited(record: events.ArtifactRegistered) -> AuditedArtifact:
            return AuditedArtifact(record.artifact_id, record.kind, record.cid, record.size, self._recorded(record),
                                   tuple(by_artifact.pop(record.artifact_id, ())))

        aggregate = audited(_expect(records.artifacts, posted.artifact_id, f"aggregate #{posted.artifact_id}"))
        included_ids = set(records.artifacts[posted.artifact_id].parents)
        exclusions = records.exclusions.get(round_, {})
        included, excluded = [], []
        for update in sorted(records.updates.get(round_, ()), key=lambda u: u.artifact_id):
            entry = LineageUpdate(audited(update.as_artifact()), update.analyst, update.weight, update.parents,
                                  exclusions.get(update.artifact_id, ExclusionReason.NONE))
            (included if update.artifact_id in included_ids else excluded).append(entry)
        dataset_ids = sorted({p for u in included for p in u.parents if p in records.datasets})
        datasets = []
        for dataset_id in dataset_ids:
            record = _expect(records.artifacts, dataset_id, f"dataset #{dataset_id}")
            if dataset_id not in dataset_checks:
                dataset_checks[dataset_id] = self._content(record)
            registered = records.datasets[dataset_id]
            datasets.append(LineageDataset(
                AuditedArtifact(dataset_id, record.kind, record.cid, record.size, self._recorded(record),
                                (dataset_checks[dataset_id],)),
                registered.owner, registered.sample_count))
        model = audited(_expect(records.artifacts, stored.global_model_artifact, f"model v{stored.version}"))
        metrics_record = _expect(records.artifacts, stored.metrics_artifact, f"metrics of v{stored.version}")
        metrics = audited(metrics_record)
        custody = self._epoch_custody(opened.key_epoch)
        partials = self._lineage_partials(round_, records, metrics_record, audited) if custody.shared else ()
        loose = tuple(check for checks in by_artifact.values() for check in checks)
        return LineageRound(
            version=stored.version, parent_version=stored.parent_version, round=round_, key_epoch=opened.key_epoch,
            aggregator=posted.aggregator, key_holder=finalized.key_holder, opened=self._recorded(opened),
            aggregated=self._recorded(posted), finalized=self._recorded(finalized), included=tuple(included),
            excluded=tuple(excluded), datasets=tuple(datasets), aggregate=aggregate, global_model=model,
            metrics=metrics, dp=finalized.dp, cumulative_epsilon=cumulative_epsilon,
            cumulative_delta=cumulative_delta, round_checks=loose, threshold=custody.threshold, partials=partials,
        )

    def _lineage_partials(self, round_: int, records: _FederationRecords, metrics: events.ArtifactRegistered,
                          audited: Callable[[events.ArtifactRegistered], AuditedArtifact]) -> tuple[LineagePartial, ...]:
        """The round's partial decryptions; which were used as re-computed, else as the metrics report claims."""
        submitted = self.context.registry.events(events.PartialDecryptionSubmitted, self.context.from_block,
                                                 federation_id=self.context.federation_id, round=round_)
        used = self._decryptions.get(round_, ([], None))[1]
        if used is None:
            try:
                used = tuple(json.loads(self.context.fetch_verified(metrics)).get("custodian_indices", ()))
            except (RoleError, StoreError, ValueError):
                used = ()
        return tuple(LineagePartial(e.index, e.custodian, audited(_expect(records.artifacts, e.artifact_id,
                                                                          f"partial #{e.artifact_id}")),
                                    e.index in used)
                     for e in sorted(submitted, key=lambda e: e.index))

    def _recorded(self, record: events.EventRecord) -> Recorded:
        return Recorded(record.block_number, self._block_time(record.block_number), record.transaction_hash)

    def _block_time(self, block_number: int) -> int:
        times = self.facts.block_times
        if block_number not in times:
            times[block_number] = int(self.context.registry.w3.eth.get_block(block_number)["timestamp"])
        return times[block_number]

    def _gas_used(self, transaction_hash: str) -> int | None:
        gas = self.facts.gas
        if transaction_hash not in gas:
            try:
                receipt = self.context.registry.w3.eth.get_transaction_receipt(transaction_hash)
                gas[transaction_hash] = int(receipt["gasUsed"])
            except TransactionNotFound:
                gas[transaction_hash] = None
        return gas[transaction_hash]

    # ------------------------------------------------------------------ checks

    def _content(self, record: events.ArtifactRegistered) -> Check:
        return self._fetch(record)[0]

    def _fetch(self, record: events.ArtifactRegistered) -> tuple[Check, bytes | None]:
        """The content check of one artifact, and its verified bytes when it passed."""
        subject = f"{record.kind.name.lower()} #{record.artifact_id}"
        try:
            data = self.context.fetch_verified(record)
        except (RoleError, StoreError) as exc:
            return Check(subject, "content", False, str(exc), record.artifact_id), None
        return Check(subject, "content", True, f"digest, CID {record.cid}, sha256 and {record.size} B match the chain",
                     record.artifact_id), data

    def _model_version(self, version: int) -> ModelVersion:
        if version not in self._versions:
            self._versions[version] = self.context.registry.model_version(self.context.federation_id, version)
        return self._versions[version]

    def _keys(self, epoch: int) -> EpochKeys:
        """The epoch's public key, fetched and parsed once per auditor (every round of the epoch uses it)."""
        if epoch not in self._epoch_keys:
            self._epoch_keys[epoch] = self.context.epoch_keys(epoch)
        return self._epoch_keys[epoch]

    def _epoch_custody(self, epoch: int) -> EpochCustody:
        """The epoch's custody record (shared among custodians or not, and their threshold)."""
        if epoch not in self._custody_records:
            self._custody_records[epoch] = self.context.registry.epoch_custody(self.context.federation_id, epoch)
        return self._custody_records[epoch]

    def _round_checks(self, round_: int, federation: _FederationRecords | None = None) -> list[Check]:
        """The checks of one round; with the federation's records already read (a lineage), its artifacts,
        updates and exclusions are taken from those instead of being queried round by round."""
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.round(fid, round_)
        subject = f"round {round_}"
        if federation is None:
            records = registry.artifacts(federation_id=fid, round_=round_, from_block=self.context.from_block)
            submissions = self.context.round_updates(round_)
        else:
            submissions = sorted(federation.updates.get(round_, ()), key=lambda u: u.artifact_id)
            records = sorted([r for r in federation.artifacts.values() if r.round == round_]
                             + [u.as_artifact() for u in submissions], key=lambda r: r.artifact_id)
        if not stored.aggregate_artifact:
            return [self._content(r) for r in records] + [
                Check(subject, "aggregate", True, f"none posted yet ({stored.status.name.lower()})")]
        aggregate_record = next(r for r in records if r.artifact_id == stored.aggregate_artifact)
        aggregate_check, aggregate_bytes = self._fetch(aggregate_record)
        try:
            if aggregate_bytes is None:
                raise RoleError(aggregate_check.detail)
            keys = self._keys(stored.key_epoch)
            posted = EncryptedAggregate.from_bytes(aggregate_bytes, keys.public_key)
        except (RoleError, StoreError, HEError) as exc:
            return [aggregate_check if r is aggregate_record else self._content(r) for r in records] + [
                Check(subject, "aggregate parses", False, str(exc), aggregate_record.artifact_id)]
        # Every update is fetched once, by its assessment; its content check is read off that.
        assessments = {s.artifact_id: assess_update(self.context, s, keys, posted.num_values, self.max_update_bytes)
                       for s in submissions}
        checks = [aggregate_check if r is aggregate_record
                  else self._update_content(r, assessments[r.artifact_id]) if r.kind == ArtifactKind.MODEL_UPDATE
                  else self._content(r) for r in records]
        if federation is None:
            excluded = [(e.update_artifact_id, e.reason) for e in registry.events(
                events.UpdateExcluded, self.context.from_block, federation_id=fid, round=round_)]
        else:
            excluded = list(federation.exclusions.get(round_, {}).items())
        checks += self._partition_checks(keys, assessments, aggregate_record, excluded)
        checks.append(self._weights_check(round_, stored.weights_total, posted, assessments, aggregate_record))
        if stored.status == RoundStatus.FINALIZED:
            checks.append(self._model_parents_check(round_, stored.model_version, stored.aggregate_artifact,
                                                    federation))
        if self._epoch_custody(stored.key_epoch).shared:
            checks += self._threshold_checks(round_, posted)[0]
        return checks

    def _threshold_checks(self, round_: int, posted: EncryptedAggregate) -> tuple[list[Check], tuple[int, ...] | None]:
        """The checks of a round's partial decryptions, and the custodian indices the combination used (``None``
        when it could not be redone); computed once per round."""
        if round_ not in self._decryptions:
            self._decryptions[round_] = self._redo_threshold(round_, posted)
        return self._decryptions[round_]

    def _redo_threshold(self, round_: int, posted: EncryptedAggregate) -> tuple[list[Check], tuple[int, ...] | None]:
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.round(fid, round_)
        subject = f"round {round_}"
        try:
            if stored.key_epoch not in self._custody:
                self._custody[stored.key_epoch] = epoch_custodians(self.context, stored.key_epoch)
            custody = self._custody[stored.key_epoch]
        except (ThresholdCustodyError, RoleError, StoreError) as exc:
            return [Check(subject, "custody", False, str(exc))], None
        submitted = registry.events(events.PartialDecryptionSubmitted, self.context.from_block, federation_id=fid,
                                    round=round_)
        indices = sorted({e.index for e in submitted})
        enough = len(indices) >= custody.threshold or stored.status != RoundStatus.FINALIZED
        checks = [Check(subject, "partials registered", enough,
                        f"custodians {indices} of {list(range(1, len(custody.custodians) + 1))} registered partial "
                        f"decryptions; the round needs {custody.threshold}")]
        if self.model_key_for is None:
            return checks + [Check(subject, "partial proofs", True,
                                   "skipped: the partials are sealed under the epoch's model key; verify with a "
                                   "member's keystore to re-check every proof and the combination")], None
        minimum = registry.federation(fid).min_participants
        try:
            decryption = threshold_decryption(self.context, round_, posted, custody,
                                              self.model_key_for(stored.key_epoch), minimum)
        except (HEError, RoleError, StoreError) as exc:
            return checks + [Check(subject, "combination", False, str(exc))], None
        artifact_of = {e.index: e.artifact_id for e in submitted}
        failed = {r.index: r for r in decryption.rejected}
        for index in indices:
            bad = failed.get(index)
            checks.append(Check(f"partial_decryption #{artifact_of[index]}", "proof", bad is None,
                                f"custodian {index} ({custody.custodians[index - 1]}): "
                                + ("its proof verifies" if bad is None else bad.reason), artifact_of[index]))
        if stored.status == RoundStatus.FINALIZED:
            checks.append(self._combination_check(round_, stored.model_version, decryption.mean))
        return checks, decryption.used_indices

    def _combination_check(self, round_: int, version: int, mean: np.ndarray) -> Check:
        """Whether the published model is the previous one plus the mean decrypted from the partials."""
        stored = self.context.registry.model_version(self.context.federation_id, version)
        try:
            published = model_params(self.context, version, self.model_key_for)
            start = (model_params(self.context, stored.parent_version, self.model_key_for) if stored.parent_version
                     else initial_params(current_plan(self.context)))
        except (RoleError, StoreError) as exc:  # a PlanError is a RoleError
            return Check(f"model v{version}", "combination", False, str(exc), stored.global_model_artifact)
        expected = (start + mean).astype(np.float32).astype(np.float64)
        same = published.shape == expected.shape and bool(np.array_equal(published, expected))
        return Check(f"model v{version}", "combination", same,
                     f"model v{version} {'equals' if same else 'differs from'} "
                     f"{f'model v{stored.parent_version}' if stored.parent_version else 'the initial model'} plus "
                     f"the mean combined from round {round_}'s partials", stored.global_model_artifact)

    def _update_content(self, record: events.ArtifactRegistered, assessment: UpdateAssessment) -> Check:
        """The content check of an update, from the assessment that already fetched and verified it."""
        if assessment.reason == ExclusionReason.OVER_SIZE:
            return self._content(record)  # the assessment did not fetch it: its size is over the update limit
        if assessment.reason in (ExclusionReason.UNAVAILABLE, ExclusionReason.CONTENT_MISMATCH):
            return Check(f"model_update #{record.artifact_id}", "content", False, assessment.detail,
                         record.artifact_id)
        return Check(f"model_update #{record.artifact_id}", "content", True,
                     f"digest, CID {record.cid}, sha256 and {record.size} B match the chain", record.artifact_id)

    def _partition_checks(self, keys: EpochKeys, assessments: dict[int, UpdateAssessment],
                          aggregate_record: events.ArtifactRegistered,
                          excluded: list[tuple[int, ExclusionReason]]) -> list[Check]:
        """Each exclusion (update id, reason, in chain order) and inclusion re-assessed, and the aggregate
        recomputed from the included updates."""
        checks = []
        for update_id, reason in excluded:
            found = assessments[update_id]
            checks.append(Check(
                f"update #{update_id}", "exclusion justified", not found.usable,
                f"excluded as {reason.name.lower()}; re-assessed: "
                + ("it verifies, so it was wrongly excluded" if found.usable else found.detail),
                update_id))
        included = [assessments[i] for i in aggregate_record.parents]
        for found in included:
            checks.append(Check(f"update #{found.submission.artifact_id}", "inclusion valid", found.usable,
                                "verifies" if found.usable else f"{found.reason.name.lower()}: {found.detail}",
                                found.submission.artifact_id))
        if all(a.usable for a in included):
            try:
                recomputed = hashlib.sha256(aggregate_update_bytes([a.blob for a in included], keys.public_key))
                same = recomputed.digest() == aggregate_record.sha256
                detail = (f"sum of {len(included)} updates has sha256 {recomputed.hexdigest()}, "
                          f"the chain records {aggregate_record.sha256.hex()}")
            except HEError as exc:
                same, detail = False, f"the included updates cannot be summed: {exc}"
            checks.append(Check(f"aggregate #{aggregate_record.artifact_id}", "recomputation", same, detail,
                                aggregate_record.artifact_id))
        return checks

    def _weights_check(self, round_: int, chain_total: int, posted: EncryptedAggregate,
                       assessments: dict[int, UpdateAssessment], aggregate_record: events.ArtifactRegistered) -> Check:
        included = sum(assessments[i].submission.weight for i in aggregate_record.parents)
        ok = included == chain_total == posted.weights_total
        return Check(f"round {round_}", "weights", ok,
                     f"registered weights of the included updates sum to {included}; the round records "
                     f"{chain_total}; the aggregate header {posted.weights_total}")

    def _model_parents_check(self, round_: int, version: int, aggregate_id: int,
                             federation: _FederationRecords | None) -> Check:
        stored = self._model_version(version)
        if federation is not None and stored.global_model_artifact in federation.artifacts:
            model = federation.artifacts[stored.global_model_artifact]
        else:
            model = self.context.registry.artifact(stored.global_model_artifact, from_block=self.context.from_block)
        expected = [aggregate_id]
        if stored.parent_version:
            expected.append(self._model_version(stored.parent_version).global_model_artifact)
        ok = model.kind == ArtifactKind.GLOBAL_MODEL and list(model.parents) == expected and stored.round == round_
        return Check(f"model v{version}", "lineage", ok,
                     f"model #{model.artifact_id} derives from {list(model.parents)}, expected {expected}",
                     model.artifact_id)



def _role_kind(role: bytes) -> str:
    return f"role:{role_name(role).lower()}"


def _expect(found: Mapping[int, T], key: int, what: str) -> T:
    """``found[key]``, the event record of ``what`` that contract storage says exists.

    Raises:
        ChainMismatchError: If the node returned no such event.
    """
    if key not in found:
        raise ChainMismatchError(f"contract storage records {what}, but the node returns no event for it; "
                                 "check the RPC node (it may be pruning logs)")
    return found[key]
