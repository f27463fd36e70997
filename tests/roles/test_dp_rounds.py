"""Rounds with differential privacy: the plan's DP section (canonical, validated, its accounting equal to the
Opacus engine's), and `flep round run --dp` on the session devnet recording each round's DP on chain."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from clients.fl import FLClient, TrainConfig, build_model, get_flat_params, load_digits_data
from registry.chain import ModelRegistry, connect, events
from registry.devnet import dev_account
from registry.roles.plan import DpPlan, PlanError, TrainingPlan

PLAN = TrainingPlan(model="logistic", seed=1, num_values=650, batch_size=32, local_epochs=2,
                    dp=DpPlan(noise_multiplier=1.1, clip_norm=0.5, delta=1e-5, rounds=(2, 3)))


def test_the_dp_section_round_trips_canonically_and_older_plans_have_none() -> None:
    data = PLAN.to_bytes()
    assert TrainingPlan.from_bytes(data) == PLAN and TrainingPlan.from_bytes(data).to_bytes() == data
    assert b'"dp":{"accountant":"rdp","clip_norm":0.5,"delta":1e-05,"noise_multiplier":1.1,"rounds":[2,3]}' in data
    body = json.loads(data)
    del body["dp"]  # a plan registered before plans had a DP section
    assert TrainingPlan.from_bytes(json.dumps(body).encode()).dp is None
    assert [r for r in range(1, 5) if PLAN.dp_applies(r)] == [2, 3]
    assert all(replace(PLAN, dp=DpPlan(1.0)).dp_applies(r) for r in range(1, 5))  # no rounds named: all
    assert not replace(PLAN, dp=None).dp_applies(1)


@pytest.mark.parametrize(("section", "refusal"), [
    ({"noise_multiplier": 0.0}, "at least 1e-06"),
    ({"noise_multiplier": 1.0, "clip_norm": 0.0}, "clip"),
    ({"noise_multiplier": 1.0, "delta": 1.0}, "delta"),
    ({"noise_multiplier": 1.0, "accountant": "gdp"}, "accountant"),
    ({"noise_multiplier": 1.0, "rounds": [3, 2]}, "ascending"),
    ({"noise_multiplier": 1.0, "rounds": [0]}, "ascending"),
    ({"noise_multiplier": 1.0, "rounds": ["2"]}, "integers"),
    ({"noise_multiplier": "1.0"}, "not valid"),
    ({"noise_multiplier": 1.0, "epsilon": 3}, "not valid"),
    ([1.0], "object"),
])
def test_an_invalid_dp_section_is_refused_by_name(section, refusal: str) -> None:
    body = json.loads(PLAN.to_bytes())
    body["dp"] = section
    with pytest.raises(PlanError, match=refusal):
        TrainingPlan.from_bytes(json.dumps(body).encode())


def test_the_plans_accounting_is_what_the_analysts_opacus_engine_reports() -> None:
    """Same client over two rounds: its accountant composes them; the plan replays the same steps."""
    data = load_digits_data().subset(np.arange(70))  # 3 batches of 32 (the last one short)
    config = TrainConfig(local_epochs=PLAN.local_epochs, lr=PLAN.lr, batch_size=PLAN.batch_size)
    client = FLClient("a", data, PLAN.model, config, torch.device("cpu"), dp=PLAN.dp.config(), seed=5)
    start = get_flat_params(build_model(PLAN.model, data.sample_shape, data.num_classes, seed=0))
    one = client.fit(start).epsilon
    two = client.fit(start).epsilon
    assert one == pytest.approx(PLAN.dp_epsilon([70]), rel=1e-9)
    assert two == pytest.approx(PLAN.dp_epsilon([70, 70]), rel=1e-9)
    assert one < two < 2 * one  # composition grows, and is tighter than summing the rounds
    assert PLAN.dp_epsilon([]) == 0.0
    assert PLAN.dp_epsilon([20]) > one  # a smaller dataset spends more per round
    with pytest.raises(PlanError, match="no DP section"):
        replace(PLAN, dp=None).dp_epsilon([70])


def test_round_run_with_dp_records_every_rounds_dp_on_chain(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "dp-round-test"}
    run = _flep(env, "round", "run", "--analysts", "2", "--rounds", "2", "--dp", "--target-epsilon", "8",
                "--model", "logistic", "--paillier-bits", "1024", "--round-seconds", "120", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    rounds, fid, plan_dp = result["rounds"], result["federation"], result["dp"]
    assert [(r["round"], r["status"]) for r in rounds] == [(1, "finalized"), (2, "finalized")]
    assert plan_dp["rounds"] == [] and plan_dp["clip_norm"] == 1.0 and plan_dp["delta"] == 1e-5
    assert "basic composition" in plan_dp["cumulative"]

    # Each round's record is on chain as reported; σ was sized so the smallest dataset spends just under 8.
    finalized = {f.round: f.dp for f in registry.events(events.RoundFinalized, federation_id=fid)}
    for r in rounds:
        record = finalized[r["round"]]
        assert r["dp"] == {"epsilon": record.epsilon, "delta": record.delta, "noise_multiplier":
                           record.noise_multiplier, "clip_norm": record.clip_norm, "accountant": "rdp"}
        assert record.noise_multiplier == plan_dp["noise_multiplier"]
        assert 7.9 < record.epsilon <= 8.0
    assert rounds[0]["cumulative_epsilon"] == pytest.approx(rounds[0]["dp"]["epsilon"])
    assert rounds[1]["cumulative_epsilon"] == pytest.approx(rounds[0]["dp"]["epsilon"] + rounds[1]["dp"]["epsilon"])
    assert rounds[1]["cumulative_delta"] == pytest.approx(2e-5)

    # Each analyst reports its own composition: one round's ε, then more, but less than the plain sum.
    first, second = rounds[0]["analyst_epsilon"], rounds[1]["analyst_epsilon"]
    assert set(first) == set(second) == {"analyst-1", "analyst-2"}
    assert max(first.values()) == pytest.approx(rounds[0]["dp"]["epsilon"], abs=1e-6)
    assert all(first[a] < second[a] < rounds[1]["cumulative_epsilon"] for a in first)

    # The auditor's lineage composes the same records.
    audit = _flep(env, "audit", "model", "2", "--federation", str(fid), "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    lineage = json.loads(audit.stdout)
    assert lineage["dp_composition"]["epsilon"] == pytest.approx(rounds[1]["cumulative_epsilon"])
    assert [r["dp"]["epsilon"] for r in lineage["rounds"]] == [r["dp"]["epsilon"] for r in rounds]


def test_round_run_refuses_dp_options_that_do_not_fit(devnet_env) -> None:
    both = _flep(devnet_env, "round", "run", "--dp", "--target-epsilon", "8", "--noise-multiplier", "1")
    assert both.returncode == 1 and "exactly one of" in both.stderr
    outside = _flep(devnet_env, "round", "run", "--rounds", "2", "--dp", "--noise-multiplier", "1",
                    "--dp-rounds", "3")
    assert outside.returncode == 1 and "[3] are not among the run's rounds 1..2" in outside.stderr
    without = _flep({**devnet_env, "COLUMNS": "200"}, "round", "run", "--target-epsilon", "8")  # one-line box
    assert without.returncode == 2 and "need --dp" in without.stderr


def _flep(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
