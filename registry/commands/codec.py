"""`flep codec ...` commands (placeholder until the codec layer lands)."""

import typer

app = typer.Typer(help="codec commands", no_args_is_help=True)


def bench(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Benchmark the codec layer."""
    raise typer.Exit(code=2)
