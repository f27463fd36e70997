"""What the explorer's pages show, read through the auditor role and cached.

Every page's data comes from :class:`registry.roles.Auditor` (lineage, timeline, access, verify) and the
federation's verified fetch; nothing here re-implements a check. Two caches, because two kinds of reads:

- Chain reads that a new block may change (counts, statuses, event lists) and the results built from them are
  memoized until the chain's latest block changes: a page reloaded on an idle chain costs one
  ``eth_blockNumber`` call.
- What no block changes is kept across blocks: verified artifact contents, keyed by (registry, artifact id,
  event digest) (:mod:`registry.roles.verified_cache`: an artifact's on-chain record is immutable once
  written), and block times and gas (:class:`~registry.roles.auditor.ChainFacts`). So after a new block a
  lineage is re-read from the chain but nothing is fetched from IPFS again.

A verify request always runs a fresh auditor that re-fetches and re-hashes every artifact it checks, bypassing
the kept contents and updating them (a content that fails now is forgotten); unless it and every cached result
about the federation passed, it drops the federation's cached results, so the next page load shows what it
found. Until then a block damaged on the IPFS node after its first fetch shows as it verified then.

Chain and IPFS reads are serialized by one lock: the web3 provider and the IPFS client are shared by the
server's worker threads.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Hashable, TypeVar

import numpy as np

from registry.chain import ArtifactKind, CodecKeyPolicy, ModelRegistry, events
from registry.chain.errors import ChainError, UnknownArtifactError
from registry.roles import (
    AccessEntry,
    Auditor,
    ChainFacts,
    Check,
    FederationContext,
    Lineage,
    RoleError,
    TimelineEntry,
    Verification,
    VerifiedContents,
    member_model_key,
)
from registry.keystore import Keystore
from registry.store import ArtifactStore, StoreError

T = TypeVar("T")

HISTOGRAM_BINS = 256
CIPHER_IMAGE_MAX_SIDE = 512
"""Largest side of a cipher image the dataset page draws (larger ones are subsampled)."""


@dataclass(frozen=True)
class FederationSummary:
    """A federation as the index page lists it."""

    federation_id: int
    min_participants: int
    codec_key_policy: CodecKeyPolicy
    round_count: int
    model_version_count: int
    key_epoch: int


@dataclass(frozen=True)
class VersionSummary:
    """A model version of a federation with the accuracy its metrics artifact reports.

    Attributes:
        version, round, parent_version: As the chain records them.
        global_model_artifact, metrics_artifact: Their artifact ids.
        metrics_check: The verification of the metrics artifact (the content check of ``flep verify``).
        accuracy: The metrics' ``accuracy`` when it verified and is a finite number, else ``None``.
    """

    version: int
    round: int
    parent_version: int
    global_model_artifact: int
    metrics_artifact: int
    metrics_check: Check
    accuracy: float | None


@dataclass(frozen=True)
class RoundView:
    """A round's page: its stored record, its timeline and its verification (badges)."""

    federation_id: int
    round: int
    status: str
    deadline: int
    key_epoch: int
    update_count: int
    included_count: int
    weights_total: int
    model_version: int
    timeline: tuple[TimelineEntry, ...]
    verification: Verification


@dataclass(frozen=True)
class CipherImage:
    """What a codec dataset shows without any key: its container header, the cipher planes drawn as a
    grayscale image (first plane) and the histogram of the cipher bytes (all planes)."""

    mode: str
    dtype: str
    shape: tuple[int, ...]
    padded_shape: tuple[int, ...]
    fingerprint: str
    image: np.ndarray
    histogram: tuple[int, ...]


@dataclass(frozen=True)
class DatasetView:
    """A dataset artifact's page.

    Attributes:
        record: Its registration.
        owner: The data owner who registered it.
        sample_count: Its registered number of samples.
        check: The verification of its content.
        cipher: The cipher image, when the content verified and is a codec container.
        cipher_error: Why no cipher image is shown (not a codec container, or the content failed).
    """

    record: events.ArtifactRegistered
    owner: str
    sample_count: int
    check: Check
    cipher: CipherImage | None
    cipher_error: str


