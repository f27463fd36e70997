"""Long-running parties: each agent derives everything from the chain and IPFS, so a restarted agent resumes
where it stopped and never records anything twice.

One :meth:`step` looks at the federation's latest round and does the one thing this party owes it, if any:

* :class:`AnalystAgent`: an open round without this analyst's update, before its deadline -> train and submit
  (:class:`~registry.roles.analyst.Analyst`). "Already submitted" is read from the chain (``updateDigest``),
  so a restart never submits twice.
* :class:`AggregatorAgent`: an open round every current analyst submitted to, or whose deadline passed with
  enough updates -> close and aggregate (:class:`~registry.roles.Aggregator`); a closed round without an
  aggregate (a crash in between) -> aggregate.
* :class:`KeyHolderAgent`: takes over custody handed to it (:mod:`registry.roles.custody`); keeps the current
  epoch's model key granted to every current analyst; a posted, undisputed aggregate -> review and decrypt
  (:class:`~registry.roles.KeyHolder`), add the mean update to the previous model, score it on the plan's
  public evaluation data, seal it under the model key, finalize with the round's DP record
  (:func:`dp_record`).
* :class:`CustodianAgent` (threshold custody, :mod:`registry.roles.custodian`): keeps the epoch's model key
  granted as a key holder does; a posted, undisputed aggregate without its partial -> review, partially decrypt
  and register; once ``t`` partials are in -> combine them (naming and skipping any that fail) and finalize as
  a key holder does. The custodian with the lowest index among those that submitted finalizes at once, the
  others only if the round is still not finalized :data:`FINALIZE_GRACE_SECONDS` later (it may have died).

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

from clients.fl import build_model, evaluate, load_digits_data, set_flat_params, split_train_test
from clients.he import InsufficientPartialsError, private_key_from_bytes
from registry.chain import DpParameters, KeyKind, Role, Round, RoundStatus, Tx
from registry.keystore import Keystore
from registry.roles.admin import chain_now, current_analysts
from registry.roles.aggregator import Aggregator
from registry.roles.analyst import Analyst
from registry.roles.context import FederationContext, as_input
from registry.roles.custodian import Custodian
from registry.roles.custody import CustodyError, model_key_made_by_another, take_custody
from registry.roles.grants import grant_sealed
from registry.roles.key_epochs import model_key_secret, paillier_secret
from registry.roles.key_holder import KeyHolder, RoundReview
from registry.roles.models import model_params, new_model_key, seal_model
from registry.roles.plan import TrainingPlan, current_plan, initial_params

FINALIZE_GRACE_SECONDS = 20.0
"""How long a custodian that is not first in line waits before it finalizes a round whose partials are in."""


@dataclass(frozen=True)
class AgentAction:
    """What one step did: the party, the round, what happened, and the artifact or version it produced.

    ``epsilon`` is set by an analyst that trained the round with DP-SGD: the ε it has spent over all the DP
    rounds it trained in (see :meth:`~registry.roles.analyst.Analyst.cumulative_epsilon`).
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


def _latest_round(context: FederationContext) -> Round | None:
    latest = context.registry.federation(context.federation_id).round_count
    return context.registry.round(context.federation_id, latest) if latest else None


