"""`flep he ...` commands (placeholder until the he layer lands)."""

import typer

app = typer.Typer(help="he commands", no_args_is_help=True)


def bench(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Benchmark the he layer."""
    raise typer.Exit(code=2)
