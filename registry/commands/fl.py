"""`flep fl simulate`: federated training (FedAvg, optional DP-SGD) on local data."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from pathlib import Path

import torch
import typer
from rich.table import Table

from clients.aggregation import PlaintextFedAvg
from clients.fl import (
    DatasetError,
    DPConfig,
    LabelledData,
    RoundRecord,
    SimulationConfig,
    TrainConfig,
    load_digits_data,
    load_mnist,
    make_clients,
    make_iiot_data,
    noise_for_epsilon,
    run_federated,
    split_train_test,
    standardize,
)
from registry.commands.output import console, emit_json

app = typer.Typer(help="Federated learning with optional differential privacy.", no_args_is_help=True)


class DatasetName(str, Enum):
    """Datasets `flep fl simulate` can load offline."""

    digits = "digits"
    synthetic = "synthetic"
    mnist = "mnist"


class PartitionName(str, Enum):
    """Client partition schemes."""

    iid = "iid"
    dirichlet = "dirichlet"


class ModelName(str, Enum):
    """Model architectures."""

    cnn = "cnn"
    mlp = "mlp"
    logistic = "logistic"
    svm = "svm"


def load_dataset(name: DatasetName, mnist_path: Path | None, seed: int) -> tuple[LabelledData, LabelledData]:
    """Train and test sets of the named dataset.

    Raises:
        DatasetError: If MNIST is asked for without a path, or its files are malformed.
    """
    if name is DatasetName.mnist:
        if mnist_path is None:
            raise DatasetError(
                "--dataset mnist needs --mnist-path: a directory with the four IDX files (raw or .gz) or an .npz"
            )
        return load_mnist(mnist_path)
    if name is DatasetName.synthetic:
        return standardize(*split_train_test(make_iiot_data(seed=seed), 0.2, seed))
    return split_train_test(load_digits_data(), 0.2, seed)


@app.command()
def simulate(
    dataset: DatasetName = typer.Option(DatasetName.digits, "--dataset", help="Training data."),
    clients: int = typer.Option(10, "--clients", min=1, help="Number of clients K."),
    rounds: int = typer.Option(20, "--rounds", min=1, help="FedAvg rounds R."),
    partition: PartitionName = typer.Option(PartitionName.iid, "--partition", help="How data is split."),
    alpha: float = typer.Option(0.5, "--alpha", help="Dirichlet concentration (with --partition dirichlet)."),
    model: ModelName = typer.Option(None, "--model", help="Architecture [default: cnn for images, mlp for synthetic]."),
    local_epochs: int = typer.Option(2, "--local-epochs", help="Local epochs per round."),
    batch_size: int = typer.Option(32, "--batch-size", help="Local batch size."),
    lr: float = typer.Option(0.05, "--lr", help="Learning rate."),
    optimizer: str = typer.Option("sgd", "--optimizer", help="sgd or adam."),
    dp: bool = typer.Option(False, "--dp", help="Train every client with Opacus DP-SGD."),
    noise_multiplier: float = typer.Option(None, "--noise-multiplier", help="DP noise multiplier sigma."),
    target_epsilon: float = typer.Option(
        None, "--target-epsilon", help="With --dp: derive sigma so every client ends within this epsilon."
    ),
    max_grad_norm: float = typer.Option(1.0, "--max-grad-norm", help="DP per-sample clipping bound C."),
    delta: float = typer.Option(1e-5, "--delta", help="DP delta."),
    accountant: str = typer.Option("rdp", "--accountant", help="Privacy accountant: rdp or prv."),
    mnist_path: Path = typer.Option(None, "--mnist-path", help="IDX directory or .npz for --dataset mnist."),
    seed: int = typer.Option(0, "--seed", help="Seed of split, partition, init and noise."),
    device: str = typer.Option(None, "--device", help="cpu or cuda [default: cuda when present]."),
    threads: int = typer.Option(
        1, "--threads", min=1, help="torch CPU threads (these small models gain little from more)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Simulate K clients training R FedAvg rounds; print per-round accuracy and final metrics."""
    torch.set_num_threads(threads)
    train, test = load_dataset(dataset, mnist_path, seed)
    model_name = (model.value if model else None) or ("mlp" if dataset is DatasetName.synthetic else "cnn")
    train_config = TrainConfig(local_epochs, batch_size, lr, optimizer)
    base = SimulationConfig(
        model=model_name,
        num_clients=clients,
        rounds=rounds,
        partition=partition.value,
        alpha=alpha,
        train=train_config,
        seed=seed,
        device=device,
    )
    dp_config = None
    if dp:
        if (noise_multiplier is None) == (target_epsilon is None):
            raise typer.BadParameter("with --dp give exactly one of --noise-multiplier or --target-epsilon")
        sigma = noise_multiplier
        if target_epsilon is not None:
            # The client with the highest sampling rate spends the most; size sigma for it.
            probe = make_clients(train, base)
            sigma = noise_for_epsilon(
                target_epsilon,
                delta,
                max(c.sample_rate for c in probe),
                rounds * max(c.steps_per_round for c in probe),
                accountant,
            )
        dp_config = DPConfig(sigma, max_grad_norm, delta, accountant)
    elif noise_multiplier is not None or target_epsilon is not None:
        raise typer.BadParameter("--noise-multiplier/--target-epsilon need --dp")
    config = replace(base, dp=dp_config)

    def show(record: RoundRecord) -> None:
        eps = f"  eps {max(record.epsilons.values()):.3f}" if record.epsilons else ""
        refused = f"  refused {len(record.failures)}" if record.failures else ""
        console.print(
            f"round {record.server_round:3d}  accuracy {record.accuracy:.4f}  f1 {record.f1:.4f}  "
            f"loss {record.train_loss:.4f}{eps}{refused}  ({record.seconds:.2f}s)",
            highlight=False,
        )

    result = run_federated(train, test, config, PlaintextFedAvg(), on_round=None if json_out else show)
    if json_out:
        emit_json(
            {
                **result.to_dict(),
                "dataset": dataset.value,
                "model": model_name,
                "clients": clients,
                "partition": partition.value,
                "alpha": alpha if partition is PartitionName.dirichlet else None,
                "noise_multiplier": dp_config.noise_multiplier if dp_config else None,
                "max_grad_norm": dp_config.max_grad_norm if dp_config else None,
                "delta": dp_config.delta if dp_config else None,
            }
        )
        return
    table = Table(title=f"final global model ({dataset.value}, {clients} clients, {partition.value})")
    for column in ("accuracy", "precision", "recall", "f1", "seconds"):
        table.add_column(column, justify="right")
    final = result.final
    scores = (final.accuracy, final.precision, final.recall, final.f1)
    table.add_row(*(f"{v:.4f}" for v in scores), f"{result.seconds:.1f}")
    console.print(table)
    if dp_config:
        console.print(
            f"DP-SGD sigma={dp_config.noise_multiplier:.4f} C={dp_config.max_grad_norm} delta={dp_config.delta}: "
            f"max client epsilon {result.max_epsilon:.3f} ({result.accountant})",
            highlight=False,
        )
    console.print("confusion matrix (rows true, columns predicted):")
    for row in final.confusion:
        console.print("  " + " ".join(f"{v:4d}" for v in row), highlight=False)