class ExplorerData:
    """The explorer's read model over one registry and IPFS node.

    Args:
        registry: The registry, read-only (any account; the explorer sends no transaction).
        store: The verified IPFS store.
        from_block: First block to read events from.
        member: A member's opened keystore (an analyst, custodian or auditor granted the model key): under
            threshold custody every partial decryption's proof and the combination are re-checked with its
            model key of each epoch, instead of being reported as skipped. Nothing of it is shown.
    """

    def __init__(self, registry: ModelRegistry, store: ArtifactStore, from_block: int = 0,
                 member: Keystore | None = None) -> None:
        self.registry = registry
        self.store = store
        self.from_block = from_block
        self.member = member
        self._model_keys: dict[int, Callable[[int], bytes]] = {}  # by federation; kept: grants open once
        self._lock = threading.RLock()
        self._block: int | None = None
        self._cache: dict[Hashable, Any] = {}
        self._auditors: dict[int, Auditor] = {}
        self.verified = VerifiedContents()
        self._facts = ChainFacts()  # block times and gas: kept across blocks, unlike the auditors

    # ------------------------------------------------------------------ cache

    @property
    def block(self) -> int | None:
        """The block the cached results were read at (``None`` before the first read)."""
        return self._block

    def latest_block(self) -> int:
        return int(self.registry.w3.eth.block_number)

    def _refresh(self) -> None:
        """Forget every cached result if a block was mined since they were computed."""
        with self._lock:
            block = self.latest_block()
            if block != self._block:
                self._block, self._cache, self._auditors = block, {}, {}

    def _cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()``, memoized until the latest block changes."""
        with self._lock:
            self._refresh()
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    def forget(self) -> None:
        """Drop everything kept: cached results, verified contents, block times (as a fresh start)."""
        with self._lock:
            self._block, self._cache, self._auditors = None, {}, {}
            self.verified, self._facts = VerifiedContents(self.verified.max_bytes), ChainFacts()

    def invalidate(self, federation_id: int) -> None:
        """Forget the cached results about ``federation_id``."""
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if k[1] != federation_id}
            self._auditors.pop(federation_id, None)

    def _after_verify(self, federation_id: int, result: Verification) -> Verification:
        """Drop the federation's cached results unless the verify and everything cached about it passed: a
        mismatch found now (or gone now) shows on the next page load, a passing verify keeps the cache warm."""
        if not (result.ok and all(_ok(v) for k, v in self._cache.items() if k[1] == federation_id)):
            self.invalidate(federation_id)
        return result

    def context(self, federation_id: int) -> FederationContext:
        """The federation's context; its verified fetches are answered from and kept in :attr:`verified`."""
        return FederationContext(self.registry, self.store, federation_id, self.from_block, self.verified)

    def _auditor(self, federation_id: int) -> Auditor:
        """The federation's auditor for the current block (its block-time and receipt caches are shared by the
        pages of that block)."""
        if federation_id not in self._auditors:
            self._auditors[federation_id] = self._new_auditor(self.context(federation_id), facts=self._facts)
        return self._auditors[federation_id]

    def _new_auditor(self, context: FederationContext, facts: ChainFacts | None = None) -> Auditor:
        """An auditor of ``context``, with the member's model keys when the explorer was given a keystore."""
        keys = None
        if self.member is not None:
            fid = context.federation_id
            if fid not in self._model_keys:
                self._model_keys[fid] = member_model_key(self.context(fid), self.member)
            keys = self._model_keys[fid]
        return Auditor(context, model_key_for=keys, facts=facts)

    # ------------------------------------------------------------------ pages

    def federations(self) -> list[FederationSummary]:
        def compute() -> list[FederationSummary]:
            found = []
            for fid in range(1, self.registry.federation_count() + 1):
                f = self.registry.federation(fid)
                found.append(FederationSummary(fid, f.min_participants, f.codec_key_policy, f.round_count,
                                               f.model_version_count, f.key_epoch))
            return found
        return self._cached(("federations", None), compute)

    def federation(self, federation_id: int) -> FederationSummary:
        """Raises: UnknownFederationError: If there is no such federation (a ``ChainError``)."""
        def compute() -> FederationSummary:
            f = self.registry.federation(federation_id)
            return FederationSummary(federation_id, f.min_participants, f.codec_key_policy, f.round_count,
                                     f.model_version_count, f.key_epoch)
        return self._cached(("federation", federation_id), compute)

    def rounds(self, federation_id: int) -> list[tuple[int, str]]:
        """Every round of the federation and its status (``open``, ``finalized``, ``aborted``, ...)."""
        def compute() -> list[tuple[int, str]]:
            count = self.registry.federation(federation_id).round_count
            return [(n, self.registry.round(federation_id, n).status.name.lower()) for n in range(1, count + 1)]
        return self._cached(("rounds", federation_id), compute)

    def versions(self, federation_id: int) -> list[VersionSummary]:
        """Every model version of the federation with its metrics' accuracy, the metrics verified."""
        def compute() -> list[VersionSummary]:
            count = self.registry.federation(federation_id).model_version_count
            stored_versions = [self.registry.model_version(federation_id, v) for v in range(1, count + 1)]
            fetched = self._auditor(federation_id).fetch_artifacts([s.metrics_artifact for s in stored_versions])
            found = []
            for version, stored in enumerate(stored_versions, 1):
                check, metrics = fetched[stored.metrics_artifact]
                accuracy = _accuracy(metrics) if metrics is not None else None
                found.append(VersionSummary(version, stored.round, stored.parent_version,
                                            stored.global_model_artifact, stored.metrics_artifact, check, accuracy))
            return found
        return self._cached(("versions", federation_id), compute)

    def lineage(self, federation_id: int, version: int) -> Lineage:
        """Model ``version``'s lineage (:meth:`Auditor.lineage`, every artifact re-verified).

        A lineage already computed at this block for a later version that passes through ``version`` is cut
        down instead of recomputed: its rounds and cumulative ε from version 1 are the same.

        Raises:
            UnknownModelVersionError: If the version does not exist (a ``ChainError``).
        """
        with self._lock:
            self._refresh()
            for key, value in self._cache.items():
                if key[0] == "lineage" and key[1] == federation_id and key[2] > version:
                    for i, r in enumerate(value.rounds):
                        if r.version == version:
                            return Lineage(federation_id, version, value.rounds[i:])
            return self._cached(("lineage", federation_id, version),
                                lambda: self._auditor(federation_id).lineage(version))

    def round(self, federation_id: int, round_: int) -> RoundView:
        """A round's stored record, timeline (:meth:`Auditor.timeline`) and verification
        (:meth:`Auditor.verify_round`).

        Raises:
            UnknownRoundError: If the round does not exist (a ``ChainError``).
        """
        def compute() -> RoundView:
            stored = self.registry.round(federation_id, round_)
            auditor = self._auditor(federation_id)
            timeline = tuple(auditor.timeline(round_))
            return RoundView(federation_id, round_, stored.status.name.lower(), stored.deadline, stored.key_epoch,
                             stored.update_count, stored.included_count, stored.weights_total,
                             stored.model_version, timeline, auditor.verify_round(round_))
        return self._cached(("round", federation_id, round_), compute)

    def access(self, federation_id: int) -> list[AccessEntry]:
        """Raises: UnknownFederationError: If there is no such federation (a ``ChainError``)."""
        return self._cached(("access", federation_id), lambda: self._auditor(federation_id).access())

    def dataset(self, federation_id: int, artifact_id: int) -> DatasetView:
        """A dataset of the federation: registration, owner, samples, verification and cipher image.

        Raises:
            UnknownArtifactError: If no dataset ``artifact_id`` was registered in the federation.
        """
        def compute() -> DatasetView:
            record = self.registry.artifact(artifact_id, from_block=self.from_block)
            if record.kind != ArtifactKind.DATASET or record.federation_id != federation_id:
                raise UnknownArtifactError(artifact_id=artifact_id)
            registered = self.registry.dataset(artifact_id)
            [check] = self._auditor(federation_id).verify_artifact(artifact_id).checks
            cipher, error = None, "its content did not verify, so nothing of it is shown"
            if check.ok:
                try:
                    cipher, error = _cipher_image(self.context(federation_id).fetch_verified(record))
                except (RoleError, StoreError) as exc:
                    error = f"its content did not verify when fetched for the image: {exc}"
            return DatasetView(record, registered.owner, registered.sample_count, check, cipher, error)
        return self._cached(("dataset", federation_id, artifact_id), compute)

    def warm(self) -> None:
        """Compute what the first pages show, each federation's versions, rounds and latest lineage, ahead of any
        request (the lineage of a long federation re-verifies every round). Failures are left for the pages to
        report."""
        try:
            for f in self.federations():
                self.versions(f.federation_id)
                self.rounds(f.federation_id)
                if f.model_version_count:
                    self.lineage(f.federation_id, f.model_version_count)
        except (ChainError, RoleError, StoreError, OSError):
            pass

    # ------------------------------------------------------------------ verify (never cached)

    def verify_artifact(self, federation_id: int, artifact_id: int) -> Verification:
        """:meth:`Auditor.verify_artifact` by a fresh auditor, for an artifact of the federation.

        Raises:
            UnknownArtifactError: If the federation registered no such artifact.
        """
        with self._lock:
            if self.registry.artifact(artifact_id, from_block=self.from_block).federation_id != federation_id:
                raise UnknownArtifactError(artifact_id=artifact_id)
            return self._after_verify(federation_id,
                                      self._new_auditor(self.context(federation_id).refetching()).verify_artifact(artifact_id))

    def verify_round(self, federation_id: int, round_: int) -> Verification:
        """:meth:`Auditor.verify_round` by a fresh auditor.

        Raises:
            UnknownRoundError: If the round does not exist (a ``ChainError``).
        """
        with self._lock:
            return self._after_verify(federation_id, self._new_auditor(self.context(federation_id).refetching()).verify_round(round_))


