"""The batched proof's multi-exponentiation (clients.he.threshold._multi_power) equals the plain product of powers.

Prover and verifier both fold with it, so a wrong but deterministic fold would still let
every proof verify: only this comparison with independent exponentiations catches it.
"""

from __future__ import annotations

import secrets

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he.threshold import _multi_power


def _plain(bases: list[int], exponents: list[int], modulus: int) -> int:
    product = 1
    for base, exponent in zip(bases, exponents):
        product = product * pow(base, exponent, modulus) % modulus
    return product


@st.composite
def _instances(draw: st.DrawFn) -> tuple[list[int], list[int], int]:
    modulus = draw(st.integers(2, 2**300))
    count = draw(st.integers(0, 40))
    bits = draw(st.sampled_from([0, 1, 2, 5, 8, 9, 64, 128, 129, 200]))
    bases = draw(st.lists(st.integers(0, modulus - 1), min_size=count, max_size=count))
    exponents = draw(st.lists(st.integers(0, 2**bits - 1), min_size=count, max_size=count))
    return bases, exponents, modulus


@settings(max_examples=300, deadline=None)
@given(_instances())
def test_multi_power_is_the_product_of_the_powers(instance):
    bases, exponents, modulus = instance
    assert _multi_power(bases, exponents, gmpy2.mpz(modulus)) == _plain(bases, exponents, modulus)


def test_multi_power_at_the_proof_size_with_extreme_digits():
    # 4096-bit modulus (N^2 of a 2048-bit N), 128-bit exponents, enough bases for a wide window,
    # every digit value of every window present (all-ones, zero, one, the top bit alone).
    modulus = secrets.randbits(4096) | (1 << 4095) | 1
    bases = [secrets.randbelow(modulus) for _ in range(600)]
    exponents = [secrets.randbits(128) for _ in range(590)] + [0, 1, 2**128 - 1, 2**127, 2**64 + 1] * 2
    assert _multi_power(bases, exponents, gmpy2.mpz(modulus)) == _plain(bases, exponents, modulus)


def test_multi_power_refuses_negative_or_missing_exponents():
    with pytest.raises(ValueError, match="one non-negative exponent per base"):
        _multi_power([3, 5], [1, -1], gmpy2.mpz(7))
    with pytest.raises(ValueError, match="one non-negative exponent per base"):
        _multi_power([3, 5], [1], gmpy2.mpz(7))
