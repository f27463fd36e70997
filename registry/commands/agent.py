"""`flep agent analyst|aggregator|keyholder|custodian --keystore DIR`: a long-running party, acting from the chain."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Optional

import requests
import typer

from clients.codec import CodecError
from clients.fl import FLError
from clients.he import HEError
from registry.chain import ChainError
from registry.commands.output import console, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.keystore import KeystoreError
from registry.roles import RoleError
from registry.roles.agents import (
    AgentAction,
    AggregatorAgent,
    AnalystAgent,
    CustodianAgent,
    KeyHolderAgent,
    run_agent,
)
from registry.store import StoreError

# An RPC node that is down or restarting surfaces from web3 as requests' own ConnectionError / Timeout.
RETRY_ON = (RoleError, StoreError, ChainError, KeystoreError, HEError, CodecError, FLError, ConnectionError,
            requests.exceptions.ConnectionError, requests.exceptions.Timeout)


class AgentRole(str, Enum):
    analyst = "analyst"
    aggregator = "aggregator"
    keyholder = "keyholder"
    custodian = "custodian"


def agent(
    role: AgentRole = typer.Argument(..., help="Which party this process is."),
    keystore: Path = typer.Option(..., "--keystore", help="The party's keystore directory."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    poll: float = typer.Option(1.0, "--poll", min=0.05, help="Seconds between looks at the chain when idle."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes for Paillier work."),
    json_out: bool = typer.Option(False, "--json", help="Print each action as one JSON line."),
) -> None:
    """Run one party until SIGTERM or Ctrl-C: each step derives what to do from the chain and IPFS, so a
    restarted agent resumes where it stopped without duplicate records.

    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
    """
    opened = open_party(keystore)
    registry, store = configured_registry(opened.account)
    context = federation_context(registry, store, federation)
    party = {AgentRole.analyst: lambda: AnalystAgent(context, opened, workers),
             AgentRole.aggregator: lambda: AggregatorAgent(context),
             AgentRole.keyholder: lambda: KeyHolderAgent(context, opened, workers),
             AgentRole.custodian: lambda: CustodianAgent(context, opened, workers)}[role]()
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))

    def report(action: AgentAction) -> None:
        if json_out:
            print(json.dumps(asdict(action)), flush=True)
        else:
            console.print(f"[bold]{action.party}[/] round {action.round}: {literal(action.action)} "
                          f"(gas {action.gas_used:,}, {action.seconds:.1f} s)", highlight=False)

    def report_error(exc: Exception) -> None:
        if json_out:
            print(json.dumps({"error": str(exc), "type": type(exc).__name__}), flush=True)
        else:
            console.print(f"[yellow]{role.value}: {literal(exc)} (retrying)[/]", highlight=False)

    # Loading (torch, keys, the chain) takes seconds: whoever starts agents waits for this before opening a round.
    report(AgentAction(role.value, 0, "ready"))
    run_agent(party, poll, lambda: bool(stopping), report, report_error, RETRY_ON)
