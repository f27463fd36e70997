"""`flep round run | open | status`: run rounds with every party its own process, or open and inspect one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from registry.chain import events
from registry.commands.output import console, emit_json, literal
from registry.commands.round_display import RunDisplay
from registry.config import ConfigError, load_settings
from registry.commands.party import configured_registry, federation_context, open_party
from registry.devnet import dev_account
from registry.roles.admin import Admin
from registry.roles.runner import DpRequest, RunConfig, RunResult, run_rounds

app = typer.Typer(help="Run training rounds.", no_args_is_help=True)

# What a run is, shared by `flep round run` and `flep flower run` (same options, same defaults).
ROUNDS_OPTION = typer.Option(1, "--rounds", min=1, help="Rounds to run.")
MIN_PARTICIPANTS_OPTION = typer.Option(0, "--min-participants", min=0, help="Default: a majority.")
MODEL_OPTION = typer.Option("cnn", "--model", help="Model of the training plan.")
PAILLIER_BITS_OPTION = typer.Option(2048, "--paillier-bits", help="Paillier modulus size.")
SAMPLES_OPTION = typer.Option(0, "--samples-per-analyst", min=0, help="Digits per analyst (0: equal share).")
LOCAL_EPOCHS_OPTION = typer.Option(1, "--local-epochs", min=1)
ROUND_SECONDS_OPTION = typer.Option(600, "--round-seconds", min=10, help="Each round's deadline.")
SEED_OPTION = typer.Option(0, "--seed")
CUSTODIANS_OPTION = typer.Option(0, "--custodians", min=0, max=64, help="Share the Paillier key among N custodians "
                                 "(threshold custody) instead of one key holder.")
THRESHOLD_OPTION = typer.Option(0, "--threshold", min=0, help="With --custodians: how many decrypt a round.")
DP_OPTION = typer.Option(False, "--dp", help="Analysts train with Opacus DP-SGD (in --dp-rounds, default all).")
TARGET_EPSILON_OPTION = typer.Option(None, "--target-epsilon", help="With --dp: size sigma so one DP round of the "
                                     "smallest dataset spends this epsilon.")
NOISE_MULTIPLIER_OPTION = typer.Option(None, "--noise-multiplier", help="With --dp: the noise multiplier sigma.")
MAX_GRAD_NORM_OPTION = typer.Option(1.0, "--max-grad-norm", help="With --dp: per-sample clipping bound C.")
DELTA_OPTION = typer.Option(1e-5, "--delta", help="With --dp: delta.")
ACCOUNTANT_OPTION = typer.Option("rdp", "--accountant", help="With --dp: privacy accountant, rdp or prv.")
DP_ROUNDS_OPTION = typer.Option("", "--dp-rounds", help="With --dp: rounds trained with DP, e.g. 2,3 (default: all).")


@app.command("run")
def run(
    analysts: int = typer.Option(3, "--analysts", min=1, max=50, help="Analysts (one agent process each)."),
    rounds: int = ROUNDS_OPTION,
    min_participants: int = MIN_PARTICIPANTS_OPTION,
    model: str = MODEL_OPTION,
    paillier_bits: int = PAILLIER_BITS_OPTION,
    samples: int = SAMPLES_OPTION,
    local_epochs: int = LOCAL_EPOCHS_OPTION,
    round_seconds: int = ROUND_SECONDS_OPTION,
    seed: int = SEED_OPTION,
    revoke_after: int = typer.Option(0, "--revoke-after-round", min=0,
                                     help="After this round, revoke the last analyst and rotate the key epoch."),
    dp: bool = DP_OPTION,
    target_epsilon: float = TARGET_EPSILON_OPTION,
    noise_multiplier: float = NOISE_MULTIPLIER_OPTION,
    max_grad_norm: float = MAX_GRAD_NORM_OPTION,
    delta: float = DELTA_OPTION,
    accountant: str = ACCOUNTANT_OPTION,
    dp_rounds: str = DP_ROUNDS_OPTION,
    custodians: int = CUSTODIANS_OPTION,
    threshold: int = THRESHOLD_OPTION,
    json_out: bool = typer.Option(False, "--json", help="Print per-round accuracy, DP, gas, phases and CIDs as JSON."),
) -> None:
    """Create keystores and a federation on the current devnet, start every agent as its own OS process, run
    the rounds, and stop every process it started (also on failure).

    With ``--custodians N --threshold T`` the admin deals the key to N custodian agents in a key ceremony, and
    each round is decrypted from T custodians' verified partial decryptions (the custodians used are reported).

    With ``--dp`` each DP round's record (epsilon, delta, sigma, C) is read back from the chain; the cumulative
    epsilon is the plain sum of the rounds' recorded epsilons (basic composition, an upper bound).

    Raises:
        ConfigError: If no devnet (chain, registry, IPFS node) is configured.
        RunError: If the DP options are inconsistent (both or neither of sigma and target epsilon, a DP round
            outside the run), or the threshold is not within 1..custodians.
        typer.BadParameter: If DP options are given without ``--dp`` or ``--dp-rounds`` is not a list of rounds.
    """
    request = dp_request(dp, target_epsilon, noise_multiplier, max_grad_norm, delta, accountant, dp_rounds)
    if request is not None:
        request.check(rounds)
    faucet = dev_account(0)
    operator, store = configured_registry(faucet)
    config = RunConfig(analysts=analysts, rounds=rounds, min_participants=min_participants, model=model,
                       paillier_bits=paillier_bits, samples_per_analyst=samples, local_epochs=local_epochs,
                       round_seconds=round_seconds, seed=seed, revoke_after_round=revoke_after,
                       dp=request, custodians=custodians, threshold=threshold)
    config.check()
    home = load_settings().home
    if json_out:
        result = run_rounds(operator.address, operator, store, home, faucet, config)
    else:
        with RunDisplay(rounds) as display:
            result = run_rounds(operator.address, operator, store, home, faucet, config, display.update)
    if json_out:
        emit_json(run_json(result))
        return
    print_run(result)


def run_json(result: RunResult) -> dict[str, object]:
    """What ``--json`` prints for a run: per-round accuracy, DP, gas, phases and CIDs."""
    return {"registry": result.registry_address, "federation": result.federation_id,
            "directory": result.directory, "rounds": [asdict(r) for r in result.rounds],
            "dp": _plan_dp_json(result),
            "revoked": result.revoked, "revoked_reads_latest_model": result.revoked_reads_latest_model,
            "exited": result.exited}


def print_run(result: RunResult) -> None:
    """A run's rounds as a table, then what the table cannot show (DP, revocation, dropouts, custodians)."""
    table = Table(title=f"federation {result.federation_id}: {len(result.rounds)} round(s)")
    for column in ("round", "status", "version", "accuracy", "epsilon", "cum. epsilon", "included", "excluded",
                   "gas", "seconds", "model CID"):
        table.add_column(column)
    for r in result.rounds:
        accuracy = "-" if r.accuracy is None else f"{r.accuracy:.3f}"
        epsilon = "-" if r.dp is None else f"{r.dp['epsilon']:.3f}"
        table.add_row(str(r.round), r.status, str(r.model_version), accuracy, epsilon, f"{r.cumulative_epsilon:.3f}",
                      str(r.included), str(r.excluded), f"{r.gas:,}", f"{r.seconds:.1f}", literal(r.model_cid))
    console.print(table)
    if result.dp is not None:
        rounds = ", ".join(map(str, result.dp.rounds)) or "all"
        console.print(f"DP in rounds {rounds}: sigma {result.dp.noise_multiplier:g}, C {result.dp.clip_norm:g}, "
                      f"delta {result.dp.delta:g} ({result.dp.accountant}); cum. epsilon is the plain sum of the "
                      "rounds' recorded epsilons (basic composition, an upper bound)")
    if result.revoked:
        console.print(f"revoked {literal(result.revoked)} reading the latest model: "
                      f"{literal(result.revoked_reads_latest_model)}")
    for r in result.rounds:
        if r.missing:
            console.print(f"round {r.round}: no update from {literal(', '.join(r.missing))}")
    for r in result.rounds:
        if r.custodians:
            console.print(f"round {r.round}: decrypted from the partials of {literal(', '.join(r.custodians))}")
    if result.exited:
        exits = ", ".join(f"{name} (code {code})" for name, code in sorted(result.exited.items()))
        console.print(f"agent processes that exited during the run: {literal(exits)}")
    console.print(f"keystores and agent logs: {literal(result.directory)}")


