"""The analyst: opens the datasets it was granted, trains locally from the latest global model, and submits
one Paillier-encrypted update per round, bound to that round.

Everything it starts from is read from the chain and IPFS and verified: its codec-key grants, the datasets,
the global model (opened with its model-key grant), the epoch's public key and the plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from clients.codec import CodecError, CodecKey, decrypt
from clients.fl import FLClient, FLError, LabelledData, TrainConfig, read_sheet
from clients.he import UpdateContext, encrypt_update
from registry.chain import KeyKind, Round, events
from registry.keystore import Keystore
from registry.roles.context import FederationContext, as_input
from registry.roles.errors import RoleError
from registry.roles.grants import open_grant
from registry.roles.models import model_params
from registry.roles.plan import TrainingPlan, current_plan, initial_params


class NoGrantedDataError(RoleError):
    """The analyst holds the codec key of no dataset of the federation."""


@dataclass(frozen=True)
class SubmittedUpdate:
    """One round's update as the chain recorded it.

    Attributes:
        round: The round.
        update_id: The update's artifact id.
        weight: The sample count it was weighted by.
        gas_used: Gas of the submission.
        seconds: Wall time from reading the round to the recorded submission.
        epsilon: With DP-SGD in this round: the ε spent over all the analyst's DP rounds so far
            (:meth:`Analyst.cumulative_epsilon`); ``None`` without DP.
    """

    round: int
    update_id: int
    weight: int
    gas_used: int
    seconds: float
    epsilon: float | None = None


@dataclass
class _Training:
    """The analyst's opened data and its local trainer, kept while the datasets it holds a codec-key grant
    for (``candidates``) stay the same; ``datasets`` are those that opened."""

    candidates: frozenset[int]
    datasets: tuple[int, ...]
    data: LabelledData
    client: FLClient | None = None


class Analyst:
    """An analyst of one federation.

    The opened datasets and the local trainer are kept between rounds (a long-running analyst decrypts its data
    once, and its shuffling continues as in :func:`clients.fl.run_federated`); a change in its grants or the
    federation's datasets opens them again.

    Args:
        context: The federation, seen through the analyst's account.
        keystore: The analyst's keystore (its grants are sealed for it).
        workers: Processes for Paillier encryption.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1) -> None:
        self.context, self.keystore, self.workers = context, keystore, workers
        self._training: _Training | None = None

    def submit(self, round_record: Round) -> SubmittedUpdate:
        """Train on the granted data and submit this analyst's update to the open round ``round_record``.

        Raises:
            NoGrantedDataError: If no granted dataset opens.
            GrantError: If the model-key grant of the round's start model is missing or revoked.
            ChainError: If the chain refuses the submission (not an analyst, round closed, already submitted).
            StoreError: If an artifact cannot be fetched or fails verification.
        """
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        started = time.perf_counter()
        plan = current_plan(self.context)
        training = self._open_training(plan)
        version = registry.federation(fid).model_version_count
        start = model_params(self.context, version, self._model_key) if version else initial_params(plan)
        dp = plan.dp.config() if plan.dp is not None and plan.dp.applies_to(round_record.round) else None
        client = self._client(training, plan, dp)
        fit = client.fit(start.astype(np.float32))
        delta = np.asarray(fit.update.parameters, dtype=np.float64) - start
        keys = self.context.epoch_keys(round_record.key_epoch)
        update = encrypt_update(keys.public_key, delta, fit.update.num_examples, plan.encoding,
                                UpdateContext(fid, round_record.round, round_record.key_epoch, me),
                                workers=self.workers)
        blob = self.context.store.put_bytes(update.to_bytes(keys.public_key))
        submitted = registry.submit_update(fid, round_record.round, as_input(blob), fit.update.num_examples,
                                           list(training.datasets))
        epsilon = None if dp is None else self.cumulative_epsilon(plan, round_record.round)
        return SubmittedUpdate(round_record.round, submitted.value, fit.update.num_examples, submitted.gas_used,
                               time.perf_counter() - started, epsilon)

    def cumulative_epsilon(self, plan: TrainingPlan, through_round: int) -> float:
        """The ε this analyst has spent over every DP round up to ``through_round``, read from the chain.

        Derived, not remembered: each update this analyst submitted (``UpdateSubmitted``, whatever became of
        its round) in a round the plan's DP applies to counts as one round of DP-SGD on its parents' registered
        samples, and :meth:`TrainingPlan.dp_epsilon` composes them all in one accountant (RDP or PRV
        composition, tighter than summing per-round ε). A restarted analyst therefore reports the same total as
        one that never stopped, and a local trainer's own accountant (which may have seen fewer rounds) cannot
        under-report. It assumes the current plan's σ and rounds held in earlier rounds too. Rounds without DP
        carry no guarantee and are not part of this ε.

        Raises:
            PlanError: If the plan has no DP section.
        """
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        mine = [u for u in registry.events(events.UpdateSubmitted, self.context.from_block, federation_id=fid)
                if u.analyst == me and u.round <= through_round and plan.dp_applies(u.round)]
        return plan.dp_epsilon([self.context.registered_samples(u.parents) for u in mine])

    def _model_key(self, epoch: int) -> bytes:
        return open_grant(self.context, self.keystore, KeyKind.MODEL_KEY, epoch=epoch)

    def _client(self, training: _Training, plan: TrainingPlan, dp) -> FLClient:
        """The local trainer: kept across rounds without DP; a DP round gets a fresh one (its accountant and
        Opacus wrapping are per round). Seeded as :func:`clients.fl.make_clients` seeds client ``i``, ``i`` the
        position of this analyst's first dataset among the federation's, so a run with one dataset per analyst
        trains as the plaintext simulation of the same partitions."""
        if dp is None and training.client is not None:
            return training.client
        registry, fid = self.context.registry, self.context.federation_id
        order = [d.artifact_id for d in registry.events(events.DatasetRegistered, self.context.from_block,
                                                         federation_id=fid)]
        seed = plan.seed * 1000 + order.index(training.datasets[0])
        config = TrainConfig(local_epochs=plan.local_epochs, lr=plan.lr, batch_size=plan.batch_size)
        client = FLClient(self.keystore.address, training.data, plan.model, config, torch.device("cpu"), dp=dp,
                          seed=seed)
        if dp is None:
            training.client = client
        return client

    def _open_training(self, plan: TrainingPlan) -> _Training:
        """The granted datasets, opened again only when the set of datasets this analyst can open changed."""
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        candidates = [d for d in registry.events(events.DatasetRegistered, self.context.from_block,
                                                 federation_id=fid)
                      if registry.key_grant(fid, KeyKind.CODEC_KEY, me, d.owner).active]
        if self._training is not None and {d.artifact_id for d in candidates} == self._training.candidates:
            return self._training
        self._training = self._open(candidates)
        return self._training

    def _open(self, candidates: list[events.DatasetRegistered]) -> _Training:
        """Every candidate dataset the codec keys granted to this analyst open, fetched, verified, decrypted.

        A data owner grants each analyst the key of that analyst's data; a dataset of the same owner under
        another key (or not a digit sheet at all) is not this analyst's and is skipped.
        """
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        parts, ids, keys = [], [], {}
        for dataset in candidates:
            if dataset.owner not in keys:
                keys[dataset.owner] = CodecKey.from_json(
                    open_grant(self.context, self.keystore, KeyKind.CODEC_KEY, key_owner=dataset.owner).decode())
            record = registry.artifact(dataset.artifact_id, from_block=self.context.from_block)
            try:
                parts.append(read_sheet(decrypt(self.context.fetch_verified(record), keys[dataset.owner])))
            except (CodecError, FLError):
                continue
            ids.append(dataset.artifact_id)
        if not parts:
            raise NoGrantedDataError(f"analyst {me} holds the codec key of no dataset of federation {fid}; "
                                     "ask a data owner for a grant")
        first = parts[0]
        data = LabelledData(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                            first.num_classes, first.class_names)
        return _Training(frozenset(d.artifact_id for d in candidates), tuple(ids), data)
