"""Agents on the real devnet, stepped in-process: two rounds run from the chain alone, a restarted agent
resumes without duplicates, every model is sealed for the current analysts only, and a DP round is trained
with DP-SGD and finalized with the accountant's ε."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from opacus.accountants import RDPAccountant

from clients.fl import (
    FLClient,
    LabelledData,
    TrainConfig,
    load_digits_data,
    partition_iid,
    read_sheet,
    render_sheet,
    split_train_test,
)
from clients.he import EncryptedAggregate, aggregate_update_bytes, decrypt_aggregate
from registry.chain import DpParameters, KeyKind, Role, RoundStatus, events
from registry.roles import open_grant
from registry.roles.admin import current_analysts
from registry.roles.agents import AnalystAgent
from registry.roles.models import model_params
from registry.roles.plan import DpPlan, TrainingPlan, current_plan, initial_params

SAMPLES = 60  # per analyst (make_agents' sheets): 2 batches of 32, one DP round is 2 steps at rate 1/2


def _sheet_data(index: int) -> LabelledData:
    """Analyst ``index``'s digits exactly as it reads them back from its decrypted sheet."""
    train, _ = split_train_test(load_digits_data(), 0.2, seed=3)
    indices = partition_iid(len(train), 3, seed=3)[index][:SAMPLES]
    return read_sheet(render_sheet(train.subset(indices)))


def test_two_rounds_from_the_chain_alone(federation, make_agents, drain_agent) -> None:
    parties = make_agents()
    analysts, aggregator, key_holder, plan = parties.analysts, parties.aggregator, parties.key_holder, parties.plan
    fid = federation.federation_id
    assert current_plan(federation.context(federation.stranger)) == plan
    assert len(drain_agent(key_holder)) == 3  # the epoch-1 model key, granted to each current analyst
    assert drain_agent(key_holder) == [] and drain_agent(aggregator) == []  # nothing else to do before a round opens
    for expected_version in (1, 2):
        round_ = federation.open_round()
        for agent in analysts:
            assert [a.action for a in drain_agent(agent)] == ["submitted update"]
        # A restarted analyst (a new object, the same keystore) finds its update on chain and does nothing.
        assert AnalystAgent(analysts[0].analyst.context, analysts[0].analyst.keystore).step() is None
        assert [a.round for a in drain_agent(aggregator)] == [round_]
        finalized = drain_agent(key_holder)
        assert [(a.round, a.result) for a in finalized] == [(round_, expected_version)]
        assert federation.status(round_) == RoundStatus.FINALIZED
        assert federation.admin.round(fid, round_).update_count == 3
    assert federation.versions() == 2
    version = federation.admin.model_version(fid, 2)
    assert version.parent_version == 1
    report = json.loads(federation.blob(version.metrics_artifact))
    assert report["accuracy"] > 0.2 and report["num_parameters"] == plan.num_values  # chance is 0.1


def test_revoked_analyst_gets_no_new_model_key_and_submits_nothing(federation, make_agents, drain_agent) -> None:
    parties = make_agents(samples=SAMPLES)
    analysts, aggregator, key_holder = parties.analysts, parties.aggregator, parties.key_holder
    fid = federation.federation_id
    drain_agent(key_holder)
    revoked = federation.analysts[2]
    federation.admin.revoke_role(fid, Role.ANALYST, revoked.account)
    assert revoked.account not in current_analysts(federation.context(federation.admin))
    round_ = federation.open_round()
    assert analysts[2].step() is None  # not an analyst any more: it does not train
    for agent in analysts[:2]:
        drain_agent(agent)
    # Both current analysts submitted: the aggregator does not wait for the revoked one.
    assert [a.round for a in drain_agent(aggregator)] == [round_]
    assert [a.result for a in drain_agent(key_holder)] == [1]
    assert federation.admin.round(fid, round_).update_count == 2
    assert federation.admin.round(fid, round_).weights_total == 2 * SAMPLES