def dp_request(dp: bool, target_epsilon: float | None, noise_multiplier: float | None, max_grad_norm: float,
               delta: float, accountant: str, dp_rounds: str) -> DpRequest | None:
    """The ``--dp`` options as a :class:`DpRequest` (``None`` without ``--dp``).

    Raises:
        typer.BadParameter: If DP options come without ``--dp``, or ``--dp-rounds`` is not a list of integers.
    """
    if not dp:
        if target_epsilon is not None or noise_multiplier is not None or dp_rounds:
            raise typer.BadParameter("--target-epsilon, --noise-multiplier and --dp-rounds need --dp")
        return None
    try:
        rounds = tuple(int(r) for r in dp_rounds.split(",") if r.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"--dp-rounds takes round numbers separated by commas, e.g. 2,3; got "
                                 f"{dp_rounds!r}") from exc
    return DpRequest(target_epsilon, noise_multiplier, max_grad_norm, delta, accountant, rounds)


def _plan_dp_json(result: RunResult) -> dict[str, object] | None:
    """The plan's DP section and how the rounds' cumulative epsilon is composed."""
    if result.dp is None:
        return None
    return {**asdict(result.dp), "cumulative": "sum of the rounds' recorded epsilon and delta (basic composition, "
                                               "an upper bound)"}


