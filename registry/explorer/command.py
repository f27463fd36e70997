"""`flep explorer [--port P] [--federation ID]`: the audit explorer on http://127.0.0.1:P/, read-only; `flep bench
explorer`: its page load times over a scratch federation."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.commands.party import configured_registry, open_party
from registry.explorer.app import create_app
from registry.explorer.data import ExplorerData
from registry.explorer.server import DEFAULT_PORT, LOOPBACK, bind, serve


def explorer(
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Open this federation's page first."),
    host: str = typer.Option(LOOPBACK, "--host", help="Only 127.0.0.1 is accepted: the explorer has no "
                             "authentication."),
    keystore: Optional[Path] = typer.Option(
        None, "--keystore", help="A member's keystore (analyst, custodian or auditor granted the model key): under "
        "threshold custody, re-check every partial decryption's proof and the combination with its model key. "
        "Passphrase from FLEP_PASSPHRASE or a prompt."),
) -> None:
    """Browse and re-verify the configured registry in a web browser: federations, model versions and their
    accuracy, each version's lineage graph, round timelines with gas and DP, grants and revocations; every
    artifact with its verification badge and a verify button (the checks of `flep verify`). Read-only; serves
    on 127.0.0.1 only; Ctrl-C stops it. Under threshold custody the partial decryptions' proofs and the
    combination are re-checked with --keystore's model keys (a member's), else reported as skipped.

    \f
    Raises:
        ConfigError: If the host is not 127.0.0.1, the port is taken, or no chain, registry or IPFS node is
            configured.
        UnknownFederationError: If --federation names no federation.
        KeystoreError: If --keystore does not open with the passphrase.
    """
    sock = bind(host, port)  # refuses any other host before anything is read
    try:
        registry, store = configured_registry()
        count = registry.federation_count()
        if federation is not None:
            registry.federation(federation)
        member = open_party(keystore) if keystore is not None else None
        data = ExplorerData(registry, store, member=member)
        app = create_app(data)
    except BaseException:
        sock.close()
        raise
    url = f"http://{LOOPBACK}:{sock.getsockname()[1]}/" + (f"federation/{federation}" if federation else "")
    typer.echo(f"audit explorer of registry {registry.address} ({count} federation(s)), read-only: {url}")
    if member is not None:
        typer.echo(f"partial decryptions re-checked with the model keys of {member.address}")
    typer.echo("Ctrl-C stops it")
    sys.stdout.flush()
    threading.Thread(target=data.warm, name="explorer-warm", daemon=True).start()
    serve(app, sock)
    typer.echo("audit explorer stopped")


def bench(
    rounds: int = typer.Option(50, "--rounds", min=1, help="Finalized rounds of the scratch federation."),
    analysts: int = typer.Option(10, "--analysts", min=1, max=100, help="Analysts (one update each per round)."),
    bits: int = typer.Option(1024, "--bits", help="Paillier modulus size of the scratch federation."),
    values: int = typer.Option(40, "--values", min=1, help="Values per update (the model's length)."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Build a scratch federation of ROUNDS x ANALYSTS on the running devnet (a fresh registry; every round
    through the aggregator and key holder roles, random update values, nothing trained), serve the audit
    explorer over it on 127.0.0.1 in this process, and time the federation page, the latest version's lineage,
    the latest round's page and the access page: cold (every cache dropped), cached (same block) and the first
    load after a new block.

    \f
    Raises:
        ConfigError: If no chain or IPFS node is configured.
    """
    from registry.chain import connect
    from registry.commands.output import console, emit_json, err_console, literal
    from registry.config import ConfigError, load_settings
    from registry.devnet import dev_account
    from registry.explorer.bench import PAGES, measure_pages
    from registry.explorer.scratch import ScratchConfig, build_scratch_federation
    from registry.store import ArtifactStore

    settings = load_settings()
    if not settings.rpc_url or not settings.ipfs_api:
        raise ConfigError("`flep bench explorer` needs the devnet: run `flep devnet up`")
    config = ScratchConfig(rounds=rounds, analysts=analysts, paillier_bits=bits, num_values=values)

    def progress(line: str) -> None:
        if not json_out:
            err_console.print(literal(line), highlight=False)

    w3 = connect(settings.rpc_url, settings.chain_id)
    store = ArtifactStore(settings.ipfs_api)
    every = max(1, rounds // 10)
    federation = build_scratch_federation(
        w3, store, dev_account(0), config,
        lambda line: progress(line) if int(line.split()[1]) % every == 0 or line.startswith("round 1 ") else None)
    result = measure_pages(federation, store, config, progress)
    if json_out:
        emit_json(result.to_dict())
        return
    console.print(f"scratch federation {result.federation_id} of registry {result.registry_address}: {rounds} rounds "
                  f"x {analysts} analysts, {bits}-bit Paillier, {values} values; built in {result.build_seconds:.1f} s; "
                  f"latest lineage {result.lineage_nodes} graph nodes")
    table = Table(title="audit explorer page loads (seconds, HTTP on 127.0.0.1)")
    for column, justify in (("page", "left"), ("cold", "right"), ("cached", "right"), ("next block", "right"),
                            ("bytes", "right")):
        table.add_column(column, justify=justify)
    for name in PAGES:
        page = result.pages[name]
        table.add_row(literal(page.path), f"{page.cold:.3f}", f"{page.cached:.3f}",
                      "n/a" if page.next_block is None else f"{page.next_block:.3f}", f"{page.bytes:,}")
    console.print(table)
