"""`flep devnet up | down | status`: the local Anvil + IPFS devnet."""

from __future__ import annotations

import typer
from rich.table import Table

from registry.commands.output import console, emit_json, literal
from registry.config import load_settings
from registry.devnet import Devnet

app = typer.Typer(help="Start, inspect and stop the local devnet (Anvil + IPFS node).", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


@app.command()
def up(
    timeout: float = typer.Option(60.0, help="Seconds allowed for both servers to become healthy."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Start Anvil and the IPFS node on loopback (or report the running devnet)."""
    devnet = Devnet(load_settings())
    info = devnet.up(timeout=timeout)
    if json_out:
        emit_json(devnet.status().to_dict())
        return
    console.print(f"[green]devnet running[/green]  chain {info.chain_id} at {literal(info.rpc_url)}, "
                  f"IPFS API {literal(info.ipfs_api)}")
    console.print(f"devnet file: {literal(devnet.file)}")


@app.command()
def down(json_out: bool = JSON_OPTION) -> None:
    """Stop the devnet's processes (the chain state and IPFS repo are kept)."""
    devnet = Devnet(load_settings())
    stopped = devnet.down()
    if json_out:
        emit_json({"stopped": stopped, "devnet_file": str(devnet.file)})
    elif stopped:
        console.print(f"stopped: {literal(', '.join(stopped))}")
    else:
        console.print("nothing was running")


@app.command()
def status(json_out: bool = JSON_OPTION) -> None:
    """Report whether the devnet runs and answers."""
    state = Devnet(load_settings()).status()
    if json_out:
        emit_json(state.to_dict())
        return
    table = Table(title="devnet " + ("[green]running[/green]" if state.running else "[red]not running[/red]"))
    for column in ("component", "pid", "alive", "healthy", "endpoint"):
        table.add_column(column)
    for comp in state.components:
        table.add_row(comp.name, str(comp.pid or "-"), str(comp.alive), str(comp.healthy), literal(comp.url or "-"))
    console.print(table)
    console.print(f"chain id: {state.chain_id}  registry: {literal(state.registry_address or '-')}  "
                  f"file: {literal(state.devnet_file)}")