class AnalystAgent:
    """An analyst: submits one update per open round (:class:`~registry.roles.analyst.Analyst`).

    Args:
        context: The federation, seen through the analyst's account.
        keystore: The analyst's keystore (its grants are sealed for it).
        workers: Processes for Paillier encryption.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1) -> None:
        self.analyst = Analyst(context, keystore, workers)

    def step(self) -> AgentAction | None:
        context, me = self.analyst.context, self.analyst.keystore.address
        registry, fid = context.registry, context.federation_id
        stored = _latest_round(context)
        if stored is None or stored.status != RoundStatus.OPEN:
            return None
        if any(registry.update_digest(fid, stored.round, me)) or not registry.has_role(fid, Role.ANALYST, me):
            return None
        if chain_now(registry) > stored.deadline:
            return None
        submitted = self.analyst.submit(stored)
        if submitted.epsilon is None:
            return AgentAction("analyst", stored.round, "submitted update", submitted.update_id, submitted.gas_used,
                               submitted.seconds)
        delta = current_plan(context).dp.delta
        return AgentAction("analyst", stored.round, f"submitted update trained with DP-SGD (epsilon "
                           f"{submitted.epsilon:.3f} spent so far at delta {delta:g})", submitted.update_id,
                           submitted.gas_used, submitted.seconds, submitted.epsilon)


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
        keystore: The key holder's keystore, holding each epoch's Paillier key (and its model key, made here
            by the epoch's first key holder and handed over to later ones).
        workers: Processes for Paillier decryption.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1) -> None:
        self.context, self.keystore, self.workers = context, keystore, workers

    def step(self) -> AgentAction | None:
        return self._take_custody() or self._grant_model_key() or self._finalize()

    def _take_custody(self) -> AgentAction | None:
        """A key handed over to this keystore (:mod:`registry.roles.custody`), taken into it."""
        registry, fid = self.context.registry, self.context.federation_id
        if not registry.is_key_holder(fid, self.keystore.address):
            return None
        epoch = take_custody(self.context, self.keystore)
        if epoch is None:
            return None
        return AgentAction("key holder", 0, f"took custody of the epoch-{epoch} Paillier key")

    def _model_key(self, epoch: int) -> bytes:
        name = model_key_secret(epoch)
        if not self.keystore.has_secret(name):
            maker = model_key_made_by_another(self.context, self.keystore, epoch)
            if maker is not None:
                raise CustodyError(f"the epoch-{epoch} model key was made by key holder {maker} and not handed "
                                   f"over to {self.keystore.address}; ask it for a hand-over")
            self.keystore.put_secret(name, new_model_key())
        return self.keystore.get_secret(name)

    def _grant_model_key(self) -> AgentAction | None:
        return grant_model_key(self.context, self.keystore.address, self._model_key, "key holder")

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
        private_key = private_key_from_bytes(self.keystore.get_secret(paillier_secret(epoch)))
        holder = KeyHolder(self.context, {epoch: private_key}, plan.num_values)
        review, mean = holder.decrypt_round(stored.round, self.workers)
        finalized = publish_round(self.context, plan, review, mean, self._model_key, {})
        return AgentAction("key holder", stored.round, f"finalized model v{finalized.value}", finalized.value,
                           finalized.gas_used, time.perf_counter() - started)


class CustodianAgent:
    """A custodian under threshold custody: grants the model key, posts partials, combines and finalizes.

    Args:
        context: The federation, seen through the custodian's account.
        keystore: The custodian's keystore (its share grants are sealed for it).
        workers: Processes for the partial decryption.
        grace_seconds: How long a custodian that is not first in line waits before finalizing.
    """

    def __init__(self, context: FederationContext, keystore: Keystore, workers: int | None = 1,
                 grace_seconds: float = FINALIZE_GRACE_SECONDS) -> None:
        self.context, self.keystore, self.workers, self.grace_seconds = context, keystore, workers, grace_seconds
        self._custodian: Custodian | None = None
        self._ready_since: dict[int, float] = {}
        self._too_few: dict[int, tuple[int, ...]] = {}  # round -> the partials that did not combine

    def step(self) -> AgentAction | None:
        return self._grant_model_key() or self._submit_partial() or self._finalize()

    def _role(self) -> Custodian:
        if self._custodian is None:
            self._custodian = Custodian(self.context, self.keystore, current_plan(self.context).num_values)
        return self._custodian

    def _is_custodian(self, epoch: int) -> bool:
        registry, fid = self.context.registry, self.context.federation_id
        return bool(epoch) and registry.is_key_holder(fid, self.keystore.address) and bool(
            registry.custodian_index(fid, epoch, self.keystore.address))

    def _grant_model_key(self) -> AgentAction | None:
        epoch = self.context.registry.federation(self.context.federation_id).key_epoch
        if not self._is_custodian(epoch):
            return None
        return grant_model_key(self.context, self.keystore.address, self._role().model_key, "custodian")

    def _ready_round(self) -> Round | None:
        stored = _latest_round(self.context)
        if stored is None or stored.status != RoundStatus.AGGREGATING or not stored.aggregate_artifact:
            return None
        if stored.disputed or not self._is_custodian(stored.key_epoch):
            return None
        return stored

    def _submit_partial(self) -> AgentAction | None:
        stored = self._ready_round()
        if stored is None or self._role().has_submitted(stored.round):
            return None
        started = time.perf_counter()
        submitted = self._role().submit_partial(stored.round, self.workers)
        return AgentAction("custodian", stored.round, f"submitted partial decryption as custodian "
                           f"{submitted.value.index}", submitted.value.artifact_id, submitted.gas_used,
                           time.perf_counter() - started)

    def _finalize(self) -> AgentAction | None:
        stored = self._ready_round()
        if stored is None:
            return None
        registry, fid = self.context.registry, self.context.federation_id
        submitted = registry.partial_custodians(fid, stored.round)
        if len(submitted) < registry.epoch_custody(fid, stored.key_epoch).threshold:
            return None
        if self._too_few.get(stored.round) == submitted:
            return None  # these did not combine (a partial failed its proof): wait for another custodian's
        mine = registry.custodian_index(fid, stored.key_epoch, self.keystore.address)
        first_seen = self._ready_since.setdefault(stored.round, time.monotonic())
        if mine != min(submitted) and time.monotonic() - first_seen < self.grace_seconds:
            return None
        started = time.perf_counter()
        plan = current_plan(self.context)
        try:
            review, decryption = self._role().combine(stored.round)
        except InsufficientPartialsError:
            self._too_few[stored.round] = submitted
            raise
        extra = {"custodians": list(decryption.used), "custodian_indices": list(decryption.used_indices),
                 "rejected_partials": [{"custodian": r.custodian, "index": r.index, "reason": r.reason}
                                       for r in decryption.rejected]}
        finalized = publish_round(self.context, plan, review, decryption.mean, self._role().model_key, extra)
        skipped = f", skipped custodian(s) {[r.index for r in decryption.rejected]}" if decryption.rejected else ""
        return AgentAction("custodian", stored.round, f"finalized model v{finalized.value} from the partials of "
                           f"custodians {list(decryption.used_indices)}{skipped}", finalized.value,
                           finalized.gas_used, time.perf_counter() - started)


def grant_model_key(context: FederationContext, me: str, model_key_for: Callable[[int], bytes],
                    party: str) -> AgentAction | None:
    """Grant the current epoch's model key to the first current analyst that lacks it (one per step)."""
    registry, fid = context.registry, context.federation_id
    epoch = registry.federation(fid).key_epoch
    if not epoch or not registry.is_key_holder(fid, me):
        return None
    for analyst in current_analysts(context):
        grant = registry.key_grant(fid, KeyKind.MODEL_KEY, analyst)
        if grant.revoked_at or (grant.active and grant.key_epoch == epoch):
            continue
        if not registry.encryption_key(analyst).registered_at:
            continue  # it cannot be granted anything before it registers its encryption key
        result = grant_sealed(context, KeyKind.MODEL_KEY, analyst, model_key_for(epoch), epoch=epoch)
        return AgentAction(party, 0, f"granted the epoch-{epoch} model key to {analyst}",
                           gas_used=result.transaction.gas_used)
    return None


