"""`flep store put | get | pin | unpin`: verified artifacts on IPFS."""

from __future__ import annotations

from pathlib import Path

import typer

from registry.commands.output import console, emit_json
from registry.config import ConfigError, load_settings
from registry.store import ArtifactStore

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
        console.print(f"cid {stored.cid}\nsha256 {stored.sha256}\nsize {stored.size}")


@app.command()
def get(
    cid: str = typer.Argument(..., help="CID to fetch."),
    out: Path = typer.Option(..., "-o", "--out", help="Where to write the verified content."),
    sha256: str = typer.Option(None, "--sha256", help="Expected sha256 (hex), e.g. from the chain."),
    json_out: bool = typer.Option(False, "--json", help="Print the verified {cid, sha256, size} as JSON."),
) -> None:
    """Fetch CID, verify it (CID recomputed, sha256 if given), then write OUT."""
    stored = open_store().get_to_file(cid, out, expected_sha256=sha256)
    if json_out:
        emit_json({**stored.to_dict(), "path": str(out)})
    else:
        console.print(f"verified {stored.cid} ({stored.size} bytes, sha256 {stored.sha256}) -> {out}")


@app.command()
def pin(cid: str = typer.Argument(..., help="CID to pin.")) -> None:
    """Pin CID on the node."""
    open_store().pin(cid)
    console.print(f"pinned {cid}")


@app.command()
def unpin(cid: str = typer.Argument(..., help="CID to unpin.")) -> None:
    """Remove the pin of CID."""
    open_store().unpin(cid)
    console.print(f"unpinned {cid}")
