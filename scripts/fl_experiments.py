"""Regenerate the federated-learning tables and the accuracy-vs-round plot.

Reproduces the shape of two papers' experiments on data available offline:

* PRIVATE-AI (Kamalsha et al.), Table 3: local-only vs FedAvg vs centralized
  training for 4/8/16/32 clients, IID and Dirichlet non-IID, on the
  scikit-learn digits; plus the 10-client, 20-round goals (IID accuracy and
  wall time, non-IID gap) and FedAvg with DP-SGD at ε ≈ 1, 3, 8 (δ = 1e-5).
* Paillier-FL (Hatip et al.), Table 2: several model types trained by 20
  simulated IoT devices for 100 rounds on synthetic Gaussian sensor data.

Outputs under ``--out`` (default ``out/fl/``): ``results.json`` (rewritten
after every section, so a partial run leaves partial results), ``tables.md``
and ``accuracy_vs_round.png``.

Usage:
    .venv/bin/python scripts/fl_experiments.py [--out out/fl] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on CI or the devnet machines
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clients.fl import (  # noqa: E402
    ACCOUNTANT_LABELS,
    DPConfig,
    SimulationConfig,
    SimulationResult,
    TrainConfig,
    load_digits_data,
    make_clients,
    make_iiot_data,
    noise_for_epsilon,
    resolve_device,
    run_centralized,
    run_federated,
    run_local_only,
    split_train_test,
    standardize,
)

#: Local training of the non-private digits runs (CNN).
DIGITS_TRAIN = TrainConfig(local_epochs=2, batch_size=32, lr=0.05, optimizer="sgd", momentum=0.9)
#: Local training of the DP runs: one epoch of larger batches keeps the step count (and so σ) low.
DP_TRAIN = TrainConfig(local_epochs=1, batch_size=64, lr=0.5, optimizer="sgd", momentum=0.0)
#: Local training of the synthetic IIoT devices.
IIOT_TRAIN = TrainConfig(local_epochs=1, batch_size=32, lr=0.05, optimizer="sgd", momentum=0.9)
DELTA = 1e-5


def log(message: str) -> None:
    """Progress line with a timestamp (the script runs in the background)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def history_of(result: SimulationResult) -> list[float]:
    """Test accuracy after each round."""
    return [r.accuracy for r in result.history]


def table3(train, test, rounds: int, client_counts: list[int], seed: int, results: dict) -> None:
    """Local-only vs FedAvg vs centralized, IID and Dirichlet(0.5), for each client count."""
    base = SimulationConfig(model="cnn", rounds=rounds, train=DIGITS_TRAIN, seed=seed)
    central = run_centralized(train, test, base)
    log(f"centralized: {central.accuracy:.4f}")
    rows = []
    for partition in ("iid", "dirichlet"):
        for clients in client_counts:
            config = replace(base, num_clients=clients, partition=partition, alpha=0.5)
            federated = run_federated(train, test, config)
            local = run_local_only(train, test, config)
            rows.append(
                {
                    "partition": "IID" if partition == "iid" else "Dirichlet α=0.5",
                    "clients": clients,
                    "local_only": local.mean_accuracy,
                    "local_only_min": min(local.accuracies),
                    "fedavg": federated.final.accuracy,
                    "fedavg_f1": federated.final.f1,
                    "centralized": central.accuracy,
                    "seconds": federated.seconds,
                }
            )
            log(f"table3 {partition} K={clients}: local {local.mean_accuracy:.4f} fl {federated.final.accuracy:.4f}")
    results["table3"] = {"rows": rows, "centralized": central.to_dict(), "rounds": rounds, "model": "cnn"}


def goals(train, test, rounds: int, seed: int, results: dict) -> None:
    """The 10-client, 20-round runs the issue sets goals for (accuracy, non-IID gap, wall time)."""
    base = SimulationConfig(model="cnn", num_clients=10, rounds=rounds, train=DIGITS_TRAIN, seed=seed)
    iid = run_federated(train, test, base)
    log(f"goal iid: {iid.final.accuracy:.4f} in {iid.seconds:.1f}s on {iid.device}")
    non_iid_config = replace(base, partition="dirichlet", alpha=0.5)
    non_iid = run_federated(train, test, non_iid_config)
    local = run_local_only(train, test, non_iid_config)
    central = run_centralized(train, test, base)
    log(f"goal dirichlet: {non_iid.final.accuracy:.4f}, local-only {local.mean_accuracy:.4f}")
    results["goals"] = {
        "iid": iid.to_dict(),
        "dirichlet": non_iid.to_dict(),
        "dirichlet_local_only": local.mean_accuracy,
        "centralized": central.accuracy,
        "iid_minus_dirichlet": iid.final.accuracy - non_iid.final.accuracy,
        "centralized_minus_iid": central.accuracy - iid.final.accuracy,
        "wall_seconds_iid": iid.seconds,
        "device": iid.device,
        "torch_threads": torch.get_num_threads(),
    }


