"""Benchmark: per-value phe vs packed Paillier vs TenSEAL CKKS on one FedAvg round.

All three schemes aggregate the same ``clients`` float updates of ``params``
values (normal(0, 0.1), weights = sample counts in 100..1000) into their
weighted mean and are compared with plaintext FedAvg in float64.

* per-value phe: python-paillier ``encrypt`` of each float. Timed on a sample
  of ``sample`` values and extrapolated linearly to ``params`` values, divided
  by ``workers`` as if it parallelized perfectly (generous to phe). Its
  aggregate (``Σ w_i · E(x_i)``, ciphertext exponentiation + addition) is
  timed on the sample with client 0's ciphertexts standing in for every client
  (the cost does not depend on the values); the error is measured on that sample.
* packed Paillier, twice on the same modulus: with DJN obfuscators
  ``h_s^a`` (the default key; short exponent, an assumption beyond DCR, see
  :mod:`clients.he.randomness`) and with classic ``r^n`` obfuscators (the
  same key without its DJN base). ``workers`` processes; every client is
  encrypted cold except one, which fills a :class:`RandomnessPool` offline
  first and then encrypts online. Aggregation is
  :func:`aggregate_update_bytes` on the serialized updates (parse + validate +
  sum + serialize: what a verifier recomputes).
* TenSEAL CKKS: N=8192, coefficient moduli [60, 40, 40, 60], scale 2^40, one
  CKKS vector per update; the aggregator applies the public weights as
  plaintext scalars.

Every figure has a wall-clock time (what a user waits on this machine, whose
cores may be shared: the load average is recorded) and a CPU time (this
process, its threads and its finished worker processes), which contention
inflates much less.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from clients.he.context import RoundContext, UpdateContext
from clients.he.decryption import decrypt_aggregate
from clients.he.encoding import EncodingParams, SlotLayout
from clients.he.encryption import encrypt_update
from clients.he.fedavg import simulated_address
from clients.he.homomorphic_sum import aggregate_update_bytes
from clients.he.keys import KeyPair, classic_keypair, generate_keypair
from clients.he.parallel import default_workers
from clients.he.randomness import RandomnessPool
from clients.he.serialization import EncryptedAggregate, ciphertext_width

MAX_SAMPLE_WEIGHT = 1000
BENCHMARK_ROUND = RoundContext(federation_id=1, round=1, key_epoch=1)


@dataclass
class SchemeFigures:
    """One row of the benchmark table (times in seconds, sizes in bytes)."""

    scheme: str
    security: str
    encrypt_s_per_client: float
    upload_bytes_per_client: int
    aggregate_s: float
    decrypt_s: float
    max_abs_error: float
    error_bound: float | None
    encrypt_cpu_s_per_client: float = 0.0
    aggregate_cpu_s: float = 0.0
    decrypt_cpu_s: float = 0.0
    encrypt_online_s_per_client: float | None = None
    randomness_offline_s_per_client: float | None = None
    extrapolated: bool = False
    notes: str = ""

    @classmethod
    def measured(
        cls,
        scheme: str,
        security: str,
        encrypt_times: list[Timing],
        blobs: list[bytes],
        t_agg: Timing,
        t_dec: Timing,
        mean: np.ndarray,
        reference: np.ndarray,
        **extra: object,
    ) -> SchemeFigures:
        """A row from a measured round: median per-client encrypt, largest upload, error vs plaintext FedAvg."""
        return cls(
            scheme=scheme,
            security=security,
            encrypt_s_per_client=statistics.median(t.wall for t in encrypt_times),
            upload_bytes_per_client=max(len(b) for b in blobs),
            aggregate_s=t_agg.wall,
            decrypt_s=t_dec.wall,
            encrypt_cpu_s_per_client=statistics.median(t.cpu for t in encrypt_times),
            aggregate_cpu_s=t_agg.cpu,
            decrypt_cpu_s=t_dec.cpu,
            max_abs_error=float(np.abs(mean - reference).max()),
            **extra,
        )


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds and CPU seconds (this process, its threads and its finished workers)."""

    wall: float
    cpu: float


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    # Worker processes are joined when each pool closes, so their CPU time lands here.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(func: Callable[[], object]) -> tuple[object, Timing]:
    cpu, start = _cpu_seconds(), time.perf_counter()
    out = func()
    return out, Timing(time.perf_counter() - start, _cpu_seconds() - cpu)


