"""The auditor role: anyone with the chain and IPFS re-verifies artifacts, rounds and model lineage.

Nothing is taken from a party's word: every artifact is re-fetched and re-hashed against the chain, every
update of a round is re-assessed with the aggregator's checks (:mod:`registry.roles.review`), the aggregate
is recomputed from the chain-recorded inclusions and compared byte for byte, weights are summed from the
chain records, and a model version is traced back through its rounds to version 1. Each check is reported
with what it compared, so a failure names the artifact, round or field that differs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from clients.he import EncryptedAggregate, HEError, aggregate_update_bytes
from registry.chain import ArtifactKind, RoundStatus, events
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, FederationContext
from registry.roles.errors import RoleError
from registry.roles.review import assess_round
from registry.store import StoreError


@dataclass(frozen=True)
class Check:
    """One verification step.

    Attributes:
        subject: What was checked, e.g. ``update #12`` or ``round 2``.
        name: Which property, e.g. ``content`` or ``aggregate recomputation``.
        ok: Whether it held.
        detail: What was compared, or what differed.
    """

    subject: str
    name: str
    ok: bool
    detail: str


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


class Auditor:
    """Re-verifies what a federation's chain records say against the chain itself and IPFS.

    Args:
        context: The federation, seen through any account (the auditor sends no transaction).
        max_update_bytes: Largest update fetched when re-assessing a round.
    """

    def __init__(self, context: FederationContext, max_update_bytes: int = DEFAULT_MAX_UPDATE_BYTES) -> None:
        self.context = context
        self.max_update_bytes = max_update_bytes

    def verify_artifact(self, artifact_id: int) -> Verification:
        """Re-fetch one artifact and check its event digest, CID, sha256 and size against the chain.

        Raises:
            UnknownArtifactError: If no such artifact was registered (a ``ChainError``).
        """
        record = self.context.registry.artifact(artifact_id, from_block=self.context.from_block)
        return Verification(f"artifact #{artifact_id}", (self._content(record),))

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
        registry, fid = self.context.registry, self.context.federation_id
        checks: list[Check] = []
        current = version
        while current:
            stored = registry.model_version(fid, current)
            checks.extend(self._round_checks(stored.round))
            current = stored.parent_version
        return Verification(f"model v{version}", tuple(checks))

    # ------------------------------------------------------------------ checks

    def _content(self, record: events.ArtifactRegistered) -> Check:
        subject = f"{record.kind.name.lower()} #{record.artifact_id}"
        try:
            self.context.fetch_verified(record)
        except (RoleError, StoreError) as exc:
            return Check(subject, "content", False, str(exc))
        return Check(subject, "content", True, f"digest, CID {record.cid}, sha256 and {record.size} B match the chain")

    def _round_checks(self, round_: int) -> list[Check]:
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.round(fid, round_)
        subject = f"round {round_}"
        records = registry.artifacts(federation_id=fid, round_=round_, from_block=self.context.from_block)
        checks = [self._content(r) for r in records]
        if not stored.aggregate_artifact:
            checks.append(Check(subject, "aggregate", True, f"none posted yet ({stored.status.name.lower()})"))
            return checks
        by_id = {r.artifact_id: r for r in records}
        aggregate_record = by_id[stored.aggregate_artifact]
        try:
            posted = EncryptedAggregate.from_bytes(self.context.fetch_verified(aggregate_record),
                                                   self.context.epoch_keys(stored.key_epoch).public_key)
        except (RoleError, StoreError, HEError) as exc:
            checks.append(Check(subject, "aggregate parses", False, str(exc)))
            return checks
        checks += self._partition_checks(round_, stored.key_epoch, posted.num_values, aggregate_record)
        checks.append(self._weights_check(round_, stored.weights_total, posted, aggregate_record))
        if stored.status == RoundStatus.FINALIZED:
            checks.append(self._model_parents_check(round_, stored.model_version, stored.aggregate_artifact))
        return checks

    def _partition_checks(self, round_: int, epoch: int, num_values: int,
                          aggregate_record: events.ArtifactRegistered) -> list[Check]:
        keys = self.context.epoch_keys(epoch)
        assessments = {a.submission.artifact_id: a
                       for a in assess_round(self.context, round_, keys, num_values, self.max_update_bytes)}
        exclusions = self.context.registry.events(events.UpdateExcluded, self.context.from_block,
                                                  federation_id=self.context.federation_id, round=round_)
        checks = []
        for exclusion in exclusions:
            found = assessments[exclusion.update_artifact_id]
            checks.append(Check(
                f"update #{exclusion.update_artifact_id}", "exclusion justified", not found.usable,
                f"excluded as {exclusion.reason.name.lower()}; re-assessed: "
                + ("it verifies, so it was wrongly excluded" if found.usable else found.detail)))
        included = [assessments[i] for i in aggregate_record.parents]
        for found in included:
            checks.append(Check(f"update #{found.submission.artifact_id}", "inclusion valid", found.usable,
                                "verifies" if found.usable else f"{found.reason.name.lower()}: {found.detail}"))
        if all(a.usable for a in included):
            try:
                recomputed = hashlib.sha256(aggregate_update_bytes([a.blob for a in included], keys.public_key))
                same = recomputed.digest() == aggregate_record.sha256
                detail = (f"sum of {len(included)} updates has sha256 {recomputed.hexdigest()}, "
                          f"the chain records {aggregate_record.sha256.hex()}")
            except HEError as exc:
                same, detail = False, f"the included updates cannot be summed: {exc}"
            checks.append(Check(f"aggregate #{aggregate_record.artifact_id}", "recomputation", same, detail))
        return checks

    def _weights_check(self, round_: int, chain_total: int, posted: EncryptedAggregate,
                       aggregate_record: events.ArtifactRegistered) -> Check:
        weights = {u.artifact_id: u.weight for u in self.context.round_updates(round_)}
        included = sum(weights[i] for i in aggregate_record.parents)
        ok = included == chain_total == posted.weights_total
        return Check(f"round {round_}", "weights", ok,
                     f"registered weights of the included updates sum to {included}; the round records "
                     f"{chain_total}; the aggregate header {posted.weights_total}")

    def _model_parents_check(self, round_: int, version: int, aggregate_id: int) -> Check:
        registry, fid = self.context.registry, self.context.federation_id
        stored = registry.model_version(fid, version)
        model = registry.artifact(stored.global_model_artifact, from_block=self.context.from_block)
        expected = [aggregate_id]
        if stored.parent_version:
            expected.append(registry.model_version(fid, stored.parent_version).global_model_artifact)
        ok = model.kind == ArtifactKind.GLOBAL_MODEL and list(model.parents) == expected and stored.round == round_
        return Check(f"model v{version}", "lineage", ok,
                     f"model #{model.artifact_id} derives from {list(model.parents)}, expected {expected}")