def _rdp_epsilon(dp: DpPlan, samples: int, plan: TrainingPlan) -> float:
    """ε of one round of the plan's local DP-SGD on ``samples`` samples, step by step through Opacus's RDP
    accountant (what an Opacus engine records while it trains)."""
    batches = -(-samples // plan.batch_size)
    accountant = RDPAccountant()
    for _ in range(batches * plan.local_epochs):
        accountant.step(noise_multiplier=dp.noise_multiplier, sample_rate=1 / batches)
    return accountant.get_epsilon(dp.delta)


def _decrypted_update(federation, round_: int, analyst: str) -> np.ndarray:
    """One analyst's update of ``round_``, decrypted alone (the test holds the federation's private key)."""
    update = next(u for u in federation.admin.round_updates(federation.federation_id, round_) if u.analyst == analyst)
    public_key = federation.keys.public_key
    aggregate = aggregate_update_bytes([federation.blob(update.artifact_id)], public_key)
    return decrypt_aggregate(federation.keys.private_key, EncryptedAggregate.from_bytes(aggregate, public_key), 1)


def _local_update(plan: TrainingPlan, seed: int, address: str, start: np.ndarray, dp: DpPlan | None) -> np.ndarray:
    """The update analyst 1 would send from ``start`` with a fresh trainer of ``seed``, with or without DP
    (clipped as encoded)."""
    config = TrainConfig(local_epochs=plan.local_epochs, lr=plan.lr, batch_size=plan.batch_size)
    client = FLClient(address, _sheet_data(0), plan.model, config, torch.device("cpu"),
                      dp=dp.config() if dp else None, seed=seed)
    trained = np.asarray(client.fit(start.astype(np.float32)).update.parameters, dtype=np.float64)
    bound = plan.encoding.clip_bound
    return np.clip(trained - start, -bound, bound)


def test_a_dp_round_is_trained_with_dp_sgd_and_finalized_with_the_accountants_epsilon(
        federation, make_agents, drain_agent) -> None:
    dp = DpPlan(noise_multiplier=1.1, clip_norm=1.0, delta=1e-5, rounds=(2,))
    parties = make_agents(samples=SAMPLES, dp=dp)
    analysts, aggregator, key_holder, plan = parties.analysts, parties.aggregator, parties.key_holder, parties.plan
    registry, fid = federation.admin, federation.federation_id
    drain_agent(key_holder)
    reported = {}
    for round_ in (1, 2):
        assert federation.open_round() == round_
        reported[round_] = [a.epsilon for agent in analysts for a in drain_agent(agent)]
        drain_agent(aggregator)
        assert [a.result for a in drain_agent(key_holder)] == [round_]
    finalized = {f.round: f for f in registry.events(events.RoundFinalized, federation.deploy_block, federation_id=fid)}

    # Round 1 is outside the plan's DP rounds: no record. Round 2's record is the accountant's ε, recomputed
    # here from the plan and the registered sample counts of each included update's datasets.
    assert finalized[1].dp == DpParameters.none()
    samples = [sum(registry.dataset(p).sample_count for p in u.parents) for u in registry.round_updates(fid, 2)]
    assert samples == [SAMPLES] * 3
    expected = max(_rdp_epsilon(dp, n, plan) for n in samples)
    assert expected > 0
    assert finalized[2].dp == DpParameters.from_floats(expected, 1e-5, 1.1, 1.0, "rdp")
    metrics = [json.loads(federation.blob(registry.model_version(fid, v).metrics_artifact)) for v in (1, 2)]
    assert metrics[0]["dp"] is None
    assert metrics[1]["dp"]["epsilon"] == finalized[2].dp.epsilon
    assert metrics[1]["dp"]["epsilon_by_analyst"] == {a.account: pytest.approx(expected) for a in federation.analysts}

    # Each analyst reports its ε spent so far: nothing after round 1, the one DP round's ε after round 2,
    # and a restarted analyst derives the same from the chain.
    assert reported == {1: [None] * 3, 2: [pytest.approx(expected)] * 3}
    restarted = AnalystAgent(analysts[0].analyst.context, analysts[0].analyst.keystore)
    assert restarted.analyst.cumulative_epsilon(current_plan(analysts[0].analyst.context), 2) == pytest.approx(expected)

    # The round-2 update is the DP-SGD update (σ, C, seed) of the plan, not the plain one; round 1 is plain.
    # Each analyst's trainer is seeded as the plaintext simulation seeds client i: i is the position of its
    # dataset among the federation's.
    me = federation.analysts[0].account
    order = [d.artifact_id for d in registry.events(events.DatasetRegistered, federation.deploy_block,
                                                     federation_id=fid)]
    seed = plan.seed * 1000 + order.index(federation.datasets[me])
    tolerance = 2 * plan.encoding.quantization_bound
    round_1 = _decrypted_update(federation, 1, me)
    assert np.abs(round_1 - _local_update(plan, seed, me, initial_params(plan), None)).max() <= tolerance
    context, keystore = analysts[0].analyst.context, parties.keystores["analyst-1"]
    start = model_params(context, 1, lambda e: open_grant(context, keystore, KeyKind.MODEL_KEY, epoch=e))
    round_2 = _decrypted_update(federation, 2, me)
    assert np.abs(round_2 - _local_update(plan, seed, me, start, dp)).max() <= tolerance
    assert np.abs(round_2 - _local_update(plan, seed, me, start, None)).max() > 100 * tolerance