def dp_table(train, test, rounds: int, epsilons: list[float], models: list[str], seed: int, results: dict) -> None:
    """FedAvg + DP-SGD at target ε (δ = 1e-5), σ sized for the client that samples most."""
    rows = []
    for model in models:
        base = SimulationConfig(model=model, num_clients=10, rounds=rounds, train=DP_TRAIN, seed=seed)
        plain = run_federated(train, test, base)
        rows.append({"model": model, "target_epsilon": None, "epsilon": None, "noise_multiplier": 0.0,
                     "accuracy": plain.final.accuracy, "f1": plain.final.f1, "history": history_of(plain),
                     "seconds": plain.seconds})
        probe = make_clients(train, base)
        sample_rate = max(c.sample_rate for c in probe)
        steps = rounds * max(c.steps_per_round for c in probe)
        for target in epsilons:
            sigma = noise_for_epsilon(target, DELTA, sample_rate, steps, "rdp")
            result = run_federated(train, test, replace(base, dp=DPConfig(sigma, 1.0, DELTA, "rdp")))
            rows.append({"model": model, "target_epsilon": target, "epsilon": result.max_epsilon,
                         "noise_multiplier": sigma, "accuracy": result.final.accuracy, "f1": result.final.f1,
                         "history": history_of(result), "seconds": result.seconds})
            log(f"dp {model} eps≈{target}: sigma {sigma:.3f}, eps {result.max_epsilon:.3f}, "
                f"acc {result.final.accuracy:.4f}")
        results["dp"] = {"rows": rows, "accountant": ACCOUNTANT_LABELS["rdp"], "delta": DELTA, "max_grad_norm": 1.0,
                         "train": DP_TRAIN.__dict__, "rounds": rounds, "clients": 10}


def iiot_table(rounds: int, devices: int, models: list[str], seed: int, results: dict) -> None:
    """Model comparison on synthetic IIoT data: FedAvg over ``devices`` devices vs centralized."""
    train, test = standardize(*split_train_test(make_iiot_data(num_samples=6000, seed=seed), 0.2, seed))
    rows = []
    for model in models:
        config = SimulationConfig(model=model, num_clients=devices, rounds=rounds, train=IIOT_TRAIN, seed=seed)
        federated = run_federated(train, test, config)
        central = run_centralized(train, test, config)
        final = federated.final
        rows.append({"model": model, "accuracy": final.accuracy, "precision": final.precision, "recall": final.recall,
                     "f1": final.f1, "centralized_accuracy": central.accuracy, "seconds": federated.seconds})
        log(f"iiot {model}: fl {final.accuracy:.4f} central {central.accuracy:.4f} ({federated.seconds:.1f}s)")
    results["iiot"] = {"rows": rows, "devices": devices, "rounds": rounds, "samples": 6000, "features": 20,
                       "classes": list(train.class_names)}


