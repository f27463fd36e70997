"""`flep audit model V | round N | access`: where a model came from, what happened in a round, who holds what.

Everything is read from the chain (events, views, block timestamps, receipts) through the auditor role; a
model's lineage also re-verifies every artifact against IPFS, as `flep verify --model` does.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from typing import Any, Optional

import typer
from eth_utils import is_address
from rich.table import Table

from registry.chain import DpParameters, events
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.config import ConfigError
from registry.roles import (
    AccessEntry,
    AuditedArtifact,
    Auditor,
    Check,
    Lineage,
    LineageRound,
    LineageUpdate,
    Recorded,
    TimelineEntry,
    member_model_key,
)

app = typer.Typer(help="Audit a federation: model lineage, round timeline, key and role access.",
                  no_args_is_help=True)

COMPOSITION = ("basic composition: the per-round ε and δ summed over the lineage's DP rounds, an upper bound "
               "(an accountant composing the same mechanisms gives a tighter one)")
_FEDERATION_HELP = "Federation id (default: the last one created)."
_POSITION_FIELDS = frozenset({"block_number", "transaction_hash", "log_index"})
_ROUND_DETAIL_SKIP = frozenset({"federation_id"})
# Shown in their own columns already.
_ACCESS_DETAIL_SKIP = frozenset({"federation_id", "account", "kind", "role", "grantor", "revoker", "sender"})


@app.command()
def model(
    version: int = typer.Argument(..., help="The model version to trace back to version 1."),
    federation: Optional[int] = typer.Option(None, "--federation", help=_FEDERATION_HELP),
    keystore: Optional[Path] = typer.Option(
        None, "--keystore", help="A member's keystore, to re-check threshold rounds' partial decryptions."),
    json_out: bool = typer.Option(False, "--json", help="Print the lineage as JSON."),
) -> None:
    """The lineage of a model version: for each version back to 1 its round, key epoch, aggregator, key
    holder (or the custodians whose partial decryptions were combined), included and excluded updates,
    datasets, DP record and cumulative ε, every artifact re-verified; exit 1 if any artifact or check does not
    verify.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, or the registry has no federation.
        UnknownModelVersionError: If the version does not exist.
    """
    lineage = _auditor(federation, keystore).lineage(version)
    if json_out:
        emit_json(_lineage_json(lineage))
    else:
        _print_lineage(lineage)
    if not lineage.ok:
        raise typer.Exit(1)


@app.command("round")
def round_(
    number: int = typer.Argument(..., metavar="N", help="The round."),
    federation: Optional[int] = typer.Option(None, "--federation", help=_FEDERATION_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the timeline as JSON."),
) -> None:
    """A round's events in chain order, with block times, transactions and gas.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, or the registry has no federation.
        UnknownRoundError: If the round does not exist.
    """
    auditor = _auditor(federation)
    timeline = auditor.timeline(number)
    fid = auditor.context.federation_id
    if json_out:
        emit_json({"federation": fid, "round": number, "events": [_timeline_json(e) for e in timeline]})
        return
    table = Table(title=f"round {number} of federation {fid}: {len(timeline)} events")
    for column in ("block.log", "time", "event", "details", "transaction", "gas"):
        table.add_column(column, overflow="fold")
    for entry in timeline:
        record = entry.record
        table.add_row(f"{record.block_number}.{record.log_index}", _time(entry.block_time), record.event_name,
                      _details(record, _ROUND_DETAIL_SKIP), literal(record.transaction_hash),
                      "?" if entry.gas_used is None else str(entry.gas_used))
    console.print(table)
    console.print("gas is the whole transaction's; events of one transaction share it")


@app.command()
def access(
    account: Optional[str] = typer.Option(None, "--account", help="Only this account."),
    federation: Optional[int] = typer.Option(None, "--federation", help=_FEDERATION_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """Key grants and revocations, role grants and revocations, and encryption key registrations, per account
    and kind, in chain order.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, the registry has no federation, or
            --account is not an address.
    """
    if account is not None and not is_address(account):
        raise ConfigError(f"--account {account!r} is not an address (0x and 40 hex digits)")
    auditor = _auditor(federation)
    entries = auditor.access(account)
    fid = auditor.context.federation_id
    if json_out:
        emit_json({"federation": fid, "account": account, "entries": [_access_json(e) for e in entries]})
        return
    table = Table(title=f"access in federation {fid}" + (f" of {literal(account)}" if account else ""))
    for column in ("account", "kind", "action", "by", "block", "time", "details"):
        table.add_column(column, overflow="fold")
    previous = None
    for entry in entries:
        if previous is not None and entry.account != previous:
            table.add_section()
        table.add_row(literal(entry.account) if entry.account != previous else "", literal(entry.kind),
                      entry.action, literal(entry.actor), str(entry.record.block_number), _time(entry.block_time),
                      _details(entry.record, _ACCESS_DETAIL_SKIP))
        previous = entry.account
    console.print(table)


# ---------------------------------------------------------------------- setup


def _auditor(federation: int | None, keystore: Path | None = None) -> Auditor:
    """An auditor of ``federation`` (default: the last one created) on the configured chain and IPFS node,
    with the model keys of ``keystore`` (a member's) when given.

    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, or the registry has no federation.
    """
    registry, store = configured_registry()
    context = federation_context(registry, store, federation)
    keys = member_model_key(context, open_party(keystore)) if keystore is not None else None
    return Auditor(context, model_key_for=keys)


# ---------------------------------------------------------------------- JSON


def _value(value: Any) -> Any:
    """An event argument as JSON: hex for bytes, names for enums, the float values of a DP record."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, IntEnum):
        return value.name.lower()
    if isinstance(value, DpParameters):
        return _dp_json(value)
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def _args(record: events.EventRecord) -> dict[str, Any]:
    return {f.name: _value(getattr(record, f.name)) for f in fields(record) if f.name not in _POSITION_FIELDS}


def _dp_json(dp: DpParameters) -> dict[str, Any]:
    return {"enabled": dp.enabled, "epsilon": dp.epsilon, "delta": dp.delta, "noise_multiplier": dp.noise_multiplier,
            "clip_norm": dp.clip_norm, "accountant": dp.accountant}


def _recorded_json(recorded: Recorded) -> dict[str, Any]:
    return {"block": recorded.block_number, "block_time": recorded.block_time,
            "transaction_hash": recorded.transaction_hash}


def _check_json(check: Check) -> dict[str, Any]:
    return {"subject": check.subject, "check": check.name, "ok": check.ok, "detail": check.detail}


def _artifact_json(artifact: AuditedArtifact) -> dict[str, Any]:
    return {"artifact_id": artifact.artifact_id, "kind": artifact.kind.name.lower(), "cid": artifact.cid,
            "size": artifact.size, "recorded": _recorded_json(artifact.recorded), "ok": artifact.ok,
            "checks": [_check_json(c) for c in artifact.checks]}


def _update_json(update: LineageUpdate) -> dict[str, Any]:
    entry = {**_artifact_json(update.artifact), "analyst": update.analyst, "weight": update.weight,
             "parents": list(update.parents)}
    if update.exclusion:
        entry["reason"] = update.exclusion.name.lower()
    return entry


def _round_json(r: LineageRound) -> dict[str, Any]:
    return {
        "version": r.version, "parent_version": r.parent_version, "round": r.round, "key_epoch": r.key_epoch,
        "aggregator": r.aggregator, "key_holder": r.key_holder, "ok": r.ok,
        "opened": _recorded_json(r.opened), "aggregated": _recorded_json(r.aggregated),
        "finalized": _recorded_json(r.finalized),
        "included": [_update_json(u) for u in r.included], "excluded": [_update_json(u) for u in r.excluded],
        "datasets": [{**_artifact_json(d.artifact), "owner": d.owner, "sample_count": d.sample_count}
                     for d in r.datasets],
        "aggregate": _artifact_json(r.aggregate), "global_model": _artifact_json(r.global_model),
        "metrics": _artifact_json(r.metrics),
        "dp": _dp_json(r.dp), "cumulative_epsilon": r.cumulative_epsilon, "cumulative_delta": r.cumulative_delta,
        "round_checks": [_check_json(c) for c in r.round_checks],
        "threshold": r.threshold, "custodians": list(r.custodians),
        "partials": [{**_artifact_json(p.artifact), "index": p.index, "custodian": p.custodian, "used": p.used}
                     for p in r.partials],
    }


def _lineage_json(lineage: Lineage) -> dict[str, Any]:
    return {
        "federation": lineage.federation_id, "version": lineage.version, "ok": lineage.ok,
        "dp_composition": {"epsilon": lineage.cumulative_epsilon, "delta": lineage.cumulative_delta,
                           "method": COMPOSITION, "rounds_without_dp": list(lineage.rounds_without_dp)},
        "rounds": [_round_json(r) for r in lineage.rounds],
    }


def _timeline_json(entry: TimelineEntry) -> dict[str, Any]:
    record = entry.record
    return {"event": record.event_name, "block": record.block_number, "log_index": record.log_index,
            "block_time": entry.block_time, "transaction_hash": record.transaction_hash,
            "gas_used": entry.gas_used, "args": _args(record)}


def _access_json(entry: AccessEntry) -> dict[str, Any]:
    record = entry.record
    return {"account": entry.account, "kind": entry.kind, "action": entry.action, "actor": entry.actor,
            "event": record.event_name, "block": record.block_number, "log_index": record.log_index,
            "block_time": entry.block_time, "transaction_hash": record.transaction_hash, "args": _args(record)}


# ---------------------------------------------------------------------- text


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _details(record: events.EventRecord, skip: frozenset[str]) -> str:
    """The event's arguments as ``name=value`` pairs, printed literally."""
    pairs = []
    for f in fields(record):
        if f.name in skip or f.name in _POSITION_FIELDS:
            continue
        value = getattr(record, f.name)
        pairs.append(f"{f.name}={_dp_text(value) if isinstance(value, DpParameters) else _value(value)}")
    return literal(" ".join(pairs))


def _dp_text(dp: DpParameters) -> str:
    if not dp.enabled:
        return "none"
    return f"ε {dp.epsilon:g}, δ {dp.delta:g}, σ {dp.noise_multiplier:g}, C {dp.clip_norm:g} ({dp.accountant})"


def _mark(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[red]MISMATCH[/red]"


def _where(recorded: Recorded) -> str:
    return f"block {recorded.block_number} at {_time(recorded.block_time)}, tx {literal(recorded.transaction_hash)}"


def _print_lineage(lineage: Lineage) -> None:
    verdict = "[green]every artifact verified[/green]" if lineage.ok else "[red]MISMATCH found[/red]"
    console.print(f"model v{lineage.version} of federation {lineage.federation_id}: {len(lineage.rounds)} "
                  f"round(s) back to v1, {verdict}")
    for r in lineage.rounds:
        _print_round(r)
    without = lineage.rounds_without_dp
    console.print(f"cumulative ε = {lineage.cumulative_epsilon:g}, δ = {lineage.cumulative_delta:g} "
                  f"({COMPOSITION})")
    if without:
        console.print(f"[yellow]round(s) {', '.join(map(str, without))} recorded no DP[/yellow]: their data has "
                      "no DP guarantee, whatever the sum says")


def _print_round(r: LineageRound) -> None:
    parent = f" from v{r.parent_version}" if r.parent_version else ""
    console.print(f"\n[bold]v{r.version}[/bold]{parent} <- round {r.round} (key epoch {r.key_epoch})")
    console.print(f"  opened      {_where(r.opened)}")
    console.print(f"  aggregated  by {literal(r.aggregator)}, {_where(r.aggregated)}")
    if r.threshold:
        console.print(f"  finalized   by custodian {literal(r.key_holder)}, {_where(r.finalized)}")
        console.print(f"  decrypted   from the partials of {literal(', '.join(r.custodians) or '(unknown)')} "
                      f"({r.threshold} needed, {len(r.partials)} registered)")
    else:
        console.print(f"  finalized   by key holder {literal(r.key_holder)}, {_where(r.finalized)}")
    console.print(f"  DP          {literal(_dp_text(r.dp))}; cumulative ε {r.cumulative_epsilon:g}, "
                  f"δ {r.cumulative_delta:g}")
    table = Table()
    for column in ("artifact", "kind", "party", "weight / samples", "role", "verified", "CID", "block"):
        table.add_column(column, overflow="fold")
    for update in r.included + r.excluded:
        role = f"excluded: {update.exclusion.name.lower()}" if update.exclusion else "included"
        _artifact_row(table, update.artifact, update.analyst, str(update.weight), role)
    for dataset in r.datasets:
        _artifact_row(table, dataset.artifact, dataset.owner, str(dataset.sample_count), "dataset")
    for partial in r.partials:
        _artifact_row(table, partial.artifact, partial.custodian, "",
                      f"partial {partial.index}" + (" (used)" if partial.used else ""))
    for artifact in (r.aggregate, r.global_model, r.metrics):
        _artifact_row(table, artifact, "", "", "output")
    console.print(table)
    for artifact in r.artifacts:
        for check in artifact.checks:
            if not check.ok:
                console.print(f"  [red]MISMATCH[/red] {literal(check.subject)}, {literal(check.name)}: "
                              f"{literal(check.detail)}")
    for check in r.round_checks:
        console.print(f"  {_mark(check.ok)} {literal(check.subject)}, {literal(check.name)}: {literal(check.detail)}")


def _artifact_row(table: Table, artifact: AuditedArtifact, party: str, amount: str, role: str) -> None:
    table.add_row(f"#{artifact.artifact_id}", artifact.kind.name.lower(), literal(party), amount, literal(role),
                  _mark(artifact.ok), literal(artifact.cid), str(artifact.recorded.block_number))
