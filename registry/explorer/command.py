"""`flep explorer [--port P] [--federation ID]`: the audit explorer on http://127.0.0.1:P/, read-only."""

from __future__ import annotations

import sys
import threading
from typing import Optional

import typer

from registry.commands.party import configured_registry
from registry.explorer.app import create_app
from registry.explorer.data import ExplorerData
from registry.explorer.server import DEFAULT_PORT, LOOPBACK, bind, serve


def explorer(
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Open this federation's page first."),
    host: str = typer.Option(LOOPBACK, "--host", help="Only 127.0.0.1 is accepted: the explorer has no "
                             "authentication."),
) -> None:
    """Browse and re-verify the configured registry in a web browser: federations, model versions and their
    accuracy, each version's lineage graph, round timelines with gas and DP, grants and revocations; every
    artifact with its verification badge and a verify button (the checks of `flep verify`). Read-only; serves
    on 127.0.0.1 only; Ctrl-C stops it.

    \f
    Raises:
        ConfigError: If the host is not 127.0.0.1, the port is taken, or no chain, registry or IPFS node is
            configured.
        UnknownFederationError: If --federation names no federation.
    """
    sock = bind(host, port)  # refuses any other host before anything is read
    try:
        registry, store = configured_registry()
        count = registry.federation_count()
        if federation is not None:
            registry.federation(federation)
        data = ExplorerData(registry, store)
        app = create_app(data)
    except BaseException:
        sock.close()
        raise
    url = f"http://{LOOPBACK}:{sock.getsockname()[1]}/" + (f"federation/{federation}" if federation else "")
    typer.echo(f"audit explorer of registry {registry.address} ({count} federation(s)), read-only: {url}")
    typer.echo("Ctrl-C stops it")
    sys.stdout.flush()
    threading.Thread(target=data.warm, name="explorer-warm", daemon=True).start()
    serve(app, sock)
    typer.echo("audit explorer stopped")