def write_tables(results: dict, out: Path) -> None:
    """Markdown tables of whatever sections are done."""
    lines = ["# Federated learning experiments", ""]
    if "table3" in results:
        t3 = results["table3"]
        lines += [f"## Local-only vs FedAvg vs centralized (digits, CNN, {t3['rounds']} rounds × "
                  f"{DIGITS_TRAIN.local_epochs} local epochs; test accuracy)", "",
                  "| partition | clients | local-only (mean) | local-only (worst) | FedAvg | centralized |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in t3["rows"]:
            lines.append(f"| {r['partition']} | {r['clients']} | {r['local_only']:.4f} | {r['local_only_min']:.4f} | "
                         f"{r['fedavg']:.4f} | {r['centralized']:.4f} |")
        lines.append("")
    if "goals" in results:
        g = results["goals"]
        lines += [f"## 10 clients, {g['iid']['rounds']} rounds (digits, CNN, plaintext FedAvg)", "",
                  "| run | test accuracy |", "|---|---:|",
                  f"| FedAvg IID | {g['iid']['final_accuracy']:.4f} |",
                  f"| FedAvg Dirichlet α=0.5 | {g['dirichlet']['final_accuracy']:.4f} |",
                  f"| local-only Dirichlet α=0.5 (mean) | {g['dirichlet_local_only']:.4f} |",
                  f"| centralized | {g['centralized']:.4f} |", "",
                  f"IID − Dirichlet gap: {100 * g['iid_minus_dirichlet']:+.2f} points; centralized − IID: "
                  f"{100 * g['centralized_minus_iid']:+.2f} points. Wall time of the IID run: "
                  f"{g['wall_seconds_iid']:.1f} s on {g['device']} ({g['torch_threads']} torch thread(s)).", ""]
    if "dp" in results:
        d = results["dp"]
        lines += [f"## FedAvg + DP-SGD (digits, 10 clients IID, {d['rounds']} rounds, δ={d['delta']:g}, "
                  f"C={d['max_grad_norm']}; {d['accountant']})", "",
                  "| model | target ε | max client ε | noise σ | accuracy | macro F1 |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in d["rows"]:
            target = "no DP" if r["target_epsilon"] is None else f"{r['target_epsilon']:g}"
            eps = "∞" if r["epsilon"] is None else f"{r['epsilon']:.3f}"
            lines.append(f"| {r['model']} | {target} | {eps} | {r['noise_multiplier']:.3f} | "
                         f"{r['accuracy']:.4f} | {r['f1']:.4f} |")
        lines.append("")
    if "iiot" in results:
        s = results["iiot"]
        lines += [f"## Model comparison, synthetic IIoT ({s['devices']} devices, {s['rounds']} rounds, "
                  f"{s['samples']} samples, {s['features']} features, classes {', '.join(s['classes'])})", "",
                  "| model | accuracy | precision | recall | F1 | centralized accuracy | FL wall s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in s["rows"]:
            lines.append(f"| {r['model']} | {r['accuracy']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | "
                         f"{r['f1']:.4f} | {r['centralized_accuracy']:.4f} | {r['seconds']:.1f} |")
        lines.append("")
    (out / "tables.md").write_text("\n".join(lines), encoding="utf-8")


def plot(results: dict, out: Path) -> None:
    """Accuracy of the global model after each round: IID, non-IID and DP runs."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if "goals" in results:
        g = results["goals"]
        for key, label in (("iid", "FedAvg IID"), ("dirichlet", "FedAvg Dirichlet α=0.5")):
            acc = [r["accuracy"] for r in g[key]["history"]]
            ax.plot(range(1, len(acc) + 1), acc, label=label, linewidth=2)
        ax.axhline(g["centralized"], color="black", linestyle="--", linewidth=1, label="centralized")
    for row in results.get("dp", {}).get("rows", []):
        if row["target_epsilon"] is not None and row["model"] == "cnn":
            acc = row["history"]
            ax.plot(range(1, len(acc) + 1), acc, linestyle=":", label=f"FedAvg+DP ε≈{row['target_epsilon']:g} (cnn)")
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_title("digits, 10 clients")
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_round.png", dpi=120)
    plt.close(fig)


def save(results: dict, out: Path) -> None:
    """Write JSON, tables and plot for the sections done so far."""
    # Recreate the directory each time: out/ is scratch space that may be cleaned during a long run.
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    write_tables(results, out)
    plot(results, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/fl"), help="Output directory.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared).")
    parser.add_argument("--quick", action="store_true", help="Few rounds and clients: a smoke run of every section.")
    parser.add_argument("--sections", default="goals,dp,table3,iiot", help="Comma-separated sections to run.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    rounds = 3 if args.quick else 20
    sections = set(args.sections.split(","))
    results: dict = {"seed": args.seed, "device": str(resolve_device()), "quick": args.quick,
                     "torch": torch.__version__, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    train, test = split_train_test(load_digits_data(), 0.2, args.seed)
    start = time.perf_counter()
    if "goals" in sections:
        goals(train, test, rounds, args.seed, results)
        save(results, args.out)
    if "dp" in sections:
        dp_table(train, test, rounds, [1.0, 3.0, 8.0], ["cnn", "logistic"], args.seed, results)
        save(results, args.out)
    if "table3" in sections:
        table3(train, test, rounds, [4, 8] if args.quick else [4, 8, 16, 32], args.seed, results)
        save(results, args.out)
    if "iiot" in sections:
        iiot_table(5 if args.quick else 100, 20, ["logistic", "svm", "mlp"], args.seed, results)
        save(results, args.out)
    results["total_seconds"] = time.perf_counter() - start
    save(results, args.out)
    log(f"done in {results['total_seconds']:.0f}s; see {args.out / 'tables.md'}")


if __name__ == "__main__":
    main()
