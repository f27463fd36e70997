"""`flep federation create | show`: create a federation (as the registry operator) and inspect one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.chain import CodecKeyPolicy, events, role_name
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.roles import PlanError, current_plan

app = typer.Typer(help="Create and inspect federations.", no_args_is_help=True)
_POLICIES = {"per-data-owner": CodecKeyPolicy.PER_DATA_OWNER, "federation-wide": CodecKeyPolicy.FEDERATION_WIDE}


@app.command()
def create(
    keystore: Path = typer.Option(..., "--keystore", help="Keystore of an account allowed to create federations."),
    min_participants: int = typer.Option(2, "--min-participants", min=1, help="Fewest updates a round includes."),
    admin: Optional[str] = typer.Option(None, "--admin", help="The federation admin (default: the creator)."),
    policy: str = typer.Option("per-data-owner", "--codec-key-policy", help="per-data-owner | federation-wide"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a federation; the caller needs the registry's FEDERATION_CREATOR role.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
        typer.BadParameter: If the codec key policy is unknown.
    """
    if policy not in _POLICIES:
        raise typer.BadParameter(f"unknown policy {policy!r}; use one of {', '.join(_POLICIES)}")
    party = open_party(keystore)
    registry, _ = configured_registry(party.account)
    created = registry.create_federation(admin or party.address, min_participants, _POLICIES[policy])
    if json_out:
        emit_json({"federation": created.value, "admin": admin or party.address, "min_participants": min_participants,
                   "codec_key_policy": policy, "transaction_hash": created.transaction_hash,
                   "gas_used": created.gas_used})
        return
    console.print(f"federation {created.value} created (admin {literal(admin or party.address)}, "
                  f"min {min_participants} updates per round; gas {created.gas_used:,})")


@app.command()
def show(
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A federation's record: key epoch, training plan, members by role, rounds and model versions.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
    """
    registry, store = configured_registry()
    context = federation_context(registry, store, federation)
    fid = context.federation_id
    stored = registry.federation(fid)
    epoch = registry.key_epoch(fid, stored.key_epoch) if stored.key_epoch else None
    try:
        plan = current_plan(context)
        plan_summary = {"model": plan.model, "num_values": plan.num_values, "local_epochs": plan.local_epochs}
    except PlanError as exc:
        plan_summary = {"missing": str(exc)}
    granted = registry.events(events.FederationRoleGranted, federation_id=fid)
    members: dict[str, list[str]] = {}
    for grant in sorted({(g.role, g.account) for g in granted}):
        if registry.has_role(fid, grant[0], grant[1]):
            members.setdefault(role_name(grant[0]).lower(), []).append(grant[1])
    data = {
        "federation": fid, "min_participants": stored.min_participants,
        "codec_key_policy": stored.codec_key_policy.name.lower(), "rounds": stored.round_count,
        "model_versions": stored.model_version_count, "key_epoch": stored.key_epoch,
        "public_key_artifact": stored.paillier_public_key_artifact,
        "encoding_digest": epoch.encoding_digest.hex() if epoch else None,
        "epoch_revoked": bool(epoch and epoch.revoked_at), "plan": plan_summary, "members": members,
    }
    if json_out:
        emit_json(data)
        return
    table = Table(title=f"federation {fid}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key in ("min_participants", "codec_key_policy", "rounds", "model_versions", "key_epoch",
                "public_key_artifact", "encoding_digest", "epoch_revoked"):
        table.add_row(key, literal(data[key]))
    table.add_row("plan", literal(", ".join(f"{k}={v}" for k, v in plan_summary.items())))
    for role, accounts in members.items():
        table.add_row(f"{role} ({len(accounts)})", literal("\n".join(accounts)))
    console.print(table)

