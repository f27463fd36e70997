"""Federated training end to end: learning happens, DP changes the result, bad updates are refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import pytest

from clients.aggregation import AggregationFailure, ClientUpdate, PlaintextFedAvg
from clients.fl import (
    AggregationError,
    DPConfig,
    DPConfigError,
    FLClient,
    LabelledData,
    ParameterShapeError,
    PartitionError,
    SimulationConfig,
    TrainConfig,
    TrainingConfigError,
    make_iiot_data,
    noise_for_epsilon,
    resolve_device,
    run_centralized,
    run_federated,
    run_local_only,
    split_train_test,
    standardize,
)

FAST = TrainConfig(local_epochs=1, batch_size=32, lr=0.05)


def test_fedavg_learns_digits(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    seen = []
    result = run_federated(
        train, test, SimulationConfig(num_clients=4, rounds=3, train=FAST), on_round=seen.append
    )
    # Chance is 10 %; three FedAvg rounds of a small CNN get far above it.
    assert result.final.accuracy > 0.8
    assert [r.server_round for r in seen] == [1, 2, 3] and seen == result.history
    assert sum(result.client_sizes) == len(train)
    assert result.max_epsilon is None and result.accountant is None
    assert np.array(result.final.confusion).sum() == len(test)
    assert 0.0 < result.final.f1 <= 1.0 and 0.0 < result.final.precision <= 1.0


def test_same_seed_same_run(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(num_clients=3, rounds=1, partition="dirichlet", alpha=0.5, train=FAST, seed=4)
    a = run_federated(train, test, config)
    b = run_federated(train, test, config)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert a.client_sizes == b.client_sizes


def test_dp_noise_changes_result_and_epsilon_grows(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    base = SimulationConfig(model="logistic", num_clients=3, rounds=2, train=FAST, seed=1)
    plain = run_federated(train, test, base)
    noisy = run_federated(train, test, replace(base, dp=DPConfig(noise_multiplier=1.0, max_grad_norm=1.0)))
    clipped_only = run_federated(train, test, replace(base, dp=DPConfig(noise_multiplier=0.0, max_grad_norm=1.0)))
    assert not np.allclose(plain.parameters, noisy.parameters)
    assert not np.allclose(clipped_only.parameters, noisy.parameters)
    ledger = [r.epsilons for r in noisy.history]
    assert set(ledger[0]) == {"client-0", "client-1", "client-2"}
    assert all(0.0 < ledger[0][c] < ledger[1][c] < float("inf") for c in ledger[0])
    assert noisy.max_epsilon == max(ledger[1].values())
    assert "RDP" in noisy.accountant
    # Same seed, same noise: DP runs are reproducible too.
    again = run_federated(train, test, replace(base, dp=DPConfig(noise_multiplier=1.0, max_grad_norm=1.0)))
    np.testing.assert_array_equal(noisy.parameters, again.parameters)


def test_noise_for_epsilon_meets_budget(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    sigma = noise_for_epsilon(2.0, 1e-5, sample_rate=32 / 479, steps=15)
    result = run_federated(
        train, test, SimulationConfig(model="logistic", num_clients=3, rounds=1, train=FAST, dp=DPConfig(sigma))
    )
    assert result.max_epsilon <= 2.0 + 1e-2
    assert result.max_epsilon > 1.0


class _Corrupting:
    """Turns chosen clients' updates into NaN (or wrong length), then runs plaintext FedAvg."""

    def __init__(self, bad: set[str], wrong_length: bool = False) -> None:
        self.bad, self.wrong_length, self.inner = bad, wrong_length, PlaintextFedAvg()

    def aggregate_fit(
        self, server_round: int, results: Sequence[ClientUpdate]
    ) -> tuple[np.ndarray | None, list[AggregationFailure]]:
        changed = []
        for u in results:
            if u.client_id in self.bad:
                params = u.parameters[:-1].copy() if self.wrong_length else np.full_like(u.parameters, np.nan)
                u = ClientUpdate(u.client_id, params, u.num_examples)
            changed.append(u)
        return self.inner.aggregate_fit(server_round, changed)


