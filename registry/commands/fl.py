"""`flep fl ...` commands (placeholder until the fl layer lands)."""

import typer

app = typer.Typer(help="fl commands", no_args_is_help=True)


def bench(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Benchmark the fl layer."""
    raise typer.Exit(code=2)