def _ok(cached: Any) -> bool:
    """Whether a cached result shows no failed check."""
    if isinstance(cached, list):
        return all(_ok(v) for v in cached)
    if isinstance(cached, VersionSummary):
        return cached.metrics_check.ok
    if isinstance(cached, RoundView):
        return cached.verification.ok
    if isinstance(cached, DatasetView):
        return cached.check.ok
    if isinstance(cached, Lineage):
        return cached.ok
    return True


def _accuracy(metrics: bytes) -> float | None:
    """The ``accuracy`` of a verified metrics report (untrusted JSON): a finite number, else ``None``."""
    try:
        value = json.loads(metrics).get("accuracy")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _cipher_image(data: bytes) -> tuple[CipherImage | None, str]:
    """The cipher image of a codec container, read without any key, or why there is none."""
    from clients.codec import CodecError, read_header
    from clients.codec.container import HEADER_BYTES

    try:
        header = read_header(data)
    except CodecError as exc:
        return None, f"not a codec cipher image: {exc}"
    planes = np.frombuffer(data, dtype=header.dtype, count=int(np.prod(header.payload_shape)),
                           offset=HEADER_BYTES).reshape(header.payload_shape)
    if planes.dtype != np.uint8:  # paper mode: float planes, drawn as the report draws them
        planes = np.clip(np.rint(np.nan_to_num(planes)), 0, 255).astype(np.uint8)
    histogram = np.bincount(planes.reshape(-1), minlength=HISTOGRAM_BINS)
    image = planes[0]
    step = max(1, math.ceil(max(image.shape) / CIPHER_IMAGE_MAX_SIDE))
    return CipherImage(header.mode, header.dtype.name, header.image_shape, header.payload_shape,
                       header.fingerprint.hex(), np.ascontiguousarray(image[::step, ::step]),
                       tuple(int(c) for c in histogram)), ""