def test_nan_update_refused_round_continues(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(model="logistic", num_clients=3, rounds=2, train=FAST)
    result = run_federated(train, test, config, aggregator=_Corrupting({"client-1"}))
    assert all(len(r.failures) == 1 and r.failures[0].client_id == "client-1" for r in result.history)
    assert "NaN/Inf" in result.history[0].failures[0].reason
    assert np.all(np.isfinite(result.parameters))
    assert result.final.accuracy > 0.5


def test_all_updates_refused_is_an_error(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(model="logistic", num_clients=2, rounds=1, train=FAST)
    with pytest.raises(AggregationError, match="round 1 .*client-0: update contains"):
        run_federated(train, test, config, aggregator=_Corrupting({"client-0", "client-1"}))


def test_aggregate_of_wrong_length_is_refused(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(model="logistic", num_clients=2, rounds=1, train=FAST)
    with pytest.raises(ParameterShapeError, match="has length"):
        run_federated(train, test, config, aggregator=_Corrupting({"client-0", "client-1"}, wrong_length=True))


def test_fedavg_beats_local_only_on_non_iid(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(model="logistic", num_clients=5, rounds=4, partition="dirichlet", alpha=0.3, train=FAST)
    federated = run_federated(train, test, config).final.accuracy
    local = run_local_only(train, test, config)
    central = run_centralized(train, test, config).accuracy
    assert len(local.accuracies) == 5
    assert federated > local.mean_accuracy + 0.05
    assert central > 0.8


def test_mlp_learns_synthetic_iiot() -> None:
    train, test = standardize(*split_train_test(make_iiot_data(num_samples=1500, seed=2), 0.2, seed=2))
    config = SimulationConfig(model="mlp", num_clients=5, rounds=4, train=TrainConfig(local_epochs=2, lr=0.1))
    result = run_federated(train, test, config)
    # 6 classes with a 40 % majority: well above both chance and the majority baseline.
    assert result.final.accuracy > 0.7, result.final.accuracy


def test_zero_rounds_refused(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    with pytest.raises(TrainingConfigError, match="rounds"):
        run_federated(train, test, SimulationConfig(num_clients=2, rounds=0, train=FAST))


def test_more_clients_than_samples(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    tiny = train.subset(np.arange(5))
    with pytest.raises(PartitionError, match="cannot give 6 clients"):
        run_federated(tiny, test, SimulationConfig(num_clients=6, rounds=1, train=FAST))


def test_empty_client_refused(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, _ = digits_split
    with pytest.raises(PartitionError, match="no training samples"):
        FLClient("c", train.subset(np.arange(0)), "cnn", FAST, resolve_device("cpu"))


@pytest.mark.parametrize(
    ("dp", "match"),
    [
        (DPConfig(noise_multiplier=-1.0), "noise_multiplier"),
        (DPConfig(noise_multiplier=1.0, max_grad_norm=0.0), "max_grad_norm"),
        (DPConfig(noise_multiplier=1.0, delta=1.0), "delta"),
        (DPConfig(noise_multiplier=1.0, accountant="moments"), "unknown accountant"),
    ],
)
def test_bad_dp_settings(digits_split: tuple[LabelledData, LabelledData], dp: DPConfig, match: str) -> None:
    train, test = digits_split
    with pytest.raises(DPConfigError, match=match):
        run_federated(train, test, SimulationConfig(num_clients=2, rounds=1, train=FAST, dp=dp))


def test_unreachable_epsilon() -> None:
    with pytest.raises(DPConfigError, match="raise epsilon"):
        # Without subsampling (rate 1) the RDP search is quick and still finds no sigma.
        noise_for_epsilon(1e-4, 1e-5, sample_rate=1.0, steps=10_000)


@pytest.mark.parametrize(
    ("train_config", "match"),
    [
        (TrainConfig(local_epochs=0), "local_epochs"),
        (TrainConfig(batch_size=0), "batch_size"),
        (TrainConfig(lr=-0.1), "learning rate"),
        (TrainConfig(optimizer="lbfgs"), "unknown optimizer"),
    ],
)
def test_bad_training_settings(
    digits_split: tuple[LabelledData, LabelledData], train_config: TrainConfig, match: str
) -> None:
    train, test = digits_split
    with pytest.raises(TrainingConfigError, match=match):
        run_federated(train, test, SimulationConfig(num_clients=2, rounds=1, train=train_config))
