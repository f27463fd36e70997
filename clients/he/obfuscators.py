"""Paillier obfuscators: the classic ``r^n`` or the DJN short-exponent ``h_s^a``.

A ciphertext is ``(1 + m*n) * s mod n^2`` where the obfuscator ``s`` is an
n-th residue; decryption removes any n-th residue, so both kinds below decrypt
identically (with python-paillier's private key too).

* classic (key without a DJN base): ``s = r^n`` for a uniform unit r, one
  exponentiation with the |n|-bit exponent n (~10 ms at 2048 bits).
* DJN (:class:`~clients.he.keys.DJNPublicKey`): ``s = h_s^a`` for a uniform
  ``a`` of ``exponent_bits`` bits (ceil(|n|/2)). Because the base is fixed, a
  table ``T[i][d] = h_s^(d * 2^(w*i))`` turns each obfuscator into one
  multiplication per w-bit digit of ``a``: ~0.8 ms at 2048 bits instead of
  ~5 ms for a 1024-bit ``powmod``. The table is public data (powers of a public
  base); only ``a`` is secret. See :mod:`clients.he.randomness` for the
  security argument.

Workers receive plain ints (picklable) through an :class:`ObfuscatorSpec`.
"""

from __future__ import annotations

import secrets
from typing import NamedTuple

import gmpy2
from phe import paillier

from clients.he.keys import DJNPublicKey

WINDOW_BITS = 7
"""Digit width of the fixed-base table: |a|/7 rows of 127 powers (9.5 MB at 2048 bits, 21 MB at 3072)."""

TABLE_MIN_COUNT = 64
"""Below this many obfuscators, building the table costs more than it saves: plain powmod."""


class ObfuscatorSpec(NamedTuple):
    """What a worker needs to draw obfuscators: ``n`` and, for DJN keys, ``h_s`` and the exponent length."""

    n: int
    hs: int | None
    exponent_bits: int

    @classmethod
    def for_key(cls, public_key: paillier.PaillierPublicKey) -> ObfuscatorSpec:
        """The obfuscator source of ``public_key`` (DJN when it carries a base, classic otherwise)."""
        if isinstance(public_key, DJNPublicKey):
            return cls(public_key.n, public_key.hs, public_key.exponent_bits)
        return cls(public_key.n, None, public_key.n.bit_length())


# One table per worker process, for the last DJN key seen: a pool of workers encrypts
# many chunks for the same key, and keeping only one bounds the memory.
_table_cache: dict[tuple[int, int, int], list[list[gmpy2.mpz]]] = {}


def fixed_base_table(hs: int, nsquare: int, exponent_bits: int) -> list[list[gmpy2.mpz]]:
    """``T[i][d] = hs^(d * 2^(WINDOW_BITS*i)) mod nsquare`` for every digit position i and digit d.

    Cached per process for the last ``(hs, nsquare, exponent_bits)``.
    """
    key = (hs, nsquare, exponent_bits)
    table = _table_cache.get(key)
    if table is None:
        modulus = gmpy2.mpz(nsquare)
        base = gmpy2.mpz(hs)
        table = []
        for _ in range((exponent_bits + WINDOW_BITS - 1) // WINDOW_BITS):
            row = [gmpy2.mpz(1)]
            for _ in range((1 << WINDOW_BITS) - 1):
                row.append(row[-1] * base % modulus)
            table.append(row)
            base = row[-1] * base % modulus
        _table_cache.clear()
        _table_cache[key] = table
    return table


def fixed_base_power(table: list[list[gmpy2.mpz]], exponent: int, nsquare: gmpy2.mpz) -> gmpy2.mpz:
    """``hs^exponent mod nsquare`` from a :func:`fixed_base_table` (exponent below 2^(rows*WINDOW_BITS))."""
    mask = (1 << WINDOW_BITS) - 1
    acc = gmpy2.mpz(1)
    row = 0
    while exponent:
        digit = exponent & mask
        if digit:
            acc = acc * table[row][digit] % nsquare
        exponent >>= WINDOW_BITS
        row += 1
    return acc


def fresh_obfuscators(spec: ObfuscatorSpec, slots: list[int]) -> list[int]:
    """Return one fresh obfuscator per entry of ``slots`` (which only sets the count).

    Randomness (``r`` or ``a``) comes from the OS CSPRNG (``secrets``), so
    forked workers never share randomness state.
    """
    n = gmpy2.mpz(spec.n)
    nsquare = n * n
    if spec.hs is None:
        out = []
        for _ in slots:
            r = secrets.randbelow(spec.n - 1) + 1
            while gmpy2.gcd(r, n) != 1:
                r = secrets.randbelow(spec.n - 1) + 1
            out.append(int(gmpy2.powmod(r, n, nsquare)))
        return out
    exponents = [secrets.randbits(spec.exponent_bits) for _ in slots]
    if len(exponents) < TABLE_MIN_COUNT:
        return [int(gmpy2.powmod(spec.hs, a, nsquare)) for a in exponents]
    table = fixed_base_table(spec.hs, int(nsquare), spec.exponent_bits)
    return [int(fixed_base_power(table, a, nsquare)) for a in exponents]
