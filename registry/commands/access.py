"""`flep access grant | revoke | list`: per-federation roles and key grants."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.chain import ZERO_ADDRESS, KeyKind, events, role_by_name, role_name
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party

app = typer.Typer(help="Grant and revoke roles and keys; list who holds what.", no_args_is_help=True)
_KEYS = {"codec": KeyKind.CODEC_KEY, "model": KeyKind.MODEL_KEY, "paillier": KeyKind.PAILLIER_PRIVATE_KEY}


@app.command()
def grant(
    keystore: Path = typer.Option(..., "--keystore", help="The federation admin's keystore."),
    role: str = typer.Option(..., "--role", help="admin | data-owner | analyst | aggregator"),
    account: str = typer.Option(..., "--account", help="Who gets the role."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Grant a per-federation role (idempotent: granting a held role changes nothing).

    \f
    Raises:
        typer.BadParameter: If the role is unknown.
    """
    _change(keystore, role, account, federation, json_out, grant=True)


@app.command()
def revoke(
    keystore: Path = typer.Option(..., "--keystore", help="The federation admin's (or the key owner's) keystore."),
    account: str = typer.Option(..., "--account", help="Whose role or key to revoke."),
    role: Optional[str] = typer.Option(None, "--role", help="Revoke this role."),
    key: Optional[str] = typer.Option(None, "--key", help="Revoke this key grant forever: codec | model | paillier."),
    key_owner: str = typer.Option(ZERO_ADDRESS, "--key-owner", help="Owner of a per-data-owner codec key."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a role or a key grant. A revoked key grant is never granted again; revoking a Paillier key
    holder retires its key epoch (rotate before the next round). Revocations take effect from the next round.

    \f
    Raises:
        typer.BadParameter: If neither or both of --role and --key are given, or either is unknown.
    """
    if (role is None) == (key is None):
        raise typer.BadParameter("give exactly one of --role or --key")
    if role is not None:
        _change(keystore, role, account, federation, json_out, grant=False)
        return
    if key not in _KEYS:
        raise typer.BadParameter(f"unknown key {key!r}; use one of {', '.join(_KEYS)}")
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    fid = federation_context(registry, store, federation).federation_id
    tx = registry.revoke_key(fid, _KEYS[key], account, key_owner=key_owner)
    _report({"federation": fid, "revoked": f"{key} key", "account": account, "changed": tx.value,
             "transaction_hash": tx.transaction_hash, "gas_used": tx.gas_used}, json_out)


@app.command("list")
def list_access(
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who holds which role and which live key grant now (history: `flep audit access`)."""
    registry, store = configured_registry()
    fid = federation_context(registry, store, federation).federation_id
    roles = sorted({(g.role, g.account) for g in registry.events(events.FederationRoleGranted, federation_id=fid)})
    rows = [{"account": a, "holds": f"role:{role_name(r).lower()}"} for r, a in roles if registry.has_role(fid, r, a)]
    grants = {(g.account, g.key_owner, g.kind) for g in registry.events(events.KeyGranted, federation_id=fid)}
    for account, owner, kind in sorted(grants):
        record = registry.key_grant(fid, kind, account, owner)
        if record.active:
            rows.append({"account": account, "holds": f"{kind.name.lower()}"
                         + (f" of {owner}" if owner != ZERO_ADDRESS else "")
                         + (f" (epoch {record.key_epoch})" if record.key_epoch else "")})
    if json_out:
        emit_json({"federation": fid, "access": rows})
        return
    table = Table(title=f"access in federation {fid}")
    table.add_column("account")
    table.add_column("holds", overflow="fold")
    for row in rows:
        table.add_row(literal(row["account"]), literal(row["holds"]))
    console.print(table)


def _change(keystore: Path, role: str, account: str, federation: int | None, json_out: bool, grant: bool) -> None:
    try:
        role_id = role_by_name(role)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    fid = federation_context(registry, store, federation).federation_id
    tx = (registry.grant_role if grant else registry.revoke_role)(fid, role_id, account)
    _report({"federation": fid, "granted" if grant else "revoked": f"role {role_name(role_id).lower()}",
             "account": account, "changed": tx.value, "transaction_hash": tx.transaction_hash,
             "gas_used": tx.gas_used}, json_out)


def _report(data: dict, json_out: bool) -> None:
    if json_out:
        emit_json(data)
        return
    what = data.get("granted") or data.get("revoked")
    verb = "granted" if "granted" in data else "revoked"
    state = "" if data["changed"] else " (nothing changed)"
    console.print(f"{verb} {literal(what)} to {literal(data['account'])} in federation {data['federation']}"
                  f"{state}; gas {data['gas_used']:,}")
