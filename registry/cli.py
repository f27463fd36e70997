"""The ``flep`` command line: composes the registry and client layers."""

import typer

from registry.commands import codec, fl, he

app = typer.Typer(help="FLEP Registry: blockchain-anchored secure model registry for private FL.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (figures, never pass/fail).", no_args_is_help=True)

app.add_typer(codec.app, name="codec")
app.add_typer(fl.app, name="fl")
app.add_typer(he.app, name="he")
app.add_typer(bench_app, name="bench")
bench_app.command("codec")(codec.bench)
bench_app.command("he")(he.bench)
