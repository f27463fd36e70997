"""`flep round run`: a federation on the current devnet with every party its own process."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from registry.chain import ModelRegistry, connect
from registry.commands.output import console, emit_json, err_console, literal
from registry.config import ConfigError, load_settings
from registry.devnet import dev_account
from registry.roles.runner import RunConfig, run_rounds
from registry.store import ArtifactStore

app = typer.Typer(help="Run training rounds.", no_args_is_help=True)


@app.command("run")
def run(
    analysts: int = typer.Option(3, "--analysts", min=1, max=50, help="Analysts (one agent process each)."),
    rounds: int = typer.Option(1, "--rounds", min=1, help="Rounds to run."),
    min_participants: int = typer.Option(0, "--min-participants", min=0, help="Default: a majority."),
    model: str = typer.Option("cnn", "--model", help="Model of the training plan."),
    paillier_bits: int = typer.Option(2048, "--paillier-bits", help="Paillier modulus size."),
    samples: int = typer.Option(0, "--samples-per-analyst", min=0, help="Digits per analyst (0: equal share)."),
    local_epochs: int = typer.Option(1, "--local-epochs", min=1),
    round_seconds: int = typer.Option(600, "--round-seconds", min=10, help="Each round's deadline."),
    seed: int = typer.Option(0, "--seed"),
    revoke_after: int = typer.Option(0, "--revoke-after-round", min=0,
                                     help="After this round, revoke the last analyst and rotate the key epoch."),
    json_out: bool = typer.Option(False, "--json", help="Print per-round accuracy, gas, phases and CIDs as JSON."),
) -> None:
    """Create keystores and a federation on the current devnet, start every agent as its own OS process, run
    the rounds, and stop every process it started (also on failure).

    Raises:
        ConfigError: If no devnet (chain, registry, IPFS node) is configured.
    """
    settings = load_settings()
    if not settings.rpc_url or not settings.registry_address or not settings.ipfs_api:
        raise ConfigError("`flep round run` needs the devnet and a registry: run `flep devnet up` and "
                          "`flep registry deploy`")
    faucet = dev_account(0)
    operator = ModelRegistry.at(connect(settings.rpc_url, settings.chain_id), settings.registry_address, faucet)
    config = RunConfig(analysts=analysts, rounds=rounds, min_participants=min_participants, model=model,
                       paillier_bits=paillier_bits, samples_per_analyst=samples, local_epochs=local_epochs,
                       round_seconds=round_seconds, seed=seed, revoke_after_round=revoke_after)

    def progress(line: dict) -> None:
        if not json_out:
            text = line.get("action") or f"error: {line.get('error')}"
            err_console.print(f"[bold]{literal(line.get('party', '?')):<12}[/] {literal(text)}", highlight=False)

    result = run_rounds(settings.registry_address, operator, ArtifactStore(settings.ipfs_api), settings.home,
                        faucet, config, progress)
    if json_out:
        emit_json({"registry": result.registry_address, "federation": result.federation_id,
                   "directory": result.directory, "rounds": [asdict(r) for r in result.rounds],
                   "revoked": result.revoked, "revoked_reads_latest_model": result.revoked_reads_latest_model})
        return
    table = Table(title=f"federation {result.federation_id}: {len(result.rounds)} round(s)")
    for column in ("round", "status", "version", "accuracy", "included", "excluded", "gas", "seconds", "model CID"):
        table.add_column(column)
    for r in result.rounds:
        accuracy = "-" if r.accuracy is None else f"{r.accuracy:.3f}"
        table.add_row(str(r.round), r.status, str(r.model_version), accuracy, str(r.included), str(r.excluded),
                      f"{r.gas:,}", f"{r.seconds:.1f}", literal(r.model_cid))
    console.print(table)
    if result.revoked:
        console.print(f"revoked {literal(result.revoked)} reading the latest model: "
                      f"{literal(result.revoked_reads_latest_model)}")
    console.print(f"keystores and agent logs: {literal(result.directory)}")
