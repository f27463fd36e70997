"""`flep bench round`: one full registry round on the current devnet, timed by phase, beside the plaintext round."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from registry.commands.output import console, emit_json, err_console, literal
from registry.config import ConfigError, load_settings
from registry.devnet import dev_account
from registry.roles.round_bench import RoundBenchConfig, run_round_bench


def bench(
    analysts: int = typer.Option(10, "--analysts", min=1, max=50, help="Analysts (one dataset and update each)."),
    bits: int = typer.Option(2048, "--bits", help="Paillier modulus size."),
    model: str = typer.Option("cnn", "--model", help="Model of the training plan (cnn, mlp, logistic, ...)."),
    local_epochs: int = typer.Option(1, "--local-epochs", min=1, help="Local epochs of the round."),
    seed: int = typer.Option(0, "--seed", help="Seed of the plan, the split, the partitions and the clients."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """One full round on the current devnet (a fresh federation on the configured registry, every party in
    this process with its own account and keystore), timed by phase, and the same round as a plaintext FedAvg
    simulation (same data, seeds and partitions): wall times, their ratio, both accuracies and the gas.

    Raises:
        ConfigError: If no devnet (chain, registry, IPFS node) is configured.
    """
    settings = load_settings()
    if not settings.rpc_url or not settings.registry_address or not settings.ipfs_api:
        raise ConfigError("`flep bench round` needs the devnet and a registry: run `flep devnet up` and "
                          "`flep registry deploy`")
    config = RoundBenchConfig(analysts=analysts, paillier_bits=bits, model=model, local_epochs=local_epochs,
                              seed=seed)

    def progress(line: str) -> None:
        if not json_out:
            err_console.print(literal(line), highlight=False)

    with tempfile.TemporaryDirectory(prefix="flep-bench-round-") as directory:
        result = run_round_bench(settings.rpc_url, settings.chain_id, settings.registry_address, settings.ipfs_api,
                                 dev_account(0), Path(directory), config, progress)
    if json_out:
        emit_json(result.to_dict())
    else:
        console.print(f"round {result.round} of federation {result.federation_id}: {analysts} analysts, "
                      f"{literal(model)}, {bits}-bit Paillier, {local_epochs} local epoch(s)")
        table = Table(title="wall time by phase")
        for column, justify in (("phase", "left"), ("seconds", "right"), ("share", "right")):
            table.add_column(column, justify=justify)
        for phase, seconds in asdict(result.phases).items():
            table.add_row(phase, f"{seconds:.2f}", f"{seconds / result.round_seconds:.0%}")
        table.add_row("round (wall)", f"{result.round_seconds:.2f}", "100%", style="bold")
        console.print(table)
        console.print(f"plaintext round (clients.fl FedAvg, same seeds and partitions): "
                      f"{result.plaintext_seconds:.2f} s; overhead {result.overhead:.1f}x")
        console.print(f"accuracy: registry {result.accuracy:.3f}, plaintext {result.plaintext_accuracy:.3f} "
                      f"(largest parameter difference {result.max_parameter_difference:.2e}, "
                      f"quantization bound {result.quantization_bound:.2e})")
        by_action = ", ".join(f"{action} {gas:,}" for action, gas in result.gas.items())
        console.print(f"gas: {result.gas_total:,} over {result.transactions} transactions ({by_action})")
        console.print(f"{result.num_values:,} values per update, {result.update_bytes:,} bytes encrypted; "
                      f"setup (not in the round) {result.setup_seconds:.1f} s; round {result.status}, "
                      f"model v{result.model_version}")
    if result.verification_failures:
        for failure in result.verification_failures:
            err_console.print(f"[red]verification failed:[/red] {literal(failure)}", highlight=False)
        raise typer.Exit(1)
