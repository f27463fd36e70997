"""Federated simulation (FedAvg through any :class:`~clients.aggregation.Aggregator`) and its baselines.

The simulation never averages parameters itself: the aggregator does, so the
plaintext FedAvg and the packed-Paillier aggregator are interchangeable.
Baselines for the experiments: centralized training on the pooled data, and
local-only training where each client never shares anything.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np

from clients.aggregation import AggregationFailure, Aggregator, PlaintextFedAvg
from clients.fl.client import FLClient
from clients.fl.datasets import LabelledData
from clients.fl.errors import AggregationError, TrainingConfigError
from clients.fl.evaluation import Metrics, evaluate
from clients.fl.models import build_model
from clients.fl.params import get_flat_params, set_flat_params
from clients.fl.partition import partition_indices
from clients.fl.privacy import ACCOUNTANT_LABELS, DPConfig
from clients.fl.training import TrainConfig, resolve_device


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines one federated run.

    Attributes:
        model: Model name (``cnn``, ``mlp``, ``logistic``, ``svm``).
        num_clients: Number of clients K.
        rounds: Number of FedAvg rounds R.
        partition: ``iid`` or ``dirichlet``.
        alpha: Dirichlet concentration (used with ``dirichlet``).
        train: Local training settings.
        dp: DP-SGD settings, or ``None``.
        seed: Seed of the partition, the initial model and all client randomness.
        device: ``cpu``/``cuda``; ``None`` picks CUDA when present.
    """

    model: str = "cnn"
    num_clients: int = 10
    rounds: int = 20
    partition: str = "iid"
    alpha: float = 0.5
    train: TrainConfig = field(default_factory=TrainConfig)
    dp: DPConfig | None = None
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True)
class RoundRecord:
    """The outcome of one round.

    Attributes:
        server_round: 1-based round number.
        accuracy: Test accuracy of the new global model.
        f1: Test macro F1 of the new global model.
        train_loss: Sample-weighted mean of the clients' last-epoch losses.
        epsilons: ε spent so far per client id (empty without DP): the DP ledger.
        failures: Updates the aggregator refused this round.
        seconds: Wall time of the round (training + aggregation + evaluation).
    """

    server_round: int
    accuracy: float
    f1: float
    train_loss: float
    epsilons: dict[str, float]
    failures: list[AggregationFailure]
    seconds: float


@dataclass(frozen=True)
class SimulationResult:
    """A finished federated run.

    Attributes:
        history: One :class:`RoundRecord` per round.
        final: Test metrics of the final global model.
        parameters: The final global flat parameter vector.
        client_sizes: Local sample count per client.
        seconds: Total wall time, including client setup.
        device: Device used.
        accountant: Description of the privacy accountant (``None`` without DP).
    """

    history: list[RoundRecord]
    final: Metrics
    parameters: np.ndarray
    client_sizes: list[int]
    seconds: float
    device: str
    accountant: str | None

    @property
    def max_epsilon(self) -> float | None:
        """Largest ε spent by any client by the end (``None`` without DP)."""
        if not self.history or not self.history[-1].epsilons:
            return None
        return max(self.history[-1].epsilons.values())

    def to_dict(self) -> dict:
        """JSON-ready summary (parameters omitted)."""
        return {
            "final_accuracy": self.final.accuracy,
            "rounds": len(self.history),
            "epsilon": self.max_epsilon,
            "accountant": self.accountant,
            "metrics": self.final.to_dict(),
            "client_sizes": self.client_sizes,
            "seconds": self.seconds,
            "device": self.device,
            "history": [
                {**asdict(r), "failures": [asdict(f) for f in r.failures]} for r in self.history
            ],
        }


RoundCallback = Callable[[RoundRecord], None]


def make_clients(train: LabelledData, config: SimulationConfig) -> list[FLClient]:
    """Partition the training data and build one client per share.

    Raises:
        PartitionError: If the data cannot give every client a sample.
        DPConfigError: If Opacus rejects the DP settings.
        TrainingConfigError: If the training settings are invalid.
    """
    device = resolve_device(config.device)
    parts = partition_indices(train.y, config.num_clients, config.partition, config.alpha, config.seed)
    return [
        FLClient(
            f"client-{i}", train.subset(idx), config.model, config.train, device, config.dp,
            seed=config.seed * 1000 + i,
        )
        for i, idx in enumerate(parts)
    ]


