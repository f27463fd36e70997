"""`flep he ...`: Paillier keys, encrypted updates, keyless aggregation; `flep bench he` and `flep bench threshold`.

Files: public keys and private keys use the versioned formats of
:mod:`clients.he.keys`; updates and aggregates the binary format of
:mod:`clients.he.serialization`; plaintext vectors are NumPy ``.npy`` files.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from clients.he import (
    DJNPublicKey,
    EncodingParams,
    EncryptedAggregate,
    EncryptedUpdate,
    UpdateContext,
    aggregate_update_bytes,
    decrypt_aggregate,
    digest,
    encrypt_update,
    generate_keypair,
    key_fingerprint,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
    run_benchmark,
    run_threshold_benchmark,
)
from registry.commands.output import console, emit_json, err_console
from registry.secret_files import write_atomic

app = typer.Typer(help="Packed Paillier: keys, encrypted updates, keyless verifiable aggregation.",
                  no_args_is_help=True)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {what} {path}: {exc.strerror}") from exc


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` atomically; refuse to overwrite (a key lost by overwrite is lost for good)."""
    write_atomic(path, data, mode=mode)


@app.command()
def keygen(
    public_out: Path = typer.Option(..., "--public-out", help="Where to write the public key (new file)."),
    private_out: Path = typer.Option(
        ..., "--private-out",
        help="Explicit path for the UNENCRYPTED private key (new file, mode 0600). Key wrapping comes later.",
    ),
    bits: int = typer.Option(3072, "--bits", help="Modulus size: 3072 (128-bit security) or 2048."),
    djn: bool = typer.Option(
        True, "--djn/--classic",
        help="Publish a Damgard-Jurik-Nielsen base h_s for ~8x faster encryption (rests on a short-exponent "
             "assumption beyond DCR); --classic writes a version-1 key with r^n obfuscators.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate the federation's Paillier key pair."""
    if bits not in (2048, 3072, 4096):
        raise typer.BadParameter(f"--bits must be 2048, 3072 or 4096, got {bits}")
    for path in (public_out, private_out):
        if path.exists():
            raise typer.BadParameter(f"{path} already exists; refusing to overwrite a key file")
    keys = generate_keypair(bits, djn=djn)
    _write_new(public_out, public_key_to_bytes(keys.public_key), 0o644)
    _write_new(private_out, private_key_to_bytes(keys.private_key), 0o600)
    fingerprint = key_fingerprint(keys.public_key).hex()
    exponent_bits = keys.public_key.exponent_bits if isinstance(keys.public_key, DJNPublicKey) else None
    err_console.print(f"[yellow]warning:[/yellow] the private key in {escape(str(private_out))} is NOT encrypted "
                      "(mode 0600); keep it on the key holder's machine and never commit, upload or share it")
    if json_out:
        emit_json({"bits": bits, "fingerprint": fingerprint, "public_key": str(public_out),
                   "private_key": str(private_out), "djn_exponent_bits": exponent_bits})
        return
    console.print(f"{bits}-bit key {fingerprint}\npublic key: {public_out}\nobfuscators: "
                  + (f"DJN h_s^a, {exponent_bits}-bit a" if exponent_bits else "classic r^n"), markup=False)


@app.command()
def encrypt(
    values: Path = typer.Argument(..., help="Flat float vector (.npy)."),
    public_key: Path = typer.Option(..., "--public-key"),
    weight: int = typer.Option(..., "--weight", help="FedAvg weight (sample count)."),
    federation_id: int = typer.Option(..., "--federation-id", help="On-chain federation id the update is for."),
    round_: int = typer.Option(..., "--round", help="Round number the update is for."),
    key_epoch: int = typer.Option(..., "--key-epoch", help="Epoch of the federation's Paillier key."),
    submitter: str = typer.Option(..., "--submitter", help="The analyst's chain address (0x + 40 hex digits)."),
    out: Path = typer.Option(..., "--out", help="Encrypted update file to write."),
    clip_bound: float = typer.Option(1.0, "--clip-bound"),
    value_bits: int = typer.Option(16, "--value-bits"),
    max_clients: int = typer.Option(10, "--max-clients"),
    max_weight: int = typer.Option(1024, "--max-weight"),
    workers: int = typer.Option(0, "--workers", help="Processes (0 = one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Analyst: encrypt an update under the federation key, bound to its federation, round, key epoch and submitter."""
    context = UpdateContext(federation_id, round_, key_epoch, submitter)
    key = public_key_from_bytes(_read(public_key, "public key"))
    vector = np.load(values, allow_pickle=False)
    params = EncodingParams(clip_bound, value_bits, max_clients, max_weight)
    update = encrypt_update(key, vector, weight, params, context, workers=workers or None)
    data = update.to_bytes(key)
    out.write_bytes(data)
    _report({"file": str(out), "bytes": len(data), "sha256": digest(data).hex(),
             "ciphertexts": len(update.ciphertexts), **_context_info(update)}, json_out)


@app.command()
def aggregate(
    updates: list[Path] = typer.Argument(..., help="Encrypted update files."),
    public_key: Path = typer.Option(..., "--public-key"),
    out: Path = typer.Option(..., "--out", help="Encrypted aggregate file to write."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Aggregator (no private key): sum encrypted updates deterministically."""
    key = public_key_from_bytes(_read(public_key, "public key"))
    data = aggregate_update_bytes([_read(p, "encrypted update") for p in updates], key)
    out.write_bytes(data)
    _report({"file": str(out), "bytes": len(data), "sha256": digest(data).hex(), "inputs": len(updates)}, json_out)


@app.command()
def verify(
    aggregate_file: Path = typer.Argument(..., metavar="AGGREGATE", help="Encrypted aggregate to check."),
    updates: list[Path] = typer.Argument(..., help="The encrypted update files it claims to sum."),
    public_key: Path = typer.Option(..., "--public-key"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Anyone: recompute the aggregate from the updates and compare bytes (exit 1 on mismatch)."""
    key = public_key_from_bytes(_read(public_key, "public key"))
    claimed = _read(aggregate_file, "encrypted aggregate")
    recomputed = aggregate_update_bytes([_read(p, "encrypted update") for p in updates], key)
    match = claimed == recomputed
    _report({"match": match, "claimed_sha256": digest(claimed).hex(),
             "recomputed_sha256": digest(recomputed).hex()}, json_out)
    if not match:
        err_console.print(f"[red]mismatch:[/red] {escape(str(aggregate_file))} is not the sum of the given updates")
        raise typer.Exit(code=1)


@app.command()
def decrypt(
    aggregate_file: Path = typer.Argument(..., metavar="AGGREGATE"),
    private_key: Path = typer.Option(..., "--private-key", help="Private key file (key holder only)."),
    out: Path = typer.Option(..., "--out", help="Weighted-mean vector to write (.npy)."),
    workers: int = typer.Option(0, "--workers", help="Processes (0 = one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Key holder: decrypt an aggregate into the FedAvg weighted mean."""
    key = private_key_from_bytes(_read(private_key, "private key"))
    aggregate_obj = EncryptedAggregate.from_bytes(_read(aggregate_file, "encrypted aggregate"), key.public_key)
    mean = decrypt_aggregate(key, aggregate_obj, workers or None)
    np.save(out, mean, allow_pickle=False)
    _report({"file": str(out), "values": int(mean.size), "clients": aggregate_obj.client_count,
             "weights_total": aggregate_obj.weights_total,
             "quantization_bound": aggregate_obj.layout.quantization_bound}, json_out)


@app.command()
def inspect(
    file: Path = typer.Argument(..., help="Encrypted update or aggregate."),
    public_key: Path = typer.Option(..., "--public-key"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the header of an encrypted update or aggregate (validates it fully)."""
    key = public_key_from_bytes(_read(public_key, "public key"))
    data = _read(file, "encrypted file")
    parsed = EncryptedAggregate.from_bytes(data, key) if data[5:6] == b"\x02" else EncryptedUpdate.from_bytes(data, key)
    info = {"kind": type(parsed).__name__, "sha256": digest(data).hex(), "bytes": len(data),
            "key_fingerprint": parsed.key_fingerprint.hex(), "num_values": parsed.num_values,
            "ciphertexts": len(parsed.ciphertexts), **_context_info(parsed),
            **{f"layout.{k}": v for k, v in vars(parsed.layout).items()}}
    if isinstance(parsed, EncryptedUpdate):
        info.update(weight=parsed.weight)
    else:
        info.update(client_count=parsed.client_count, weights_total=parsed.weights_total,
                    input_digests=[d.hex() for d in parsed.input_digests])
    _report(info, json_out)


def _context_info(parsed: EncryptedUpdate | EncryptedAggregate) -> dict:
    """The round binding of a file: federation, round, key epoch, encoding digest (and submitter of an update)."""
    context = parsed.context
    info = {"federation_id": context.federation_id, "round": context.round, "key_epoch": context.key_epoch,
            "encoding_digest": parsed.encoding_digest.hex()}
    if isinstance(parsed, EncryptedUpdate):
        info["submitter"] = parsed.submitter
    return info


def _report(info: dict, json_out: bool) -> None:
    if json_out:
        emit_json(info)
        return
    for name, value in info.items():
        # Values come from files (submitter, paths): never interpret them as rich markup.
        console.print(f"{name}: {value}", highlight=False, markup=False)


def bench(
    params: int = typer.Option(100_000, "--params", help="Values per update."),
    clients: int = typer.Option(10, "--clients", help="Updates per round."),
    bits: list[int] = typer.Option([2048, 3072], "--bits", help="Paillier key size; repeat for several."),
    sample: int = typer.Option(1000, "--sample", help="Values timed with per-value phe (extrapolated)."),
    workers: int = typer.Option(0, "--workers", help="Processes (0 = one per core)."),
    tenseal: bool = typer.Option(True, "--tenseal/--no-tenseal", help="Also measure TenSEAL CKKS."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per-value phe vs packed Paillier vs TenSEAL CKKS on one FedAvg round."""
    started = time.perf_counter()
    progress = None if json_out else (lambda msg: err_console.print(f"[dim]{msg}…[/dim]"))
    result = run_benchmark(params, clients, bits, sample, workers or None, tenseal, progress=progress)
    result["wall_s"] = time.perf_counter() - started
    if json_out:
        emit_json(result)
        return
    load = result["loadavg_1min"]
    table = Table(title=f"{clients} clients x {params:,} values, {result['workers']} workers, "
                        f"load {load['start']:.1f}->{load['end']:.1f}")
    for column in ("scheme", "security", "encrypt s/client", "(CPU s)", "online s/client", "upload/client",
                   "aggregate s", "decrypt s", "max |err|", "bound"):
        table.add_column(column)
    for row in result["rows"]:
        star = "*" if row["extrapolated"] else ""
        online = row["encrypt_online_s_per_client"]
        table.add_row(
            row["scheme"], row["security"], f"{row['encrypt_s_per_client']:.2f}{star}",
            f"{row['encrypt_cpu_s_per_client']:.2f}{star}",
            "" if online is None else f"{online:.3f}", f"{row['upload_bytes_per_client'] / 1e6:.3f} MB",
            f"{row['aggregate_s']:.3f}{star}", f"{row['decrypt_s']:.2f}{star}", f"{row['max_abs_error']:.2e}",
            "" if row["error_bound"] is None else f"{row['error_bound']:.2e}",
        )
    console.print(table)
    for key_bits, by_scheme in result["speedup_packed_vs_per_value"].items():
        for scheme, ratio in by_scheme.items():
            online = ratio["encrypt_online_wall"]
            console.print(f"{key_bits} bits, {scheme} vs per-value: encrypt x{ratio['encrypt_wall']:.0f} wall, "
                          f"x{ratio['encrypt_cpu']:.0f} CPU" + ("" if online is None else f", x{online:.0f} online")
                          + f"; upload x{ratio['upload']:.0f} smaller")
    console.print("* extrapolated from the per-value sample; notes: "
                  + " | ".join(f"{r['scheme']} {r['security']}: {r['notes']}" for r in result["rows"]))


def bench_threshold(
    params: int = typer.Option(100_000, "--params", min=1, help="Values per update."),
    bits: int = typer.Option(2048, "--bits", min=1024, help="Modulus size of the threshold and single keys."),
    custodians: int = typer.Option(3, "--custodians", min=1, help="Custodians the key is shared among (n)."),
    threshold: int = typer.Option(2, "--threshold", min=1, help="Custodians needed to decrypt (t)."),
    clients: int = typer.Option(3, "--clients", min=1, help="Updates summed (the ciphertext count does not "
                                "depend on it)."),
    workers: int = typer.Option(0, "--workers", help="Processes (0 = one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Threshold Paillier: deal, each custodian's partial decryption with proof, verify, combine; beside
    single-key decryption of the same updates under a same-size key."""
    started = time.perf_counter()
    progress = None if json_out else (lambda msg: err_console.print(f"[dim]{escape(msg)}…[/dim]"))
    result = run_threshold_benchmark(params, bits, custodians, threshold, clients, workers or None,
                                     progress=progress)
    figures = {**result.to_dict(), "wall_s": time.perf_counter() - started}
    if json_out:
        emit_json(figures)
        return
    table = Table(title=f"threshold {threshold} of {custodians}, {bits} bits: {params:,} values in "
                        f"{result.ciphertexts:,} ciphertexts, {result.workers} workers, "
                        f"load {result.loadavg_start:.1f}->{result.loadavg_end:.1f}")
    for column in ("step", "wall s", "CPU s", "x single-key", "bytes", "goal"):
        table.add_column(column, justify="left" if column == "step" else "right")

    def goal(met: bool, limit: float) -> str:
        return f"{'met' if met else 'MISSED'} (<= {limit:g} s)"

    table.add_row("deal", f"{result.deal_s:.2f}", "", "", "", "")
    for item in result.custodian_figures:
        table.add_row(f"custodian {item.index} partial+proof", f"{item.partial_s:.2f}", f"{item.partial_cpu_s:.2f}",
                      f"{item.single_key_ratio:.1f}", f"{item.partial_bytes:,}",
                      goal(item.goal_met, result.custodian_goal_s))
        table.add_row(f"  verify partial {item.index}", f"{item.verify_s:.2f}",
                      f"{item.verify_cpu_s:.2f}", "", "", "")
    used = "+".join(str(index) for index in result.combined_custodians)
    table.add_row(f"combine+verify {used}", f"{result.combine_s:.2f}", f"{result.combine_cpu_s:.2f}",
                  f"{result.combine_single_key_ratio:.1f}", "", goal(result.combine_goal_met, result.combine_goal_s))
    table.add_row("single-key decrypt*", f"{result.single_key_decrypt_s:.2f}",
                  f"{result.single_key_decrypt_cpu_s:.2f}", "1.0", "", "")
    console.print(table)
    console.print(f"threshold result identical to single-key decryption: {result.results_identical}; "
                  f"max |error| vs plaintext FedAvg {result.max_abs_error:.2e} (bound {result.quantization_bound:.2e})."
                  f" Context: {clients} clients, encrypt {result.encrypt_s_per_client:.2f} s/client, aggregate "
                  f"{result.aggregate_s:.2f} s. * single-key decryption of the same updates under a same-size key (the "
                  "dealer keeps no factors of the threshold key); verify and combine run in one process.",
                  highlight=False)
