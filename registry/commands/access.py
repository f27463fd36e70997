"""`flep access grant | revoke | list`: per-federation roles and key grants."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.chain import ZERO_ADDRESS, KeyKind, Role, events, role_by_name, role_name
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.roles.admin import Admin
from registry.roles.custody import hand_over, record_hand_over

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


@app.command("hand-over")
def hand_over_custody(
    keystore: Path = typer.Option(..., "--keystore", help="The current key holder's keystore."),
    successor: str = typer.Option(..., "--to", help="The new key holder (its encryption key registered)."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Seal the current epoch's Paillier key for a successor key holder (and grant it the epoch's model key);
    the admin then records it with `flep access record-hand-over`.

    \f
    Raises:
        CustodyError: If the keystore is not the epoch's key holder or lacks its key.
        GrantError: If the successor registered no encryption key.
    """
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    context = federation_context(registry, store, federation)
    handed = hand_over(context, party, successor)
    data = {"federation": context.federation_id, "epoch": handed.epoch, "successor": successor, "sealed_cid": handed.sealed_key.cid,
            "sealed_sha256": handed.sealed_key.sha256,
            "model_key_granted": handed.model_key_grant is not None}
    if json_out:
        emit_json(data)
        return
    console.print(f"epoch-{handed.epoch} Paillier key sealed for {literal(successor)}: CID "
                  f"{literal(handed.sealed_key.cid)}, sha256 {handed.sealed_key.sha256}"
                  + ("; model key granted" if data["model_key_granted"] else "")
                  + ". The admin records it with `flep access record-hand-over`.")


@app.command("record-hand-over")
def record_custody(
    keystore: Path = typer.Option(..., "--keystore", help="The federation admin's keystore."),
    successor: str = typer.Option(..., "--account", help="The new key holder."),
    cid: str = typer.Option(..., "--cid", help="CID of the sealed key (from `flep access hand-over`)."),
    sha256: str = typer.Option(..., "--sha256", help="Its sha256 (hex)."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a sealed Paillier key as the successor's grant of the current epoch, after checking the blob is on
    IPFS under that hash; the successor's key holder agent then takes custody.

    \f
    Raises:
        typer.BadParameter: If the hash is not 64 hex digits.
        StoreError: If the blob is not on IPFS under that CID and hash (nothing is recorded).
    """
    if len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256):
        raise typer.BadParameter("--sha256 must be 64 hex digits")
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    context = federation_context(registry, store, federation)
    tx = record_hand_over(context, successor, cid, sha256.lower())
    _report({"federation": context.federation_id, "granted": "paillier key", "account": successor,
             "changed": tx.value, "transaction_hash": tx.transaction_hash, "gas_used": tx.gas_used}, json_out)


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
    admin = Admin(federation_context(registry, store, federation))
    fid = admin.federation_id
    if grant:
        tx = admin.admit(role_id, account)
    elif role_id == Role.ANALYST:  # its model key goes too: no model key of a later epoch reaches it
        removal = admin.remove_analyst(account)
        tx = removal.role_revoked
    else:
        tx = registry.revoke_role(fid, role_id, account)
    data = {"federation": fid, "granted" if grant else "revoked": f"role {role_name(role_id).lower()}",
            "account": account, "changed": tx.value, "transaction_hash": tx.transaction_hash,
            "gas_used": tx.gas_used}
    if not grant and role_id == Role.ANALYST:
        data["model_key_revoked"] = removal.model_key_revoked is not None
        data["gas_used"] = removal.gas_used
    _report(data, json_out)


def _report(data: dict, json_out: bool) -> None:
    if json_out:
        emit_json(data)
        return
    what = data.get("granted") or data.get("revoked")
    verb = "granted" if "granted" in data else "revoked"
    state = "" if data["changed"] else " (nothing changed)"
    console.print(f"{verb} {literal(what)} to {literal(data['account'])} in federation {data['federation']}"
                  f"{state}; gas {data['gas_used']:,}")
