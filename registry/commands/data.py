"""`flep data upload`: a data owner encrypts an image with a fresh codec key, registers it as a dataset and
grants the key, sealed, to each named analyst."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from clients.codec import CodecKey, read_image
from registry.chain import KeyKind
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.roles import grant_sealed, publish_dataset

app = typer.Typer(help="Data owners: upload encrypted datasets.", no_args_is_help=True)


@app.command()
def upload(
    image: Path = typer.Argument(..., exists=True, dir_okay=False, help="The image (e.g. a digit sheet PNG)."),
    keystore: Path = typer.Option(..., "--keystore", help="The data owner's keystore."),
    samples: int = typer.Option(..., "--samples", min=1, help="Training samples the image holds."),
    grant_to: Optional[List[str]] = typer.Option(None, "--grant-to", help="Analyst to grant the codec key to."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Encrypt the image under a new codec key (kept in the owner's keystore), put it on IPFS, register it
    with its sample count, and grant the key sealed for each analyst's registered encryption key.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
        GrantError: If an analyst has registered no encryption key (the dataset stays registered).
    """
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    context = federation_context(registry, store, federation)
    key = CodecKey.generate()
    published = publish_dataset(context, read_image(image), samples, [], key)
    # Kept before any grant, so a grant that fails (no registered encryption key) loses no key.
    party.put_secret(f"codec-key-dataset-{published.dataset_id}", key.to_bytes())
    grants = [grant_sealed(context, KeyKind.CODEC_KEY, analyst, key.to_bytes()) for analyst in grant_to or []]
    if json_out:
        emit_json({"federation": context.federation_id, "dataset": published.dataset_id, "cid": published.cid,
                   "sha256": published.sha256, "size": published.size, "samples": samples,
                   "granted_to": [g.grantee for g in grants]})
        return
    console.print(f"dataset #{published.dataset_id} ({samples} samples, {published.size:,} B encrypted) registered "
                  f"in federation {context.federation_id}: {literal(published.cid)}")
    for g in grants:
        console.print(f"  codec key granted to {literal(g.grantee)}, sealed: {literal(g.cid)}")