def _per_value_phe(keys: KeyPair, updates: list[np.ndarray], weights: np.ndarray, params_count: int, sample: int,
                   workers: int, bits: int) -> SchemeFigures:
    public_key, private_key = keys.public_key, keys.private_key
    values = updates[0][:sample]
    encrypted, t_enc = _timed(lambda: [public_key.encrypt(float(v)) for v in values])
    total_weight = int(sum(weights))

    def weighted_sum():
        acc = [e * int(weights[0]) for e in encrypted]
        for w in weights[1:]:
            acc = [a + e * int(w) for a, e in zip(acc, encrypted)]
        return acc

    summed, t_agg = _timed(weighted_sum)
    decrypted, t_dec = _timed(lambda: [private_key.decrypt(s) for s in summed])
    error = float(np.abs(np.array(decrypted) / total_weight - values).max())
    scale = params_count / sample
    width = ciphertext_width(public_key)
    return SchemeFigures(
        scheme="phe per-value",
        security=f"Paillier {bits}",
        encrypt_s_per_client=t_enc.wall * scale / workers,
        upload_bytes_per_client=params_count * width,
        aggregate_s=t_agg.wall * scale,
        decrypt_s=t_dec.wall * scale / workers,
        encrypt_cpu_s_per_client=t_enc.cpu * scale,
        aggregate_cpu_s=t_agg.cpu * scale,
        decrypt_cpu_s=t_dec.cpu * scale,
        max_abs_error=error,
        error_bound=None,
        extrapolated=True,
        notes=(f"timed on {sample} values, x{scale:.0f}, encrypt/decrypt divided by {workers} workers; "
               f"bytes = one {width}-byte ciphertext per value"),
    )


def _packed(keys: KeyPair, updates: list[np.ndarray], weights: np.ndarray, reference: np.ndarray,
            params: EncodingParams, workers: int, bits: int, obfuscators: str, note: str) -> SchemeFigures:
    public_key = keys.public_key
    cold_times, blobs = [], []
    online = offline = None
    for index, (values, weight) in enumerate(zip(updates, weights)):
        context = UpdateContext.for_round(BENCHMARK_ROUND, simulated_address(f"client-{index}"))
        if index == 1:
            pool = RandomnessPool(public_key)
            needed = SlotLayout.for_key_bits(params, public_key.n.bit_length()).num_ciphertexts(values.size)
            _, offline = _timed(lambda: pool.fill(needed, workers))
            update, online = _timed(
                lambda: encrypt_update(public_key, values, int(weight), params, context, pool, workers)
            )
        else:
            update, elapsed = _timed(
                lambda: encrypt_update(public_key, values, int(weight), params, context, None, workers)
            )
            cold_times.append(elapsed)
        blobs.append(update.to_bytes(public_key))
    aggregate_bytes, t_agg = _timed(lambda: aggregate_update_bytes(blobs, public_key))
    mean, t_dec = _timed(
        lambda: decrypt_aggregate(keys.private_key, EncryptedAggregate.from_bytes(aggregate_bytes, public_key), workers)
    )
    return SchemeFigures.measured(
        f"packed Paillier ({obfuscators})", f"Paillier {bits}", cold_times, blobs, t_agg, t_dec, mean, reference,
        error_bound=params.quantization_bound,
        encrypt_online_s_per_client=online.wall if online else None,
        randomness_offline_s_per_client=offline.wall if offline else None,
        notes=(f"{note}; {params.value_bits}-bit levels, {params.slot_bits}-bit slots x "
               f"{SlotLayout.for_key_bits(params, bits).slots_per_ciphertext} per ciphertext, {workers} workers; "
               f"encrypt = median cold over {len(cold_times)} clients"),
    )


@contextlib.contextmanager
def _native_stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: TenSEAL's C++ core prints warnings there, which would corrupt --json."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def _tenseal(updates: list[np.ndarray], weights: np.ndarray, reference: np.ndarray) -> SchemeFigures:
    with _native_stdout_silenced():
        return _tenseal_round(updates, weights, reference)


