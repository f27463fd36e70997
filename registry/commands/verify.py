"""`flep verify ARTIFACT_ID | --round N | --model V`: re-verify against the chain and IPFS; exit 1 on mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.config import ConfigError
from registry.roles import Auditor, Verification, member_model_key


def verify(
    artifact_id: Optional[int] = typer.Argument(None, help="Verify this artifact (content against the chain)."),
    round_: Optional[int] = typer.Option(None, "--round", help="Verify this round of the federation."),
    model: Optional[int] = typer.Option(None, "--model", help="Verify this model version and its lineage."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    keystore: Optional[Path] = typer.Option(
        None, "--keystore", help="A member's keystore: under threshold custody, re-check every partial "
        "decryption's proof and the combination with its model key."),
    json_out: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Re-fetch, re-hash and recompute what the chain records; exit 1 naming every mismatch.

    A round's check covers every artifact's content, each exclusion (the excluded update must really fail the
    aggregator's checks), each inclusion, the aggregate recomputed from the included updates, the weights and
    the model's lineage; a model version covers its rounds back to version 1. Under threshold custody it
    checks the partial decryptions against the chain, and with --keystore (a member's, since partials are
    sealed under the model key) re-checks every proof and that the model is the combination's.

    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, or not exactly one target is given.
    """
    if sum(x is not None for x in (artifact_id, round_, model)) != 1:
        raise ConfigError("give exactly one of ARTIFACT_ID, --round N or --model V")
    registry, store = configured_registry()
    if artifact_id is not None:
        federation = registry.artifact(artifact_id).federation_id
    context = federation_context(registry, store, federation)
    keys = member_model_key(context, open_party(keystore)) if keystore is not None else None
    auditor = Auditor(context, model_key_for=keys)
    if artifact_id is not None:
        result = auditor.verify_artifact(artifact_id)
    elif round_ is not None:
        result = auditor.verify_round(round_)
    else:
        result = auditor.verify_model(model)
    _report(result, federation, json_out)
    if not result.ok:
        raise typer.Exit(1)


def _report(result: Verification, federation: int, json_out: bool) -> None:
    if json_out:
        emit_json({"target": result.target, "federation": federation, "ok": result.ok,
                   "checks": [{"subject": c.subject, "check": c.name, "ok": c.ok, "detail": c.detail}
                              for c in result.checks]})
        return
    table = Table(title=f"verify {literal(result.target)} of federation {federation}")
    for column in ("subject", "check", "result", "detail"):
        table.add_column(column, overflow="fold")
    for check in result.checks:
        mark = "[green]ok[/green]" if check.ok else "[red]MISMATCH[/red]"
        table.add_row(literal(check.subject), literal(check.name), mark, literal(check.detail))
    console.print(table)
    verdict = "[green]verified[/green]" if result.ok else f"[red]{len(result.failures)} mismatch(es)[/red]"
    console.print(f"{literal(result.target)}: {verdict} ({len(result.checks)} checks)")
