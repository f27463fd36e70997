"""The ``flep`` command line: composes the registry and client layers.

Command groups that pull in web3, torch, Opacus or TenSEAL (registry, codec,
fl, he and their benchmarks) are imported only when one of their commands
runs, so ``flep devnet status`` or ``flep store get`` start quickly.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click
import typer
from typer.core import TyperGroup

from registry.commands import devnet, store
from registry.commands.output import print_error


@dataclass(frozen=True)
class _Lazy:
    """A command living in ``module``: its Typer ``app``, or the function ``attr``."""

    module: str
    help: str
    attr: str = "app"

    def load(self, name: str) -> click.Command:
        target = getattr(import_module(self.module), self.attr)
        if isinstance(target, typer.Typer):
            # get_group, not get_command: a one-command app must stay a group (`flep fl simulate`).
            return typer.main.get_group(target)
        single = typer.Typer()
        single.command(name)(target)
        return typer.main.get_command(single)


class _LazyGroup(TyperGroup):
    """A Typer group whose ``lazy`` commands are imported on first use.

    Help listings show a lightweight stand-in carrying the short help; running
    a command (``resolve_command``) imports and installs the real one.
    """

    lazy: dict[str, _Lazy] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return names + [name for name in self.lazy if name not in names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            return click.Command(cmd_name, help=self.lazy[cmd_name].help)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[Any, ...]:
        if args and args[0] in self.lazy and args[0] not in self.commands:
            self.add_command(self.lazy[args[0]].load(args[0]), args[0])
        return super().resolve_command(ctx, args)


class _RootGroup(_LazyGroup):
    lazy = {
        "registry": _Lazy("registry.commands.chain", "Deploy and inspect the registry contract on the configured chain."),
        "codec": _Lazy("registry.commands.codec", "Data-tier image codec: keys, encrypt, decrypt, quality report."),
        "fl": _Lazy("registry.commands.fl", "Federated learning simulations (FedAvg, DP-SGD)."),
        "he": _Lazy("registry.commands.he", "Packed Paillier keys and encrypted updates (model tier)."),
        "verify": _Lazy("registry.commands.verify", "Re-verify an artifact, a round or a model's lineage; exit 1 on "
                        "mismatch.", "verify"),
        "keys": _Lazy("registry.commands.keys", "Party keystores: create, register the encryption key, show."),
        "audit": _Lazy("registry.commands.audit", "Audit a federation: model lineage, round timeline, key and role "
                       "access."),
        "agent": _Lazy("registry.commands.agent", "Run one party (analyst, aggregator, key holder) as a long-running "
                       "process.", "agent"),
        "round": _Lazy("registry.commands.round", "Run training rounds with every party its own process."),
        "federation": _Lazy("registry.commands.federation", "Create and inspect federations."),
        "access": _Lazy("registry.commands.access", "Grant and revoke roles and keys; list who holds what."),
        "data": _Lazy("registry.commands.data", "Data owners: upload encrypted datasets."),
        "flower": _Lazy("registry.flower.command", "Run rounds on Flower's Deployment Engine (SuperLink, one "
                        "SuperNode per analyst)."),
        "explorer": _Lazy("registry.explorer.command", "The audit explorer: browse and re-verify lineage, rounds and "
                          "access in a browser (127.0.0.1, read-only).", "explorer"),
    }


class _BenchGroup(_LazyGroup):
    lazy = {
        "codec": _Lazy("registry.commands.codec", "Codec speed and DnCNN inference time.", "bench"),
        "he": _Lazy("registry.commands.he", "Per-value phe vs packed Paillier vs TenSEAL CKKS.", "bench"),
        "registry": _Lazy("registry.commands.chain", "Gas per registry action from real receipts.", "bench"),
        "round": _Lazy("registry.commands.bench_round", "One full round on the devnet by phase, beside the plaintext "
                       "round.", "bench"),
        "threshold": _Lazy("registry.commands.he", "Threshold Paillier: custodians, verify, combine vs one key.",
                           "bench_threshold"),
        "flower": _Lazy("registry.flower.command", "The same rounds natively and through Flower: wall time per "
                        "round, overhead ratio, accuracy.", "bench"),
        "explorer": _Lazy("registry.explorer.command", "Audit explorer page loads over a scratch N x K federation.",
                          "bench"),
    }


app = typer.Typer(
    cls=_RootGroup,
    help="FLEP Registry: blockchain-anchored secure model registry for private federated learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(cls=_BenchGroup, help="Benchmarks (measured figures, never pass/fail).", no_args_is_help=True)

app.add_typer(devnet.app, name="devnet")
app.add_typer(store.app, name="store")
app.add_typer(bench_app, name="bench")
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
        print_error(str(exc))
        sys.exit(1)