def _tenseal_round(updates: list[np.ndarray], weights: np.ndarray, reference: np.ndarray) -> SchemeFigures:
    import tenseal as ts

    context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
    context.global_scale = 2**40
    public = ts.context_from(context.serialize(save_secret_key=False))
    times, blobs = [], []
    for values in updates:
        vector, elapsed = _timed(lambda: ts.ckks_vector(context, values.tolist()))
        times.append(elapsed)
        blobs.append(vector.serialize())
    total = float(sum(weights))

    def aggregate():
        vectors = [ts.ckks_vector_from(public, blob) for blob in blobs]
        acc = vectors[0] * (float(weights[0]) / total)
        for vector, weight in zip(vectors[1:], weights[1:]):
            acc = acc + vector * (float(weight) / total)
        return acc.serialize()

    aggregate_blob, t_agg = _timed(aggregate)
    mean, t_dec = _timed(lambda: np.array(ts.ckks_vector_from(context, aggregate_blob).decrypt()))
    return SchemeFigures.measured(
        "TenSEAL CKKS", "CKKS N=8192 (128-bit)", times, blobs, t_agg, t_dec, mean, reference,
        error_bound=None,
        notes="scale 2^40, moduli [60,40,40,60], weights applied by the aggregator as plaintext scalars",
    )


def run_benchmark(
    params_count: int = 100_000,
    clients: int = 10,
    bits: Sequence[int] = (2048, 3072),
    sample: int = 1000,
    workers: int | None = None,
    include_tenseal: bool = True,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the comparison and return its figures as a JSON-ready dict.

    Args:
        params_count: Values per update.
        clients: Updates per round.
        bits: Paillier key sizes to measure, in one run.
        sample: Values encrypted per-value with phe before extrapolating.
        workers: Worker processes; default one per core.
        include_tenseal: Also measure TenSEAL CKKS.
        seed: Seed of the synthetic updates and weights.
        progress: Called with a short message before each step.

    Returns:
        ``{"params", "clients", "workers", "sample", "rows": [SchemeFigures as dict]}``.
    """
    say = progress or (lambda _msg: None)
    load_start = os.getloadavg()[0]
    workers = workers or default_workers()
    rng = np.random.default_rng(seed)
    updates = [rng.normal(0.0, 0.1, params_count) for _ in range(clients)]
    weights = rng.integers(100, MAX_SAMPLE_WEIGHT + 1, clients)
    reference = sum(w * u for w, u in zip(weights, updates)) / weights.sum()
    encoding = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=clients, max_weight=1024)
    rows: list[SchemeFigures] = []
    for key_bits in bits:
        say(f"generating a {key_bits}-bit Paillier key")
        keys = generate_keypair(key_bits)
        say(f"per-value phe, {key_bits} bits, {min(sample, params_count)} values")
        rows.append(_per_value_phe(keys, updates, weights, params_count, min(sample, params_count),
                                   workers, key_bits))
        say(f"packed Paillier with DJN obfuscators, {key_bits} bits, {clients} clients x {params_count} values")
        rows.append(_packed(keys, updates, weights, reference, encoding, workers, key_bits,
                            "DJN", f"obfuscators h_s^a with {keys.public_key.exponent_bits}-bit a"))
        say(f"packed Paillier with classic r^n obfuscators, {key_bits} bits")
        rows.append(_packed(classic_keypair(keys), updates, weights, reference, encoding, workers, key_bits,
                            "r^n", "classic obfuscators r^n"))
    if include_tenseal:
        say("TenSEAL CKKS")
        rows.append(_tenseal(updates, weights, reference))
    speedups = {}
    for key_bits in bits:
        phe_row, *packed_rows = (r for r in rows if r.security == f"Paillier {key_bits}")
        speedups[str(key_bits)] = {
            packed_row.scheme: {
                "encrypt_wall": phe_row.encrypt_s_per_client / packed_row.encrypt_s_per_client,
                "encrypt_cpu": phe_row.encrypt_cpu_s_per_client / packed_row.encrypt_cpu_s_per_client,
                "encrypt_online_wall": (phe_row.encrypt_s_per_client / packed_row.encrypt_online_s_per_client
                                        if packed_row.encrypt_online_s_per_client else None),
                "upload": phe_row.upload_bytes_per_client / packed_row.upload_bytes_per_client,
            }
            for packed_row in packed_rows
        }
    return {
        "params": params_count,
        "speedup_packed_vs_per_value": speedups,
        "clients": clients,
        "workers": workers,
        "sample": sample,
        # The cores are shared: a high load average means inflated timings.
        "loadavg_1min": {"start": load_start, "end": os.getloadavg()[0]},
        "rows": [asdict(row) for row in rows],
    }
