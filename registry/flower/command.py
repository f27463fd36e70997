"""`flep flower run`: rounds through Flower's Deployment Engine on this machine (:mod:`registry.flower.launch`)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import typer
from rich.table import Table

from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, open_party
from registry.commands.round import (
    ACCOUNTANT_OPTION,
    CUSTODIANS_OPTION,
    DELTA_OPTION,
    DP_OPTION,
    DP_ROUNDS_OPTION,
    LOCAL_EPOCHS_OPTION,
    MAX_GRAD_NORM_OPTION,
    MIN_PARTICIPANTS_OPTION,
    MODEL_OPTION,
    NOISE_MULTIPLIER_OPTION,
    PAILLIER_BITS_OPTION,
    ROUND_SECONDS_OPTION,
    ROUNDS_OPTION,
    SAMPLES_OPTION,
    SEED_OPTION,
    TARGET_EPSILON_OPTION,
    THRESHOLD_OPTION,
    dp_request,
    print_run,
    run_json,
)
from registry.config import load_settings
from registry.devnet import dev_account
from registry.flower.launch import run_flower
from registry.roles.runner import RunConfig

app = typer.Typer(help="Run FLEP rounds on Flower (SuperLink + one SuperNode per analyst).", no_args_is_help=True)


@app.command("run")
def run(
    analysts: int = typer.Option(3, "--analysts", min=1, max=50, help="Analysts (one SuperNode each)."),
    rounds: int = ROUNDS_OPTION,
    min_participants: int = MIN_PARTICIPANTS_OPTION,
    model: str = MODEL_OPTION,
    paillier_bits: int = PAILLIER_BITS_OPTION,
    samples: int = SAMPLES_OPTION,
    local_epochs: int = LOCAL_EPOCHS_OPTION,
    round_seconds: int = ROUND_SECONDS_OPTION,
    seed: int = SEED_OPTION,
    dp: bool = DP_OPTION,
    target_epsilon: float = TARGET_EPSILON_OPTION,
    noise_multiplier: float = NOISE_MULTIPLIER_OPTION,
    max_grad_norm: float = MAX_GRAD_NORM_OPTION,
    delta: float = DELTA_OPTION,
    accountant: str = ACCOUNTANT_OPTION,
    dp_rounds: str = DP_ROUNDS_OPTION,
    custodians: int = CUSTODIANS_OPTION,
    threshold: int = THRESHOLD_OPTION,
    port: int = typer.Option(0, "--port", min=0, max=65535, help="SuperLink port on 127.0.0.1 (0: a free one)."),
    node_wait: int = typer.Option(120, "--node-wait-seconds", min=1,
                                  help="How long round 1 waits for every analyst's SuperNode."),
    json_out: bool = typer.Option(False, "--json", help="Print what `flep round run --json` prints, plus the "
                                  "SuperLink address, node errors and the connection check."),
) -> None:
    """Set up a federation on the current devnet, start a SuperLink, per analyst a worker holding its keystore
    and a SuperNode forwarding to it, the key holder agent (or the custodians), run the app with `flwr run`, and
    stop every process it started (also on failure). The DP and custody options are `flep round run`'s.

    \f
    Raises:
        ConfigError: If no devnet (chain, registry, IPFS node) is configured.
        RunError: If the DP options are inconsistent or the threshold is not within 1..custodians.
        typer.BadParameter: If DP options are given without ``--dp``.
        FlowerLaunchError: If Flower fails to start or the ServerApp stops before its last round.
    """
    request = dp_request(dp, target_epsilon, noise_multiplier, max_grad_norm, delta, accountant, dp_rounds)
    config = RunConfig(analysts=analysts, rounds=rounds, min_participants=min_participants, model=model,
                       paillier_bits=paillier_bits, samples_per_analyst=samples, local_epochs=local_epochs,
                       round_seconds=round_seconds, seed=seed, dp=request, custodians=custodians,
                       threshold=threshold)
    config.check()
    faucet = dev_account(0)
    operator, store = configured_registry(faucet)
    progress = (lambda line: None) if json_out else _print_line
    flower = run_flower(operator.address, operator, store, load_settings().home, faucet, config, port, node_wait,
                        progress)
    if json_out:
        emit_json({**run_json(flower.result), "superlink": flower.superlink, "node_errors": list(flower.node_errors),
                   "connection_samples": flower.connection_samples,
                   "outside_connections": list(flower.outside_connections)})
        return
    print_run(flower.result)
    for error in flower.node_errors:
        console.print(f"SuperNode: {literal(error)}")
    outside = ", ".join(flower.outside_connections) or "none"
    console.print(f"connections outside 127.0.0.1 in {flower.connection_samples} samples of every process: "
                  f"{literal(outside)}")


@app.command("analyst")
def analyst(
    keystore: Path = typer.Option(..., "--keystore", help="The analyst's keystore directory."),
    socket_path: Path = typer.Option(..., "--socket", help="The Unix socket to serve on; the SuperNode gets it "
                                     "as --node-config 'worker=\"PATH\"'."),
    federation: int = typer.Option(0, "--federation", min=0, help="The only federation to serve (0: any this "
                                   "account is an analyst of)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes for Paillier work."),
    json_out: bool = typer.Option(False, "--json", help="Print each request's outcome as one JSON line."),
) -> None:
    """Run the analyst beside a SuperNode until SIGTERM or Ctrl-C: the SuperNode's ClientApp forwards the
    server's roll call and each train instruction here; this process checks it against the chain, trains,
    submits and answers with the update's id. The passphrase (FLEP_PASSPHRASE or a prompt) stays here, never
    in the SuperNode.

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
        WorkerError: If another worker serves on the socket, or the path is taken by something else.
    """
    from registry.flower.analyst_worker import AnalystWorker, serve

    opened = open_party(keystore)
    registry, store = configured_registry(opened.account)
    worker = AnalystWorker(opened, registry, store, federation, workers)
    socket_path = socket_path.expanduser()
    stopping: list[bool] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))

    def report(request: dict, answer: dict) -> None:
        asked = next((v for v in request.values() if isinstance(v, dict)), {}) if len(request) == 1 else {}
        where = {"federation": asked.get("federation_id"), "round": asked.get("round")}
        line = {"party": "analyst", "account": opened.address, "time": round(time.time(), 3), **where, **answer}
        what = f"round {where['round']}" if "instruction" in request else "roll call"
        if json_out:
            print(json.dumps(line), flush=True)
        elif "reply" in answer:
            console.print(f"{what}: submitted update {answer['reply']['update_id']}")
        elif "ready" in answer:
            console.print(f"{what}: ready for federation {where['federation']}")
        else:
            console.print(f"[yellow]{what}: {literal(answer.get('refusal') or answer['error'])}[/]", highlight=False)

    def ready() -> None:
        if json_out:
            print(json.dumps({"party": "analyst", "account": opened.address, "action": "ready",
                              "socket": str(socket_path)}), flush=True)
        else:
            console.print(f"analyst {opened.address} serving on {literal(str(socket_path))}", highlight=False)

    serve(worker, socket_path, lambda: bool(stopping), report, ready)


@app.command("executor")
def executor(
    supernode: str = typer.Option(..., "--supernode", help="The runtime API of a SuperNode started with "
                                  "--isolation process (its --host:--port, e.g. 127.0.0.1:9094)."),
    json_out: bool = typer.Option(False, "--json", help="Print each task's outcome as one JSON line."),
) -> None:
    """Run the FLEP ClientApp for every message of a SuperNode, in this one process, until SIGTERM or Ctrl-C:
    Flower then starts no ClientApp process per message and never runs the app code its SuperLink ships.
    Holds no key and needs no FLEP setting (the analyst worker the SuperNode names does the checking).
    """
    from registry.flower.executor import serve_tasks

    def stop(*_) -> None:
        raise SystemExit(0)  # also out of a task waiting for the worker: the worker sees the hang-up

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)

    def report(line: dict) -> None:
        if json_out:
            print(json.dumps({"party": "executor", "time": round(time.time(), 3), **line}), flush=True)
        elif "error" in line:
            console.print(f"[yellow]{literal(line['error'])}[/]", highlight=False)
        else:
            console.print(f"{line['message_type']} message answered in {line['seconds']:.2f} s")

    serve_tasks(supernode, lambda: False, report)


def _print_line(line: dict) -> None:
    text = line.get("error") or line.get("action") or ""
    where = f"round {line['round']} " if line.get("round") else ""
    console.print(f"{literal(str(line.get('party', '')))}: {where}{literal(str(text))}")


def bench(
    analysts: int = typer.Option(5, "--analysts", min=1, max=50, help="Analysts (one SuperNode each)."),
    rounds: int = typer.Option(2, "--rounds", min=1, help="Rounds of each run."),
    model: str = typer.Option("cnn", "--model", help="Model of the training plan."),
    paillier_bits: int = typer.Option(2048, "--paillier-bits", help="Paillier modulus size."),
    local_epochs: int = typer.Option(1, "--local-epochs", min=1),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """The same rounds natively (`flep round run`) and through Flower (`flep flower run`), one after the other
    on the current devnet with the same seeds: wall time per round, the overhead ratio, final accuracies.

    \f
    Raises:
        ConfigError: If no devnet (chain, registry, IPFS node) is configured.
    """
    from registry.flower.bench import measure_flower

    faucet = dev_account(0)
    operator, store = configured_registry(faucet)
    config = RunConfig(analysts=analysts, rounds=rounds, model=model, paillier_bits=paillier_bits,
                       local_epochs=local_epochs, seed=seed)

    def progress(line: dict) -> None:
        if not json_out and line.get("party") in ("bench", "runner"):
            _print_line(line)

    result = measure_flower(operator.address, operator, store, load_settings().home, faucet, config, progress)
    if json_out:
        emit_json(result.to_dict())
        return
    table = Table(title=f"{analysts} analysts, {literal(model)}, {paillier_bits}-bit Paillier: wall seconds per round")
    for column in ("round", "native", "flower", "flower / native"):
        table.add_column(column, justify="right")
    for number, (native, flower) in enumerate(zip(result.native_seconds, result.flower_seconds, strict=True), 1):
        table.add_row(str(number), f"{native:.2f}", f"{flower:.2f}", f"{flower / native:.2f}x")
    table.add_row("mean", f"{sum(result.native_seconds) / rounds:.2f}", f"{sum(result.flower_seconds) / rounds:.2f}",
                  f"{result.ratio:.2f}x", style="bold")
    console.print(table)
    console.print(f"final accuracy: native {result.native_accuracy:.4f}, flower {result.flower_accuracy:.4f} "
                  f"({result.accuracy_points:+.2f} points)")
    last = result.flower_phases[-1]
    console.print("last Flower round by phase: " + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(last.items())))
