"""The ``flep`` command line: composes the registry and client layers."""

from __future__ import annotations

import os
import sys

import typer

from registry.commands import chain, codec, devnet, fl, he, store
from registry.commands.output import err_console

app = typer.Typer(
    help="FLEP Registry: blockchain-anchored secure model registry for private federated learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks (measured figures, never pass/fail).", no_args_is_help=True)

app.add_typer(devnet.app, name="devnet")
app.add_typer(store.app, name="store")
app.add_typer(chain.app, name="registry")
app.add_typer(codec.app, name="codec")
app.add_typer(fl.app, name="fl")
app.add_typer(he.app, name="he")
app.add_typer(bench_app, name="bench")
bench_app.command("codec")(codec.bench)
bench_app.command("he")(he.bench)
bench_app.command("ipfs")(store.bench)


def main() -> None:
    """Run the CLI; failures print one actionable line instead of a traceback.

    Every layer raises errors that say what failed and what to do, so the
    traceback only helps developers: set ``FLEP_DEBUG=1`` to see it.
    """
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if os.environ.get("FLEP_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