@app.command("open")
def open_round(
    keystore: Path = typer.Option(..., "--keystore", help="The federation admin's keystore."),
    seconds: int = typer.Option(600, "--deadline-seconds", min=10, help="Updates are accepted this long."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Open the federation's next round under its current key epoch (caller: the admin).

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
    """
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    context = federation_context(registry, store, federation)
    fid = context.federation_id
    opened = Admin(context).open_round(seconds)
    if json_out:
        emit_json({"federation": fid, "round": opened.value, "deadline_seconds": seconds,
                   "transaction_hash": opened.transaction_hash, "gas_used": opened.gas_used})
        return
    console.print(f"round {opened.value} of federation {fid} is open for {seconds} s (gas {opened.gas_used:,})")


@app.command("status")
def status(
    round_: Optional[int] = typer.Option(None, "--round", help="Round number (default: the latest)."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A round's state: status, deadline, key epoch, its updates (analyst, weight) and exclusions.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured, or the federation has no round yet.
    """
    registry, store = configured_registry()
    context = federation_context(registry, store, federation)
    fid = context.federation_id
    number = round_ or registry.federation(fid).round_count
    if not number:
        raise ConfigError(f"federation {fid} has no round yet: `flep round open`")
    stored = registry.round(fid, number)
    excluded = {e.update_artifact_id: e.reason.name.lower()
                for e in registry.events(events.UpdateExcluded, federation_id=fid, round=number)}
    updates = [{"artifact_id": u.artifact_id, "analyst": u.analyst, "weight": u.weight,
                "excluded": excluded.get(u.artifact_id)} for u in context.round_updates(number)]
    data = {"federation": fid, "round": number, "status": stored.status.name.lower(), "deadline": stored.deadline,
            "key_epoch": stored.key_epoch, "update_count": stored.update_count,
            "included_count": stored.included_count, "aggregate_artifact": stored.aggregate_artifact,
            "disputed": stored.disputed, "model_version": stored.model_version,
            "weights_total": stored.weights_total, "updates": updates}
    if json_out:
        emit_json(data)
        return
    console.print(f"round {number} of federation {fid}: {data['status']}"
                  f"{' (disputed)' if stored.disputed else ''}, key epoch {stored.key_epoch}, "
                  f"{stored.update_count} update(s), model version {stored.model_version or '-'}")
    for update in updates:
        note = f" excluded: {update['excluded']}" if update["excluded"] else ""
        console.print(f"  update #{update['artifact_id']} of {literal(update['analyst'])}, weight "
                      f"{update['weight']}{literal(note)}")
