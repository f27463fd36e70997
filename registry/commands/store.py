"""`flep store put | get | pin | unpin`: verified artifacts on IPFS."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from registry.commands.output import console, emit_json, literal
from registry.config import ConfigError, load_settings
from registry.devnet import Devnet
from registry.store import ArtifactStore
from registry.store_bench import rows_to_dicts, run_store_bench

app = typer.Typer(help="Store and fetch verified artifacts on the IPFS node.", no_args_is_help=True)


def open_store() -> ArtifactStore:
    """The store for the configured IPFS API.

    Raises:
        ConfigError: If no IPFS API is configured.
    """
    settings = load_settings()
    if not settings.ipfs_api:
        raise ConfigError("no IPFS API configured: run `flep devnet up` or set FLEP_IPFS_API")
    return ArtifactStore(settings.ipfs_api)


@app.command()
def put(
    file: Path = typer.Argument(..., help="File to store."),
    no_pin: bool = typer.Option(False, "--no-pin", help="Do not pin the content."),
    json_out: bool = typer.Option(False, "--json", help="Print {cid, sha256, size} as JSON."),
) -> None:
    """Add FILE (streamed) and print its CID, sha256 and size."""
    stored = open_store().put_file(file, pin=not no_pin)
    if json_out:
        emit_json(stored.to_dict())
    else:
        console.print(f"cid {literal(stored.cid)}\nsha256 {stored.sha256}\nsize {stored.size}")


@app.command()
def get(
    cid: str = typer.Argument(..., help="CID to fetch."),
    out: Path = typer.Option(..., "-o", "--out", help="Where to write the verified content."),
    sha256: str | None = typer.Option(None, "--sha256", help="Expected sha256 (hex), e.g. from the chain."),
    size: int | None = typer.Option(
        None, "--size", min=0, help="Expected size in bytes, e.g. from the chain: more or fewer bytes are refused."
    ),
    max_size: int | None = typer.Option(
        None, "--max-size", min=0, help="Refuse an artifact larger than this many bytes (when its size is unknown)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the verified {cid, sha256, size} as JSON."),
) -> None:
    """Fetch CID, verify it (CID recomputed, sha256 and size if given), then write OUT.

    The transfer stops as soon as more bytes arrive than --size (or --max-size) allows.
    """
    stored = open_store().get_to_file(cid, out, expected_sha256=sha256, expected_size=size, max_size=max_size)
    if json_out:
        emit_json({**stored.to_dict(), "path": str(out)})
    else:
        console.print(
            f"verified {literal(stored.cid)} ({stored.size} bytes, sha256 {stored.sha256}) -> {literal(out)}"
        )


@app.command()
def pin(cid: str = typer.Argument(..., help="CID to pin.")) -> None:
    """Pin CID on the node."""
    open_store().pin(cid)
    console.print(f"pinned {literal(cid)}")


@app.command()
def unpin(cid: str = typer.Argument(..., help="CID to unpin.")) -> None:
    """Remove the pin of CID."""
    open_store().unpin(cid)
    console.print(f"unpinned {literal(cid)}")


def bench(
    sizes: str = typer.Option("1,10,100", help="Artifact sizes in MB, comma-separated."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add/cat throughput through the store layer and the node's peak RSS growth."""
    settings = load_settings()
    store = open_store()
    devnet = Devnet(settings).load()
    record = devnet.processes.get("ipfs") if devnet and devnet.ipfs_api == store.api else None
    node_pid = record.pid if record and record.process() else None
    rows = run_store_bench(store, [int(s) for s in sizes.split(",")], node_pid)
    if json_out:
        emit_json({"node": store.url, "rows": rows_to_dicts(rows)})
        return
    table = Table(title=f"IPFS store throughput ({literal(store.url)})")
    for column in ("size MB", "add s", "add MB/s", "cat s", "cat MB/s", "node RSS growth MB"):
        table.add_column(column, justify="right")
    for row in rows:
        growth = "-" if row.node_rss_growth_mb is None else str(row.node_rss_growth_mb)
        table.add_row(str(row.size_mb), str(row.add_s), str(row.add_mb_s), str(row.cat_s), str(row.cat_mb_s), growth)
    console.print(table)
