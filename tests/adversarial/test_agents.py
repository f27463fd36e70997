"""Agents on the real devnet, stepped in-process: two rounds run from the chain alone, a restarted agent
resumes without duplicates, and every model is sealed for the current analysts only."""

from __future__ import annotations

import json

import pytest

from clients.codec import CodecKey, encrypt
from clients.fl import load_digits_data, partition_iid, render_sheet, split_train_test
from clients.he import private_key_to_bytes
from registry.chain import KeyKind, RoundStatus
from registry.keystore import Keystore
from registry.roles import grant_sealed, publish_encryption_key
from registry.roles.agents import AggregatorAgent, AnalystAgent, KeyHolderAgent, current_analysts, initial_params
from registry.roles.plan import TrainingPlan, current_plan, publish_plan

PASSPHRASE = "agents-test"


@pytest.fixture()
def agents(federation, tmp_path):
    """Keystores, a real training plan (logistic model on digits), encrypted digit sheets and sealed codec keys."""
    names = {f"analyst-{i + 1}": a for i, a in enumerate(federation.analysts)} | {"key holder": federation.key_holder}
    stores = {n: Keystore.create(tmp_path / n.replace(" ", "-"), PASSPHRASE, private_key=p.sender.key, scrypt_n=2**10)
              for n, p in names.items()}
    for name, party in names.items():
        publish_encryption_key(party, stores[name])
    stores["key holder"].put_secret("paillier-epoch-1", private_key_to_bytes(federation.keys.private_key))
    probe = TrainingPlan(model="logistic", seed=3, num_values=1, encoding=federation.encoding)
    plan = TrainingPlan(model="logistic", seed=3, num_values=int(initial_params(probe).size),
                        encoding=federation.encoding, local_epochs=1, lr=0.1)
    publish_plan(federation.context(federation.admin), plan)
    train, _ = split_train_test(load_digits_data(), 0.2, seed=3)
    for i, indices in enumerate(partition_iid(len(train), 3, seed=3)):
        codec_key = CodecKey.generate()  # each analyst is granted the key of its own partition only
        sheet = render_sheet(train.subset(indices[:60]))
        dataset = federation.owner.register_dataset(federation.federation_id, federation.put(encrypt(sheet, codec_key)),
                                                    60).value
        analyst = federation.analysts[i].account
        federation.datasets[analyst] = dataset
        grant_sealed(federation.context(federation.owner), KeyKind.CODEC_KEY, analyst, codec_key.to_bytes())
    analysts = [AnalystAgent(federation.context(a), stores[f"analyst-{i + 1}"]) for i, a in enumerate(federation.analysts)]
    return (analysts, AggregatorAgent(federation.context(federation.aggregator)),
            KeyHolderAgent(federation.context(federation.key_holder), stores["key holder"]), stores, plan)


def _drain(agent, limit: int = 10) -> list:
    actions = []
    while (action := agent.step()) is not None:
        actions.append(action)
        assert len(actions) <= limit, "an agent keeps acting: it does not see its own work on chain"
    return actions


def test_two_rounds_from_the_chain_alone(federation, agents) -> None:
    analysts, aggregator, key_holder, stores, plan = agents
    fid = federation.federation_id
    assert current_plan(federation.context(federation.stranger)) == plan
    assert len(_drain(key_holder)) == 3  # the epoch-1 model key, granted to each current analyst
    assert _drain(key_holder) == [] and _drain(aggregator) == []  # nothing else to do before a round opens
    for expected_version in (1, 2):
        round_ = federation.open_round()
        for agent in analysts:
            assert [a.action for a in _drain(agent)] == ["submitted update"]
        # A restarted analyst (a new object, the same keystore) finds its update on chain and does nothing.
        assert AnalystAgent(analysts[0].context, analysts[0].keystore).step() is None
        assert [a.round for a in _drain(aggregator)] == [round_]
        finalized = _drain(key_holder)
        assert [(a.round, a.result) for a in finalized] == [(round_, expected_version)]
        assert federation.status(round_) == RoundStatus.FINALIZED
        assert federation.admin.round(fid, round_).update_count == 3
    assert federation.versions() == 2
    version = federation.admin.model_version(fid, 2)
    assert version.parent_version == 1
    report = json.loads(federation.blob(version.metrics_artifact))
    assert report["accuracy"] > 0.2 and report["num_parameters"] == plan.num_values  # chance is 0.1


def test_revoked_analyst_gets_no_new_model_key_and_submits_nothing(federation, agents) -> None:
    from registry.chain import Role

    analysts, aggregator, key_holder, stores, _ = agents
    fid = federation.federation_id
    _drain(key_holder)
    revoked = federation.analysts[2]
    federation.admin.revoke_role(fid, Role.ANALYST, revoked.account)
    assert revoked.account not in current_analysts(federation.context(federation.admin))
    round_ = federation.open_round()
    assert analysts[2].step() is None  # not an analyst any more: it does not train
    for agent in analysts[:2]:
        _drain(agent)
    # Both current analysts submitted: the aggregator does not wait for the revoked one.
    assert [a.round for a in _drain(aggregator)] == [round_]
    assert [a.result for a in _drain(key_holder)] == [1]
    assert federation.admin.round(fid, round_).update_count == 2
    assert federation.admin.round(fid, round_).weights_total == 2 * 60
