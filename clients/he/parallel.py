"""Process-pool plumbing for the two costly steps: encryption (obfuscators) and decryption.

Workers receive plain ints (picklable) and return plain ints; each task is a
contiguous chunk so results come back in input order.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence, TypeVar

import gmpy2

from clients.he.obfuscators import ObfuscatorSpec, fresh_obfuscators

T = TypeVar("T")


def default_workers() -> int:
    """Number of worker processes: one per available core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_chunked(func: Callable[..., list[T]], fixed: tuple, items: Sequence, workers: int | None) -> list[T]:
    """Apply ``func(*fixed, chunk)`` to contiguous chunks of ``items`` and concatenate.

    With ``workers == 1`` (or a single item) it runs in this process, which is
    what tests and small vectors want; otherwise a process pool of ``workers``
    processes is used.
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(items) <= 1:
        return func(*fixed, list(items))
    # A few chunks per worker evens out the load when cores are shared.
    chunks = min(len(items), workers * 4)
    bounds = [len(items) * i // chunks for i in range(chunks + 1)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(func, *fixed, list(items[a:b])) for a, b in zip(bounds, bounds[1:])]
        out: list[T] = []
        for future in futures:
            out.extend(future.result())
    return out


def encrypt_with(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    """Paillier-encrypt ``(plaintext, obfuscator)`` pairs with g = n + 1.

    ``g^m = 1 + m*n (mod n^2)``, so a ciphertext is ``(1 + m*n) * r^n mod n^2``:
    one multiplication once the obfuscator ``r^n`` is known.
    """
    n_mpz = gmpy2.mpz(n)
    nsquare = n_mpz * n_mpz
    return [int((1 + m * n_mpz) * obfuscator % nsquare) for m, obfuscator in pairs]


def encrypt_fresh(spec: ObfuscatorSpec, plaintexts: list[int]) -> list[int]:
    """Encrypt plaintexts with fresh obfuscators of ``spec`` (the cold path, run in workers)."""
    return encrypt_with(spec.n, list(zip(plaintexts, fresh_obfuscators(spec, plaintexts))))


def decrypt_crt(p: int, q: int, ciphertexts: list[int]) -> list[int]:
    """Paillier-decrypt raw ciphertexts with the CRT (as python-paillier does).

    ``m_p = L_p(c^(p-1) mod p^2) * h_p mod p`` with ``L_p(x) = (x - 1) / p`` and
    ``h_p = L_p(g^(p-1) mod p^2)^-1``, likewise for q, then recombined.
    """
    p_mpz, q_mpz = gmpy2.mpz(p), gmpy2.mpz(q)
    n = p_mpz * q_mpz
    g = n + 1
    psquare, qsquare = p_mpz * p_mpz, q_mpz * q_mpz
    hp = gmpy2.invert((gmpy2.powmod(g, p_mpz - 1, psquare) - 1) // p_mpz, p_mpz)
    hq = gmpy2.invert((gmpy2.powmod(g, q_mpz - 1, qsquare) - 1) // q_mpz, q_mpz)
    p_inverse = gmpy2.invert(p_mpz, q_mpz)
    out = []
    for c in ciphertexts:
        mp = (gmpy2.powmod(c, p_mpz - 1, psquare) - 1) // p_mpz * hp % p_mpz
        mq = (gmpy2.powmod(c, q_mpz - 1, qsquare) - 1) // q_mpz * hq % q_mpz
        out.append(int(mp + (mq - mp) * p_inverse % q_mpz * p_mpz))
    return out
