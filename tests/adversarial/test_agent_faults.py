"""Faults around agents on the real devnet: a dead analyst, a crashed aggregator, a node outage."""

from __future__ import annotations

import pytest

from registry.chain import RoundStatus
from registry.roles.agents import AggregatorAgent, KeyHolderAgent
from registry.store import ArtifactStore, StoreUnavailableError


def _past_deadline(federation, round_: int) -> None:
    """Move the chain's clock past the round's deadline (one mined block)."""
    deadline = federation.admin.round(federation.federation_id, round_).deadline
    w3 = federation.admin.w3
    w3.provider.make_request("evm_setNextBlockTimestamp", [deadline + 1])
    w3.provider.make_request("evm_mine", [])


def test_a_dead_analyst_does_not_block_the_round(federation, make_agents, drain_agent) -> None:
    parties = make_agents()
    drain_agent(parties.key_holder)
    round_ = federation.open_round()
    for agent in parties.analysts[:2]:  # analyst-3's process died before the round
        drain_agent(agent)
    assert parties.aggregator.step() is None  # it waits for analyst-3 until the deadline
    _past_deadline(federation, round_)
    assert parties.analysts[2].step() is None  # too late: a late analyst no longer submits
    assert [a.round for a in drain_agent(parties.aggregator)] == [round_]
    assert [a.result for a in drain_agent(parties.key_holder)] == [1]
    stored = federation.admin.round(federation.federation_id, round_)
    assert (stored.status, stored.update_count, stored.included_count) == (RoundStatus.FINALIZED, 2, 2)


def test_too_few_updates_at_the_deadline_leaves_the_round_to_the_admin(federation, make_agents, drain_agent) -> None:
    parties = make_agents()
    drain_agent(parties.key_holder)
    round_ = federation.open_round()
    drain_agent(parties.analysts[0])  # one update; the federation needs two
    _past_deadline(federation, round_)
    assert parties.aggregator.step() is None and parties.key_holder.step() is None
    federation.admin.abort_round(federation.federation_id, round_, "deadline passed with 1 of 2 updates")
    assert federation.status(round_) == RoundStatus.ABORTED and federation.versions() == 0


def test_restarted_aggregator_and_key_holder_resume(federation, make_agents, drain_agent) -> None:
    parties = make_agents()
    drain_agent(parties.key_holder)
    round_ = federation.open_round()
    for agent in parties.analysts:
        drain_agent(agent)
    # The aggregator crashed after closing the round, before posting: a new process resumes from the chain.
    federation.aggregator.close_round(federation.federation_id, round_)
    fresh = AggregatorAgent(parties.aggregator.context)
    assert [a.round for a in drain_agent(fresh)] == [round_]
    assert fresh.step() is None and parties.aggregator.step() is None  # nothing is posted twice
    restarted = KeyHolderAgent(parties.key_holder.context, parties.key_holder.keystore)
    assert [a.result for a in drain_agent(restarted)] == [1]
    assert parties.key_holder.step() is None  # the old key holder finds the round finalized
    assert federation.versions() == 1


def test_ipfs_node_down_is_reported_and_nothing_is_recorded(federation, make_agents, drain_agent) -> None:
    parties = make_agents()
    drain_agent(parties.key_holder)
    round_ = federation.open_round()
    analyst = parties.analysts[0]
    healthy = analyst.analyst.context.store
    # The analyst's node is unreachable: the step fails loudly and nothing reaches the chain.
    object.__setattr__(analyst.analyst.context, "store", ArtifactStore("http://127.0.0.1:9", timeout=2))
    with pytest.raises(StoreUnavailableError):
        analyst.step()
    assert federation.admin.round(federation.federation_id, round_).update_count == 0
    object.__setattr__(analyst.analyst.context, "store", healthy)  # the node is back: the same agent resumes
    assert [a.action for a in drain_agent(analyst)] == ["submitted update"]