def publish_round(context: FederationContext, plan: TrainingPlan, review: RoundReview, mean: np.ndarray,
                  model_key_for: Callable[[int], bytes], extra_report: dict[str, object]) -> Tx[int]:
    """Add the decrypted mean update to the previous model, score it, seal it under the epoch's model key and
    finalize the round with its metrics report (plus ``extra_report``) and DP record; the value is the version."""
    registry, fid = context.registry, context.federation_id
    round_, epoch = review.round, review.key_epoch
    parent = registry.federation(fid).model_version_count
    start = model_params(context, parent, model_key_for) if parent else initial_params(plan)
    params = (start + mean).astype(np.float32)
    dp, by_analyst = dp_record(context, plan, round_, review.included)
    report = {"round": round_, "model": plan.model, "num_parameters": int(params.size),
              "included": list(review.included), "excluded": list(review.excluded),
              "weights_total": review.aggregate.weights_total, "dp": _dp_report(dp, by_analyst),
              **_evaluate(plan, params), **extra_report}
    buffer = io.BytesIO()
    np.save(buffer, params, allow_pickle=False)
    sealed = context.store.put_bytes(seal_model(model_key_for(epoch), buffer.getvalue(), fid, round_, epoch))
    metrics = context.store.put_bytes(json.dumps(report, sort_keys=True).encode())
    return registry.finalize_round(fid, round_, as_input(sealed), as_input(metrics), dp, parent_version=parent)


def dp_record(context: FederationContext, plan: TrainingPlan, round_: int, included: Sequence[int]
              ) -> tuple[DpParameters, dict[str, float]]:
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
    updates = {u.artifact_id: u for u in context.registry.round_updates(context.federation_id, round_,
                                                                        context.from_block)}
    by_analyst = {updates[i].analyst: plan.dp_epsilon([context.registered_samples(updates[i].parents)])
                  for i in included}
    return (DpParameters.from_floats(max(by_analyst.values()), dp.delta, dp.noise_multiplier, dp.clip_norm,
                                     dp.accountant), by_analyst)


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