def run_federated(
    train: LabelledData,
    test: LabelledData,
    config: SimulationConfig,
    aggregator: Aggregator | None = None,
    on_round: RoundCallback | None = None,
) -> SimulationResult:
    """Run FedAvg for ``config.rounds`` rounds and evaluate the global model after each.

    Args:
        train: Training data, partitioned among the clients.
        test: Held-out data for the global model.
        config: The run's settings.
        aggregator: Combines the client updates; plaintext FedAvg by default.
        on_round: Called with each round's record as soon as it is done.

    Returns:
        The :class:`SimulationResult`.

    Raises:
        PartitionError, DPConfigError, TrainingConfigError, ModelConfigError:
            For invalid settings (including ``rounds < 1``), before any training.
        AggregationError: If the aggregator refuses every update of a round.
        ParameterShapeError: If the aggregator returns a vector that does not fit the model.
    """
    if config.rounds < 1:
        raise TrainingConfigError(f"rounds must be >= 1, got {config.rounds}")
    start = time.perf_counter()
    aggregator = aggregator or PlaintextFedAvg()
    device = resolve_device(config.device)
    global_model = build_model(config.model, train.sample_shape, train.num_classes, seed=config.seed).to(device)
    clients = make_clients(train, config)
    params = get_flat_params(global_model)
    history: list[RoundRecord] = []
    for server_round in range(1, config.rounds + 1):
        round_start = time.perf_counter()
        fits = [client.fit(params) for client in clients]
        aggregate, failures = aggregator.aggregate_fit(server_round, [f.update for f in fits])
        if aggregate is None:
            reasons = "; ".join(f"{f.client_id}: {f.reason}" for f in failures) or "no updates"
            raise AggregationError(
                f"round {server_round} produced no global model, every update was refused: {reasons}"
            )
        set_flat_params(global_model, aggregate)
        params = get_flat_params(global_model)
        metrics = evaluate(global_model, test, device)
        weights = np.array([f.update.num_examples for f in fits], dtype=np.float64)
        losses = np.array([f.loss for f in fits], dtype=np.float64)
        finite = np.isfinite(losses)
        train_loss = float(np.average(losses[finite], weights=weights[finite])) if finite.any() else float("nan")
        record = RoundRecord(
            server_round=server_round,
            accuracy=metrics.accuracy,
            f1=metrics.f1,
            train_loss=train_loss,
            epsilons={f.update.client_id: f.epsilon for f in fits if f.epsilon is not None},
            failures=list(failures),
            seconds=time.perf_counter() - round_start,
        )
        history.append(record)
        if on_round is not None:
            on_round(record)
    return SimulationResult(
        history=history,
        final=evaluate(global_model, test, device),
        parameters=params,
        client_sizes=[c.num_examples for c in clients],
        seconds=time.perf_counter() - start,
        device=str(device),
        accountant=ACCOUNTANT_LABELS[config.dp.accountant] if config.dp else None,
    )


def run_centralized(train: LabelledData, test: LabelledData, config: SimulationConfig) -> Metrics:
    """Train one model on the pooled training data for ``rounds × local_epochs`` epochs.

    The same model, optimizer and epoch budget as each FL client, so the gap
    to FedAvg measures the cost of federation alone (DP settings are ignored).

    Returns:
        Test metrics of the centrally trained model.
    """
    device = resolve_device(config.device)
    model = build_model(config.model, train.sample_shape, train.num_classes, seed=config.seed)
    client = FLClient("central", train, config.model, config.train, device, dp=None, seed=config.seed)
    client.fit(get_flat_params(model), epochs=config.rounds * config.train.local_epochs)
    return evaluate(client.model, test, device)


@dataclass(frozen=True)
class LocalOnlyResult:
    """Clients that never share: each model evaluated on the global test set.

    Attributes:
        accuracies: Test accuracy of every client's own model.
        mean_accuracy: Unweighted mean over clients (what a typical client gets).
    """

    accuracies: list[float]
    mean_accuracy: float


def run_local_only(train: LabelledData, test: LabelledData, config: SimulationConfig) -> LocalOnlyResult:
    """Each client trains alone on its share for ``rounds × local_epochs`` epochs (DP ignored).

    Raises:
        PartitionError: If the data cannot give every client a sample.
    """
    device = resolve_device(config.device)
    initial = get_flat_params(build_model(config.model, train.sample_shape, train.num_classes, seed=config.seed))
    plain = replace(config, dp=None)
    accuracies = []
    for client in make_clients(train, plain):
        client.fit(initial, epochs=config.rounds * config.train.local_epochs)
        accuracies.append(evaluate(client.model, test, device).accuracy)
    return LocalOnlyResult(accuracies=accuracies, mean_accuracy=float(np.mean(accuracies)))

