"""Long-running parties: each agent derives everything from the chain and IPFS, so a restarted agent resumes
where it stopped and never records anything twice.

One :meth:`step` looks at the federation's latest round and does the one thing this party owes it, if any:

* :class:`AnalystAgent`: an open round without this analyst's update -> open its codec-key grants, fetch and
  decrypt its datasets, start from the latest global model (opened with its model-key grant) or the plan's
  initial model, train (with Opacus DP-SGD when the plan's DP applies to the round), encrypt bound to the
  round, upload, submit. "Already submitted" is read from the chain (``updateDigest``), so a restart never
  submits twice.
* :class:`AggregatorAgent`: an open round every current analyst submitted to, or whose deadline passed with
  enough updates -> close and aggregate (:class:`~registry.roles.Aggregator`); a closed round without an
  aggregate (a crash in between) -> aggregate.
* :class:`KeyHolderAgent`: keeps the current epoch's model key granted to every current analyst; a posted,
  undisputed aggregate -> review and decrypt (:class:`~registry.roles.KeyHolder`), add the mean update to the
  previous model, score it on the plan's public evaluation data, seal it under the model key, finalize with
  the round's DP record (:meth:`KeyHolderAgent.dp_record`).

:func:`run_agent` polls a step until told to stop.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import torch

from clients.codec import CodecError, CodecKey, decrypt
from clients.fl import (
    FLClient,
    FLError,
    LabelledData,
    TrainConfig,
    build_model,
    evaluate,
    load_digits_data,
    read_sheet,
    set_flat_params,
    split_train_test,
)
from clients.he import UpdateContext, encrypt_update, private_key_from_bytes
from registry.chain import DpParameters, KeyKind, Role, RoundStatus, events
from registry.keystore import Keystore
from registry.roles.aggregator import Aggregator
from registry.roles.context import FederationContext, as_input
from registry.roles.errors import RoleError
from registry.roles.grants import grant_sealed, open_grant
from registry.roles.key_holder import KeyHolder
from registry.roles.models import new_model_key, open_model, seal_model
from registry.roles.plan import TrainingPlan, current_plan, initial_params


class AgentError(RoleError):
    """An agent cannot act: e.g. an analyst with no dataset it can open."""


@dataclass(frozen=True)
class AgentAction:
    """What one step did: the party, the round, what happened, and the artifact or version it produced.

    ``epsilon`` is set by an analyst that trained the round with DP-SGD: the ε it has spent over all the DP
    rounds it trained in (see :meth:`AnalystAgent.cumulative_epsilon`).
    """

    party: str
    round: int
    action: str
    result: int = 0
    gas_used: int = 0
    seconds: float = 0.0
    epsilon: float | None = None


class Agent(Protocol):
    def step(self) -> AgentAction | None: ...


def chain_now(registry) -> int:
    """The block time the next transaction will see, as far as a party can tell: the later of the latest block's
    timestamp and the wall clock (an idle chain mines no block, so its latest timestamp stands still)."""
    return max(int(registry.w3.eth.get_block("latest")["timestamp"]), int(time.time()))


def current_analysts(context: FederationContext) -> list[str]:
    """Accounts holding the analyst role now (granted and not revoked), sorted."""
    registry = context.registry
    granted = registry.events(events.FederationRoleGranted, context.from_block, federation_id=context.federation_id,
                              role=Role.ANALYST)
    return sorted(a for a in {g.account for g in granted} if registry.has_role(context.federation_id, Role.ANALYST, a))


def model_params(context: FederationContext, version: int, model_key_for: Callable[[int], bytes]) -> np.ndarray:
    """The flat parameters of model ``version``, fetched, verified and opened with its epoch's model key."""
    registry, fid = context.registry, context.federation_id
    stored = registry.model_version(fid, version)
    epoch = registry.round(fid, stored.round).key_epoch
    record = registry.artifact(stored.global_model_artifact, from_block=context.from_block)
    payload = open_model(model_key_for(epoch), context.fetch_verified(record), fid, stored.round, epoch)
    return np.load(io.BytesIO(payload), allow_pickle=False).astype(np.float64)


def registered_samples(context: FederationContext, dataset_ids: Sequence[int]) -> int:
    """The samples the data owners registered for ``dataset_ids`` (an update's parents), summed."""
    return sum(context.registry.dataset(i).sample_count for i in dataset_ids)


