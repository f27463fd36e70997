"""`flep registry ...`: deploy the registry contract to the configured chain."""

from __future__ import annotations

import typer
from rich.table import Table
from web3 import Web3

from registry.chain import ModelRegistry, connect
from registry.chain.gas import GAS_BUDGETS, measure_gas
from registry.commands.output import console, emit_json, literal
from registry.config import ConfigError, Settings, load_settings
from registry.devnet import Devnet, DevnetError, dev_account

app = typer.Typer(help="Deploy and inspect the registry contract on the configured chain.", no_args_is_help=True)


def _connect_configured(require_registry: bool = False) -> tuple[Settings, Web3]:
    """The resolved settings and a connection to their chain (wrong chain id refused).

    Raises:
        ConfigError: If no chain RPC (or, when required, no registry address) is configured.
    """
    settings = load_settings()
    if not settings.rpc_url:
        raise ConfigError("no chain configured: run `flep devnet up` or set FLEP_RPC_URL")
    if require_registry and not settings.registry_address:
        raise ConfigError("no registry address configured: run `flep registry deploy` or set FLEP_REGISTRY_ADDRESS")
    return settings, connect(settings.rpc_url, settings.chain_id)


@app.command()
def deploy(
    account_index: int = typer.Option(
        0, "--account-index", help="Deploy from this account of the devnet's development mnemonic."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print {address, chain_id, block, ...} as JSON."),
) -> None:
    """Compile and deploy ModelRegistry, and record its address in the devnet file.

    The deployer becomes the registry operator (it may create federations). Against a chain without a
    devnet file, set FLEP_REGISTRY_ADDRESS to the printed address for later commands.

    Raises:
        ConfigError: If no chain RPC is configured.
    """
    settings, w3 = _connect_configured()
    _, deployment = ModelRegistry.deploy(w3, dev_account(account_index))
    recorded = True
    try:
        Devnet(settings).record(registry_address=deployment.address)
    except DevnetError:
        recorded = False
    if json_out:
        emit_json(
            {
                "address": deployment.address,
                "chain_id": deployment.chain_id,
                "block": deployment.block,
                "transaction_hash": deployment.transaction_hash,
                "gas_used": deployment.gas_used,
                "recorded_in": str(settings.devnet_file) if recorded else None,
            }
        )
        return
    console.print(
        f"[green]ModelRegistry deployed[/green] at {literal(deployment.address)} on chain {deployment.chain_id} "
        f"(block {deployment.block}, gas {deployment.gas_used})"
    )
    if recorded:
        console.print(f"address recorded in {literal(settings.devnet_file)}")
    else:
        console.print(f"no devnet file at {literal(settings.devnet_file)}: "
                      f"export FLEP_REGISTRY_ADDRESS={literal(deployment.address)}")


@app.command()
def status(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the configured registry: address, chain, and how many federations and artifacts it holds.

    Raises:
        ConfigError: If no chain RPC or registry address is configured.
    """
    settings, w3 = _connect_configured(require_registry=True)
    registry = ModelRegistry.at(w3, settings.registry_address, settings.registry_address)
    data = {
        "address": registry.address,
        "chain_id": w3.eth.chain_id,
        "federations": registry.federation_count(),
        "artifacts": registry.artifact_count(),
    }
    if json_out:
        emit_json(data)
        return
    console.print(
        f"ModelRegistry {literal(data['address'])} on chain {data['chain_id']}: "
        f"{data['federations']} federations, {data['artifacts']} artifacts"
    )


def bench(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Gas per registry action from real receipts: deploys a fresh registry and runs two rounds.

    Raises:
        ConfigError: If no chain RPC is configured.
    """
    _, w3 = _connect_configured()
    gas = measure_gas(w3)
    if json_out:
        emit_json({"gas": gas, "budgets": GAS_BUDGETS})
        return
    table = Table(title="ModelRegistry gas per action (transaction gasUsed)")
    for column in ("action", "gas", "budget"):
        table.add_column(column)
    for action, used in gas.items():
        budget = GAS_BUDGETS.get(action)
        mark = "" if budget is None else (f"{budget} [green]ok[/green]" if used <= budget else f"{budget} [red]over[/red]")
        table.add_row(action, str(used), mark)
    console.print(table)