def _latest_round(context: FederationContext):
    latest = context.registry.federation(context.federation_id).round_count
    return context.registry.round(context.federation_id, latest) if latest else None


class AnalystAgent:
    """An analyst: trains on the datasets it was granted and submits one update per open round.

    Args:
        context: The federation, seen through the analyst's account.
        keystore: The analyst's keystore (its grants are sealed for it).
        workers: Processes for Paillier encryption.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1) -> None:
        self.context, self.keystore, self.workers = context, keystore, workers

    def step(self) -> AgentAction | None:
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        stored = _latest_round(self.context)
        if stored is None or stored.status != RoundStatus.OPEN:
            return None
        if any(registry.update_digest(fid, stored.round, me)) or not registry.has_role(fid, Role.ANALYST, me):
            return None
        if chain_now(registry) > stored.deadline:
            return None
        started = time.perf_counter()
        plan = current_plan(self.context)
        data, dataset_ids = self._granted_data()
        version = registry.federation(fid).model_version_count
        start = (model_params(self.context, version, self._model_key) if version else initial_params(plan))
        config = TrainConfig(local_epochs=plan.local_epochs, lr=plan.lr, batch_size=plan.batch_size)
        dp = plan.dp.config() if plan.dp is not None and plan.dp.applies_to(stored.round) else None
        fit = FLClient(me, data, plan.model, config, torch.device("cpu"), dp=dp, seed=plan.seed + stored.round).fit(
            start.astype(np.float32))
        delta = np.asarray(fit.update.parameters, dtype=np.float64) - start
        keys = self.context.epoch_keys(stored.key_epoch)
        update = encrypt_update(keys.public_key, delta, fit.update.num_examples, plan.encoding,
                                UpdateContext(fid, stored.round, stored.key_epoch, me), workers=self.workers)
        blob = self.context.store.put_bytes(update.to_bytes(keys.public_key))
        submitted = registry.submit_update(fid, stored.round, as_input(blob), fit.update.num_examples, dataset_ids)
        if dp is None:
            return AgentAction("analyst", stored.round, "submitted update", submitted.value, submitted.gas_used,
                               time.perf_counter() - started)
        epsilon = self.cumulative_epsilon(plan, stored.round)
        return AgentAction("analyst", stored.round, f"submitted update trained with DP-SGD (epsilon {epsilon:.3f} "
                           f"spent so far at delta {dp.delta:g})", submitted.value, submitted.gas_used,
                           time.perf_counter() - started, epsilon)

    def cumulative_epsilon(self, plan: TrainingPlan, through_round: int) -> float:
        """The ε this analyst has spent over every DP round up to ``through_round``, read from the chain.

        Derived, not remembered: each update this analyst submitted (``UpdateSubmitted``, whatever became of
        its round) in a round the plan's DP applies to counts as one round of DP-SGD on its parents' registered
        samples, and :meth:`TrainingPlan.dp_epsilon` composes them all in one accountant (RDP or PRV
        composition, tighter than summing per-round ε). A restarted agent therefore reports the same total as
        one that never stopped, and a fresh :class:`~clients.fl.FLClient` per round (whose own accountant sees
        one round only) cannot under-report. It assumes the current plan's σ and rounds held in earlier rounds
        too. Rounds without DP carry no guarantee and are not part of this ε.

        Raises:
            PlanError: If the plan has no DP section.
        """
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        mine = [u for u in registry.events(events.UpdateSubmitted, self.context.from_block, federation_id=fid)
                if u.analyst == me and u.round <= through_round and plan.dp_applies(u.round)]
        return plan.dp_epsilon([registered_samples(self.context, u.parents) for u in mine])

    def _model_key(self, epoch: int) -> bytes:
        return open_grant(self.context, self.keystore, KeyKind.MODEL_KEY, epoch=epoch)

    def _granted_data(self) -> tuple[LabelledData, list[int]]:
        """Every dataset the codec keys granted to this analyst open, fetched, verified and decrypted.

        A data owner grants each analyst the key of that analyst's data; a dataset of the same owner under
        another key (or not a digit sheet at all) is not this analyst's and is skipped.
        """
        registry, fid, me = self.context.registry, self.context.federation_id, self.keystore.address
        parts, ids, keys = [], [], {}
        for dataset in registry.events(events.DatasetRegistered, self.context.from_block, federation_id=fid):
            if not registry.key_grant(fid, KeyKind.CODEC_KEY, me, dataset.owner).active:
                continue
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
            raise AgentError(f"analyst {me} holds the codec key of no dataset of federation {fid}; "
                             "ask a data owner for a grant")
        first = parts[0]
        data = LabelledData(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                            first.num_classes, first.class_names)
        return data, ids


class AggregatorAgent:
    """The aggregator: closes and aggregates a round once every current analyst submitted, or its deadline
    passed with at least the minimum.

    Args:
        context: The federation, seen through the aggregator's account.
    """

    def __init__(self, context: FederationContext) -> None:
        self.context = context

    def step(self) -> AgentAction | None:
        registry, fid = self.context.registry, self.context.federation_id
        stored = _latest_round(self.context)
        if stored is None:
            return None
        if stored.status == RoundStatus.OPEN:
            members = current_analysts(self.context)
            expired = chain_now(registry) > stored.deadline
            minimum = registry.federation(fid).min_participants
            if stored.update_count < minimum or not (expired or stored.update_count >= len(members)):
                return None
        elif stored.status != RoundStatus.AGGREGATING or stored.aggregate_artifact:
            return None
        started = time.perf_counter()
        plan = current_plan(self.context)
        result = Aggregator(self.context, plan.num_values).aggregate_round(stored.round)
        return AgentAction("aggregator", stored.round, f"posted aggregate of {len(result.included)} updates "
                           f"({len(result.excluded)} excluded)", result.aggregate_id, result.gas_used,
                           time.perf_counter() - started)


class KeyHolderAgent:
    """The key holder: grants the epoch's model key to current analysts, and finalizes posted rounds.

    Args:
        context: The federation, seen through the key holder's account.
        keystore: The key holder's keystore, holding ``paillier-epoch-E`` (and ``model-key-epoch-E``, created here).
        workers: Processes for Paillier decryption.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1) -> None:
        self.context, self.keystore, self.workers = context, keystore, workers

    def step(self) -> AgentAction | None:
        return self._grant_model_key() or self._finalize()

    def _model_key(self, epoch: int) -> bytes:
        name = f"model-key-epoch-{epoch}"
        if not self.keystore.has_secret(name):
            self.keystore.put_secret(name, new_model_key())
        return self.keystore.get_secret(name)

    def _grant_model_key(self) -> AgentAction | None:
        registry, fid = self.context.registry, self.context.federation_id
        epoch = registry.federation(fid).key_epoch
        if not epoch or not registry.is_key_holder(fid, self.keystore.address):
            return None
        for analyst in current_analysts(self.context):
            grant = registry.key_grant(fid, KeyKind.MODEL_KEY, analyst)
            if grant.revoked_at or (grant.active and grant.key_epoch == epoch):
                continue
            if not registry.encryption_key(analyst).registered_at:
                continue  # it cannot be granted anything before it registers its encryption key
            result = grant_sealed(self.context, KeyKind.MODEL_KEY, analyst, self._model_key(epoch), epoch=epoch)
            return AgentAction("key holder", 0, f"granted the epoch-{epoch} model key to {analyst}",
                               gas_used=result.transaction.gas_used)
        return None

    def _finalize(self) -> AgentAction | None:
        registry, fid = self.context.registry, self.context.federation_id
        stored = _latest_round(self.context)
        if stored is None or stored.status != RoundStatus.AGGREGATING or not stored.aggregate_artifact:
            return None
        if stored.disputed or not registry.is_key_holder(fid, self.keystore.address):
            return None
        started = time.perf_counter()
        plan = current_plan(self.context)
        epoch = stored.key_epoch
        private_key = private_key_from_bytes(self.keystore.get_secret(f"paillier-epoch-{epoch}"))
        holder = KeyHolder(self.context, {epoch: private_key}, plan.num_values)
        review, mean = holder.decrypt_round(stored.round, self.workers)
        parent = registry.federation(fid).model_version_count
        start = model_params(self.context, parent, self._model_key) if parent else initial_params(plan)
        params = (start + mean).astype(np.float32)
        dp, by_analyst = self.dp_record(plan, stored.round, review.included)
        report = {"round": stored.round, "model": plan.model, "num_parameters": int(params.size),
                  "included": list(review.included), "excluded": list(review.excluded),
                  "weights_total": review.aggregate.weights_total, "dp": _dp_report(dp, by_analyst),
                  **self._evaluate(plan, params)}
        buffer = io.BytesIO()
        np.save(buffer, params, allow_pickle=False)
        sealed = self.context.store.put_bytes(seal_model(self._model_key(epoch), buffer.getvalue(), fid,
                                                         stored.round, epoch))
        metrics = self.context.store.put_bytes(json.dumps(report, sort_keys=True).encode())
        finalized = holder.finalize(stored.round, as_input(sealed), as_input(metrics), dp, parent)
        return AgentAction("key holder", stored.round, f"finalized model v{finalized.value}", finalized.value,
                           finalized.gas_used, time.perf_counter() - started)

    def dp_record(self, plan: TrainingPlan, round_: int, included: Sequence[int]) -> tuple[DpParameters,
                                                                                          dict[str, float]]:
        """The round's DP record for the chain, and the per-round ε of each included analyst.

        Without DP in the plan for ``round_`` the record is :meth:`DpParameters.none`. Otherwise it is
        (ε, δ, σ, C, accountant) with the plan's δ, σ, C and accountant, and ε the largest, over the included
        updates, of the accountant's ε for one round of local DP-SGD as the plan prescribes (``local_epochs``
        passes, ``batch_size``, Poisson sampling) on the samples the data owners registered for that update's
        parent datasets (:meth:`TrainingPlan.dp_epsilon`).

        What it means: every included analyst that trained as the plan says released this round's update
        (ε, δ)-DP with respect to any one sample of its datasets (sample-level DP). It is computed from public
        data only (plan and chain); the key holder cannot see the training itself (updates are encrypted), so it
        is the plan's guarantee, not a measurement. It is one round's ε: an analyst's total over several DP
        rounds composes (summing per-round ε is a basic-composition upper bound).

        Raises:
            PlanError: If an included update has no registered samples (nothing to account on).
        """
        dp = plan.dp
        if dp is None or not dp.applies_to(round_):
            return DpParameters.none(), {}
        updates = {u.artifact_id: u for u in self.context.registry.round_updates(
            self.context.federation_id, round_, self.context.from_block)}
        by_analyst = {updates[i].analyst: plan.dp_epsilon([registered_samples(self.context, updates[i].parents)])
                      for i in included}
        return (DpParameters.from_floats(max(by_analyst.values()), dp.delta, dp.noise_multiplier, dp.clip_norm,
                                         dp.accountant), by_analyst)

    @staticmethod
    def _evaluate(plan: TrainingPlan, params: np.ndarray) -> dict[str, float]:
        if plan.evaluation != "digits-test":
            return {}
        _, test = split_train_test(load_digits_data(), 0.2, seed=plan.seed)
        model = build_model(plan.model, test.sample_shape, test.num_classes, seed=plan.seed)
        set_flat_params(model, params)
        metrics = evaluate(model, test)
        return {"accuracy": metrics.accuracy, "f1": metrics.f1, "num_test_samples": metrics.num_samples}


def _dp_report(dp: DpParameters, by_analyst: dict[str, float]) -> dict[str, object] | None:
    """The DP record as the round's metrics JSON shows it (``None`` for a round without DP)."""
    if not dp.enabled:
        return None
    return {"epsilon": dp.epsilon, "delta": dp.delta, "noise_multiplier": dp.noise_multiplier,
            "clip_norm": dp.clip_norm, "accountant": dp.accountant, "epsilon_by_analyst": by_analyst}


def run_agent(agent: Agent, poll_seconds: float, should_stop: Callable[[], bool],
              report: Callable[[AgentAction], None], report_error: Callable[[Exception], None],
              retry_on: tuple[type[Exception], ...]) -> None:
    """Step ``agent`` until ``should_stop()``; after an action, step again at once, else wait ``poll_seconds``.

    A failure of a ``retry_on`` type (a node down, a refusal, a grant not made yet) is reported and the step
    retried after the poll interval: the chain still holds the whole state, so nothing is lost. Any other
    exception is a bug and propagates.
    """
    while not should_stop():
        try:
            action = agent.step()
        except retry_on as exc:
            report_error(exc)
            action = None
        if action is not None:
            report(action)
            continue
        time.sleep(poll_seconds)
