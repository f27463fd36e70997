"""Threshold Paillier (clients.he.threshold): dealing, partial decryption with batched proofs, combination.

Safe primes are generated once per module (512- and 1024-bit moduli); the dealings for every
(n, t) reuse them through the dealer's inner step, so the tests can also decrypt with the
single key built from the same primes and compare.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import struct
from functools import lru_cache

import gmpy2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phe import paillier

from clients.he import (
    DJNPublicKey,
    EncodingParams,
    EncryptedAggregate,
    EncryptedUpdate,
    EqualityProof,
    HEError,
    InsufficientPartialsError,
    InvalidParametersError,
    InvalidPartialError,
    KeyFormatError,
    KeyMismatchError,
    KeyShare,
    MalformedCiphertextError,
    PartialDecryption,
    PartialFormatError,
    SlotLayout,
    SlotSumOutOfRangeError,
    ThresholdParams,
    ThresholdPublicKey,
    TooFewParticipantsError,
    UpdateContext,
    aggregate_update_bytes,
    aggregate_updates,
    combine,
    deal,
    decrypt_aggregate,
    decrypt_slot_sums,
    encrypt_plaintexts,
    encrypt_update,
    key_fingerprint,
    pack,
    partial_decrypt,
    partial_decrypt_aggregate,
    public_key_from_bytes,
    public_key_to_bytes,
    threshold_decrypt_aggregate,
    threshold_slot_sums,
    verify_partial,
)
from clients.he.errors import SerializationError
from clients.he.keys import check_djn_base_with_primes
from clients.he.threshold import _deal_from_primes, _interpolate, _lagrange_at_zero, _safe_prime

SMALL_BITS = 512
BIG_BITS = 1024
ALL_PARAMS = [(n, t) for n in range(1, 8) for t in range(1, n + 1)]
_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _primes(bits: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    p = _safe_prime(bits // 2, rng)
    q = _safe_prime(bits // 2, rng)
    assert p != q
    return p, q


@pytest.fixture(scope="module")
def small_primes() -> tuple[int, int]:
    return _primes(SMALL_BITS, 1)


@pytest.fixture(scope="module")
def big_primes() -> tuple[int, int]:
    return _primes(BIG_BITS, 2)


@pytest.fixture(scope="module")
def dealing(small_primes):
    """``dealing(n, t)``: a dealing of the 512-bit key for t of n custodians (cached)."""

    @lru_cache(maxsize=None)
    def make(n: int, t: int):
        return _deal_from_primes(*small_primes, ThresholdParams(n, t), random.Random(100 * n + t))

    return make


@pytest.fixture(scope="module")
def single_key(small_primes):
    """The single private key with the same primes: the reference decryption."""
    p, q = small_primes
    return paillier.PaillierPrivateKey(paillier.PaillierPublicKey(p * q), p, q)


@pytest.fixture(scope="module")
def big_dealing(big_primes):
    return _deal_from_primes(*big_primes, ThresholdParams(3, 2), random.Random(7))


def _ciphertexts(public: ThresholdPublicKey, plaintexts: list[int]) -> list[int]:
    return encrypt_plaintexts(public.public_key, plaintexts, workers=1)


def _partials(dealt, ciphertexts, indices=None):
    shares = dealt.shares if indices is None else [dealt.shares[i - 1] for i in indices]
    return [partial_decrypt(share, dealt.public, ciphertexts, workers=1) for share in shares]


# --- key ceremony -----------------------------------------------------------------------------------------------


def test_safe_primes_are_safe_blum_primes_of_the_size(small_primes, big_primes):
    for bits, pair in ((SMALL_BITS, small_primes), (BIG_BITS, big_primes)):
        for p in pair:
            assert p.bit_length() == bits // 2 and p % 4 == 3 and p >> (bits // 2 - 2) == 3
            assert gmpy2.is_prime(p, 40) and gmpy2.is_prime((p - 1) // 2, 40)


def test_deal_makes_a_standard_djn_key_of_exactly_the_size():
    dealt = deal(SMALL_BITS, ThresholdParams(3, 2), random.Random(5))
    public = dealt.public
    key = public.public_key
    assert isinstance(key, DJNPublicKey) and key.n.bit_length() == SMALL_BITS and key.g == key.n + 1
    assert key.exponent_bits == SMALL_BITS // 2
    assert [share.index for share in dealt.shares] == [1, 2, 3] and len(public.verification_keys) == 3
    assert public.delta == 6
    # The existing public-key format carries it unchanged (its reader wants >= 1024 bits: see big_dealing).
    assert public_key_to_bytes(key)[:5] == b"FLPK\x02"


def test_deal_is_reproducible_with_a_seeded_rng_only():
    params = ThresholdParams(2, 2)
    assert deal(SMALL_BITS, params, random.Random(9)).public == deal(SMALL_BITS, params, random.Random(9)).public
    assert deal(SMALL_BITS, params).public != deal(SMALL_BITS, params).public


def test_reprs_show_no_secret(dealing):
    dealt = dealing(3, 2)
    share = dealt.shares[0]
    assert repr(share) == "KeyShare(index=1)"
    assert str(share.value) not in repr(dealt) and "shares" not in repr(dealt)
    partial = _partials(dealt, _ciphertexts(dealt.public, [1]), [1])[0]
    assert str(partial.values[0]) not in repr(partial)


def _reachable_ints(obj, seen=None) -> set[int]:
    """Every int reachable from ``obj`` through dataclass fields, containers and instance dicts."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return set()
    seen.add(id(obj))
    if isinstance(obj, bool):
        return set()
    if isinstance(obj, (int, type(gmpy2.mpz(0)))):
        return {int(obj)}
    if isinstance(obj, (bytes, str)):
        return set()
    if isinstance(obj, (tuple, list, set, frozenset)):
        items = obj
    elif isinstance(obj, dict):
        items = list(obj.values())
    elif dataclasses.is_dataclass(obj):
        items = [getattr(obj, f.name) for f in dataclasses.fields(obj)] + list(vars(obj).values())
    elif hasattr(obj, "__dict__"):
        items = list(vars(obj).values())
    else:
        return set()
    out: set[int] = set()
    for item in items:
        out |= _reachable_ints(item, seen)
    return out


@pytest.mark.parametrize(("n", "t"), [(1, 1), (3, 2), (5, 5)])
def test_the_dealing_holds_no_factor_nor_m_nor_d(small_primes, n, t):
    p, q = small_primes
    dealt = _deal_from_primes(p, q, ThresholdParams(n, t), random.Random(3))
    big_n = p * q
    m = (p - 1) // 2 * ((q - 1) // 2)
    d = m * int(gmpy2.invert(m, big_n))
    forbidden = {p, q, (p - 1) // 2, (q - 1) // 2, m, d, 4 * m, 2 * m, big_n * m}
    values = _reachable_ints(dealt)
    if t == 1:
        # 1 of n: the constant polynomial, every custodian alone holds d (by definition of the threshold).
        values -= {share.value for share in dealt.shares}
    assert not values & forbidden
    assert all(int(gmpy2.gcd(v, big_n)) in (1, big_n) for v in values if v)


def test_the_dealer_checked_the_djn_base_and_v_with_the_factors(small_primes, dealing):
    p, q = small_primes
    public = dealing(4, 3).public
    check_djn_base_with_primes(public.public_key.hs, p, q)
    order = p * q * ((p - 1) // 2) * ((q - 1) // 2)
    v = public.verification_base
    nsquare = (p * q) ** 2
    assert pow(v, order, nsquare) == 1
    assert all(pow(v, order // f, nsquare) != 1 for f in (p, q, (p - 1) // 2, (q - 1) // 2))


@pytest.mark.parametrize(("n", "t"), [(0, 0), (3, 0), (3, 4), (65, 2), (True, 1), (2.0, 1)])
def test_invalid_threshold_params_are_refused(n, t):
    with pytest.raises(InvalidParametersError):
        ThresholdParams(n, t)


@pytest.mark.parametrize("bits", [256, 504, 516])
def test_deal_refuses_a_size_below_512_or_not_a_multiple_of_8(bits):
    with pytest.raises(InvalidParametersError, match="multiple of 8 and at least 512"):
        deal(bits, ThresholdParams(2, 1))


# --- combination: any t decrypt, t - 1 do not -------------------------------------------------------------------


@pytest.mark.parametrize(("n", "t"), ALL_PARAMS)
def test_every_t_subset_decrypts_like_the_single_key(dealing, single_key, n, t):
    dealt = dealing(n, t)
    big_n = dealt.public.n
    rng = random.Random(n * 10 + t)
    plaintexts = [0, 1, big_n - 1] + [rng.randrange(big_n) for _ in range(2)]
    ciphertexts = _ciphertexts(dealt.public, plaintexts)
    reference = [single_key.raw_decrypt(c) for c in ciphertexts]
    assert reference == plaintexts
    partials = _partials(dealt, ciphertexts)
    # Every t-subset of the n custodians (247 combinations over all (n, t) with n <= 7).
    for subset in itertools.combinations(range(n), t):
        result = combine(dealt.public, ciphertexts, [partials[i] for i in subset])
        assert list(result.plaintexts) == reference
        assert result.used == tuple(i + 1 for i in subset) and result.rejected == ()


@_SETTINGS
@given(st.sampled_from(ALL_PARAMS), st.randoms(use_true_random=False),
       st.lists(st.integers(0, 2**SMALL_BITS), min_size=1, max_size=6))
def test_combination_of_random_subsets_and_plaintexts(dealing, params, rng, raw):
    n, t = params
    dealt = dealing(n, t)
    plaintexts = [x % dealt.public.n for x in raw]
    ciphertexts = _ciphertexts(dealt.public, plaintexts)
    chosen = rng.sample(range(1, n + 1), rng.randint(t, n))
    result = combine(dealt.public, ciphertexts, _partials(dealt, ciphertexts, chosen))
    assert list(result.plaintexts) == plaintexts
    assert result.used == tuple(sorted(chosen)[:t])


@pytest.mark.parametrize(("n", "t"), [(n, t) for n, t in ALL_PARAMS if t >= 2])
def test_t_minus_1_partials_do_not_decrypt(dealing, n, t):
    dealt = dealing(n, t)
    plaintexts = [12345, 67890]
    ciphertexts = _ciphertexts(dealt.public, plaintexts)
    partials = _partials(dealt, ciphertexts, range(1, t))
    plural = "s" if t - 1 != 1 else ""
    with pytest.raises(InsufficientPartialsError,
                       match=f"only {t - 1} valid partial decryption{plural} of the {t} required") as info:
        combine(dealt.public, ciphertexts, partials)
    assert info.value.rejected == ()
    # Interpolating the t - 1 shares anyway (Lagrange over that set) does not give the plaintexts.
    try:
        wrong = _interpolate(dealt.public, partials, len(ciphertexts))
    except HEError:
        return
    assert wrong != plaintexts


@given(st.integers(1, 7).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))), st.randoms())
@settings(max_examples=50, deadline=None)
def test_lagrange_coefficients_times_delta_are_integers_that_interpolate(params, rng):
    n, t = params
    delta = ThresholdParams(n, t).delta
    subset = rng.sample(range(1, n + 1), t)
    coefficients = [rng.randrange(-(10**30), 10**30) for _ in range(t)]

    def f(x: int) -> int:
        return sum(c * x**k for k, c in enumerate(coefficients))

    lambdas = _lagrange_at_zero(delta, subset)
    for i in subset:
        numerator = delta
        denominator = 1
        for j in subset:
            if j != i:
                numerator *= j
                denominator *= j - i
        assert numerator % denominator == 0
    assert sum(lambdas[i] * f(i) for i in subset) == delta * f(0)


# --- tampering is detected -------------------------------------------------------------------------------------


def _tamper(kind: str, partial: PartialDecryption, dealt, other_dealt, ciphertexts) -> PartialDecryption:
    nsquare = dealt.public.n**2
    values = list(partial.values)
    proof = partial.proof
    if kind == "value times a square":
        values[1] = values[1] * 4 % nsquare
        return dataclasses.replace(partial, values=tuple(values))
    if kind == "value replaced by the ciphertext's own power":
        values[0] = pow(ciphertexts[0], 2 * dealt.public.delta * 12345, nsquare)
        return dataclasses.replace(partial, values=tuple(values))
    if kind == "values swapped":
        values[0], values[1] = values[1], values[0]
        return dataclasses.replace(partial, values=tuple(values))
    if kind == "a value dropped":
        return dataclasses.replace(partial, values=tuple(values[:-1]))
    if kind == "challenge":
        return dataclasses.replace(partial, proof=EqualityProof(proof.challenge ^ 1, proof.response))
    if kind == "response":
        return dataclasses.replace(partial, proof=EqualityProof(proof.challenge, proof.response + 1))
    if kind == "relabelled to another custodian":
        return dataclasses.replace(partial, index=partial.index % dealt.public.params.n_custodians + 1)
    if kind == "made for other ciphertexts":
        others = _ciphertexts(dealt.public, [7] * len(ciphertexts))
        return partial_decrypt(dealt.shares[partial.index - 1], dealt.public, others, workers=1)
    if kind == "value not a unit":
        values[2] = dealt.public.n
        return dataclasses.replace(partial, values=tuple(values))
    if kind == "under another key":
        return dataclasses.replace(partial, key_fingerprint=other_dealt.public.fingerprint)
    raise AssertionError(kind)


TAMPERINGS = [
    ("value times a square", "fails its proof"),
    ("value replaced by the ciphertext's own power", "fails its proof"),
    ("values swapped", "fails its proof"),
    ("a value dropped", "holds 2 values for 3 ciphertexts"),
    ("challenge", "fails its proof"),
    ("response", "fails its proof"),
    ("relabelled to another custodian", "fails its proof"),
    ("made for other ciphertexts", "fails its proof"),
    ("value not a unit", "not a unit mod N\\^2"),
    ("under another key", "is under threshold key"),
]


@pytest.mark.parametrize(("kind", "reason"), TAMPERINGS)
def test_a_tampered_partial_is_named_and_skipped(dealing, kind, reason):
    dealt = dealing(4, 2)
    plaintexts = [11, 22, 33]
    ciphertexts = _ciphertexts(dealt.public, plaintexts)
    honest = _partials(dealt, ciphertexts)
    bad = _tamper(kind, honest[2], dealt, dealing(4, 3), ciphertexts)
    index = bad.index
    with pytest.raises(InvalidPartialError, match=f"partial decryption of custodian {index} .*{reason}") as info:
        verify_partial(dealt.public, ciphertexts, bad)
    assert info.value.index == index
    # With enough honest partials besides it, it is skipped by name and the result is right.
    result = combine(dealt.public, ciphertexts, [bad, honest[0], honest[3]])
    assert list(result.plaintexts) == plaintexts and result.used == (1, 4)
    assert [item.index for item in result.rejected] == [index]
    assert f"custodian {index}" in result.rejected[0].reason and result.rejected[0].reason.endswith("it is skipped")
    # Without them, the error says how many were valid and names the skipped one.
    with pytest.raises(InsufficientPartialsError,
                       match=f"only 1 valid partial decryption of the 2 required .*custodian {index}.*it is skipped"):
        combine(dealt.public, ciphertexts, [bad, honest[0]])


@_SETTINGS
@given(st.integers(0, 2), st.integers(2, 2**64))
def test_any_multiplied_value_is_caught(dealing, position, factor):
    dealt = dealing(3, 2)
    ciphertexts = _ciphertexts(dealt.public, [5, 6, 7])
    partial = _partials(dealt, ciphertexts, [2])[0]
    values = list(partial.values)
    nsquare = dealt.public.n**2
    values[position] = values[position] * factor % nsquare
    with pytest.raises(InvalidPartialError, match="custodian 2"):
        verify_partial(dealt.public, ciphertexts, dataclasses.replace(partial, values=tuple(values)))


def test_a_value_times_minus_one_fails_the_proof_yet_would_combine_right(dealing):
    # The transcript hash binds the exact values, so a third party's sign flip fails the proof; only
    # c_i^2 is proven and used (Shoup), so such a value, even if proven by its custodian, combines right.
    dealt = dealing(3, 2)
    plaintexts = [5, 6]
    ciphertexts = _ciphertexts(dealt.public, plaintexts)
    first, second = _partials(dealt, ciphertexts, [1, 2])
    flipped = dataclasses.replace(first, values=(dealt.public.n**2 - first.values[0], first.values[1]))
    with pytest.raises(InvalidPartialError, match="custodian 1 fails its proof"):
        verify_partial(dealt.public, ciphertexts, flipped)
    assert _interpolate(dealt.public, [flipped, second], 2) == plaintexts


def test_a_second_partial_of_the_same_custodian_is_not_counted(dealing):
    dealt = dealing(3, 2)
    ciphertexts = _ciphertexts(dealt.public, [9])
    (partial,) = _partials(dealt, ciphertexts, [3])
    with pytest.raises(InsufficientPartialsError, match="only 1 valid .*custodian 3 has a second partial"):
        combine(dealt.public, ciphertexts, [partial, partial])


def test_a_share_of_another_key_or_custodian_is_refused(dealing):
    dealt, other = dealing(3, 2), dealing(3, 3)
    ciphertexts = _ciphertexts(dealt.public, [1])
    with pytest.raises(KeyMismatchError, match="custodian 1 does not match its verification key"):
        partial_decrypt(other.shares[0], dealt.public, ciphertexts, workers=1)
    with pytest.raises(KeyMismatchError, match="custodian 2 does not match"):
        partial_decrypt(KeyShare(2, dealt.shares[0].value), dealt.public, ciphertexts, workers=1)
    with pytest.raises(KeyMismatchError, match="custodian 4 is not one of the 3"):
        partial_decrypt(KeyShare(4, 1), dealt.public, ciphertexts, workers=1)


@pytest.mark.parametrize("bad", ["empty", 0, -1, "n", "nsquare"])
def test_invalid_ciphertexts_are_refused(dealing, bad):
    dealt = dealing(2, 1)
    n = dealt.public.n
    ciphertexts = [] if bad == "empty" else [{"n": n, "nsquare": n * n}.get(bad, bad)]
    error = InvalidParametersError if bad == "empty" else MalformedCiphertextError
    with pytest.raises(error):
        partial_decrypt(dealt.shares[0], dealt.public, ciphertexts, workers=1)
    with pytest.raises(error):
        combine(dealt.public, ciphertexts, [])


# --- aggregates: the packed encoding end to end ----------------------------------------------------------------

PARAMS = EncodingParams(clip_bound=1.0, value_bits=12, max_clients=4, max_weight=50)


def _context(index: int) -> UpdateContext:
    return UpdateContext(1, 1, 1, f"0x{index + 1:040x}")


def test_aggregate_decrypts_from_any_two_of_three_as_with_the_single_key(big_primes, big_dealing):
    public = big_dealing.public
    key = public.public_key
    rng = np.random.default_rng(0)
    vectors = [rng.uniform(-1, 1, 200) for _ in range(3)]
    weights = [3, 10, 7]
    blobs = [encrypt_update(key, v, w, PARAMS, _context(i), workers=1).to_bytes(key)
             for i, (v, w) in enumerate(zip(vectors, weights))]
    aggregate = EncryptedAggregate.from_bytes(aggregate_update_bytes(blobs, key), key)
    single = paillier.PaillierPrivateKey(key, *big_primes)
    expected_sums = decrypt_slot_sums(single, aggregate, workers=1)
    expected = decrypt_aggregate(single, aggregate, workers=1)
    partials = [partial_decrypt_aggregate(share, public, aggregate, min_participants=3, workers=1)
                for share in big_dealing.shares]
    count = len(aggregate.ciphertexts)
    # What travels is bytes: parse them back with the aggregate's ciphertext count.
    partials = [PartialDecryption.from_bytes(p.to_bytes(public), public, expected_count=count) for p in partials]
    for pair in itertools.combinations(partials, 2):
        assert np.array_equal(threshold_slot_sums(public, aggregate, pair, min_participants=3), expected_sums)
        assert np.array_equal(threshold_decrypt_aggregate(public, aggregate, pair), expected)
    mean = sum(w * v for w, v in zip(weights, vectors)) / sum(weights)
    assert np.max(np.abs(expected - mean)) <= aggregate.layout.quantization_bound + 1e-12


def test_skipped_partials_of_an_aggregate_are_reported(big_dealing):
    public = big_dealing.public
    key = public.public_key
    updates = [encrypt_update(key, np.full(5, 0.5), 2, PARAMS, _context(i), workers=1) for i in range(2)]
    aggregate = aggregate_updates(updates, key)
    partials = [partial_decrypt_aggregate(share, public, aggregate, workers=1) for share in big_dealing.shares]
    bad = dataclasses.replace(partials[0], proof=EqualityProof(partials[0].proof.challenge ^ 2,
                                                               partials[0].proof.response))
    skipped = []
    values = threshold_decrypt_aggregate(public, aggregate, [bad, *partials[1:]], on_combined=lambda c: skipped.extend(c.rejected))
    assert np.allclose(values, 0.5, atol=aggregate.layout.quantization_bound)
    assert [item.index for item in skipped] == [1] and "fails its proof" in skipped[0].reason


def test_custodians_refuse_an_aggregate_of_too_few_participants_or_another_key(big_dealing, dealing):
    public = big_dealing.public
    key = public.public_key
    aggregate = aggregate_updates([encrypt_update(key, np.zeros(3), 1, PARAMS, _context(0), workers=1)], key)
    with pytest.raises(TooFewParticipantsError, match="sums 1 update"):
        partial_decrypt_aggregate(big_dealing.shares[0], public, aggregate, min_participants=2, workers=1)
    other = dealing(3, 2)
    with pytest.raises(KeyMismatchError, match="aggregate is under key"):
        partial_decrypt_aggregate(other.shares[0], other.public, aggregate, workers=1)
    partials = [partial_decrypt_aggregate(share, public, aggregate, workers=1) for share in big_dealing.shares[:2]]
    with pytest.raises(TooFewParticipantsError):
        threshold_decrypt_aggregate(public, aggregate, partials, min_participants=2)


def test_a_forged_aggregate_fails_the_same_range_check_as_with_the_single_key(big_primes, big_dealing):
    public = big_dealing.public
    key = public.public_key
    layout = SlotLayout.for_key_bits(PARAMS, key.n.bit_length())
    level = PARAMS.max_level
    slots = np.array([3 * level + 1, 0], dtype=np.uint64)  # weight 3 allows at most 3 * level
    update_ciphertexts = encrypt_plaintexts(key, pack(slots, layout), workers=1)
    forged = EncryptedUpdate(key_fingerprint(key), layout, 2, _context(0), 3, tuple(update_ciphertexts))
    aggregate = aggregate_updates([forged], key)
    partials = [partial_decrypt_aggregate(share, public, aggregate, workers=1) for share in big_dealing.shares[:2]]
    with pytest.raises(SlotSumOutOfRangeError, match=f"slot 0 .* sums to {3 * level + 1}") as threshold_error:
        threshold_decrypt_aggregate(public, aggregate, partials)
    with pytest.raises(SlotSumOutOfRangeError) as single_error:
        decrypt_aggregate(paillier.PaillierPrivateKey(key, *big_primes), aggregate, workers=1)
    assert str(threshold_error.value) == str(single_error.value)


# --- serialization: round trips and hostile bytes --------------------------------------------------------------


def test_threshold_key_and_shares_round_trip(big_dealing):
    public = big_dealing.public
    data = public.to_bytes()
    parsed = ThresholdPublicKey.from_bytes(data)
    assert parsed == public and parsed.fingerprint == public.fingerprint
    assert public_key_from_bytes(public_key_to_bytes(public.public_key)) == public.public_key
    for share in big_dealing.shares:
        assert KeyShare.from_bytes(share.to_bytes(public), public) == share


def test_a_share_of_another_key_or_a_corrupted_share_is_refused(big_dealing, dealing):
    public = big_dealing.public
    data = bytearray(big_dealing.shares[1].to_bytes(public))
    with pytest.raises(KeyMismatchError, match="key share is for threshold key"):
        KeyShare.from_bytes(bytes(data), dealing(3, 2).public)
    data[-1] ^= 1
    with pytest.raises(KeyFormatError, match="custodian 2 does not match its verification key"):
        KeyShare.from_bytes(bytes(data), public)
    with pytest.raises(KeyFormatError, match="truncated"):
        KeyShare.from_bytes(bytes(data[:10]), public)


def _valid_partial_bytes(big_dealing) -> tuple[bytes, list[int]]:
    public = big_dealing.public
    ciphertexts = _ciphertexts(public, [1, 2, 3])
    return partial_decrypt(big_dealing.shares[0], public, ciphertexts, workers=1).to_bytes(public), ciphertexts


def test_partial_header_fields_out_of_bounds_are_refused_before_reading_values(big_dealing):
    public = big_dealing.public
    data, _ = _valid_partial_bytes(big_dealing)
    header = struct.Struct(">4sB32sHIH16sH")
    fields = list(header.unpack_from(data))

    def with_field(position: int, value) -> bytes:
        changed = list(fields)
        changed[position] = value
        return header.pack(*changed) + data[header.size :]

    cases = [
        (with_field(0, b"FLPX"), PartialFormatError, "not a serialized partial"),
        (with_field(1, 9), PartialFormatError, "version 9"),
        (with_field(2, bytes(32)), KeyMismatchError, "under threshold key"),
        (with_field(3, 0), PartialFormatError, "custodian 0, outside 1..3"),
        (with_field(3, 4), PartialFormatError, "custodian 4, outside 1..3"),
        (with_field(4, 0), PartialFormatError, "holds 0 values"),
        (with_field(4, 2**32 - 1), PartialFormatError, "truncated"),  # no 2^32-value allocation
        (with_field(5, 1), PartialFormatError, "values of 1 bytes"),
        (with_field(7, 65535), PartialFormatError, "proof response"),
        (data[:-1], PartialFormatError, "truncated"),
        (data + b"\0", PartialFormatError, "trailing bytes"),
        (data[:20], PartialFormatError, "header is"),
    ]
    for blob, error, message in cases:
        with pytest.raises(error, match=message):
            PartialDecryption.from_bytes(blob, public)
    with pytest.raises(PartialFormatError, match="holds 3 values, expected 4"):
        PartialDecryption.from_bytes(data, public, expected_count=4)
    width = header.unpack_from(data)[5]
    zero_value = data[: len(data) - width] + bytes(width)
    with pytest.raises(PartialFormatError, match="value 2 .* outside"):
        PartialDecryption.from_bytes(zero_value, public)


@_SETTINGS
@given(st.data())
def test_hostile_partial_bytes_give_only_he_errors(big_dealing, data):
    public = big_dealing.public
    valid, ciphertexts = _valid_partial_bytes_cached(big_dealing)
    blob = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    blob = bytes(blob[: data.draw(st.integers(0, len(blob) + 2))]) + data.draw(st.binary(max_size=3))
    try:
        parsed = PartialDecryption.from_bytes(blob, public, expected_count=3)
    except (PartialFormatError, KeyMismatchError):
        return
    if parsed.to_bytes(public) != valid:
        with pytest.raises(InvalidPartialError):
            verify_partial(public, ciphertexts, parsed)


@lru_cache(maxsize=1)
def _valid_partial_bytes_cached(big_dealing) -> tuple[bytes, list[int]]:
    return _valid_partial_bytes(big_dealing)


@_SETTINGS
@given(st.data())
def test_hostile_threshold_key_bytes_give_only_key_format_errors(big_dealing, data):
    valid = big_dealing.public.to_bytes()
    blob = bytearray(valid)
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] = data.draw(st.integers(0, 255))
    blob = bytes(blob[: data.draw(st.integers(0, len(blob) + 1))])
    try:
        parsed = ThresholdPublicKey.from_bytes(blob)
    except KeyFormatError:
        return
    assert parsed == big_dealing.public or parsed.fingerprint != big_dealing.public.fingerprint


@pytest.mark.parametrize("blob", [b"", b"FLTK", b"FLTK\x01\x03\x02\xff\xff", b"FLPK\x02" + bytes(40)])
def test_short_or_foreign_threshold_key_bytes_are_refused(blob):
    with pytest.raises(KeyFormatError):
        ThresholdPublicKey.from_bytes(blob)


def test_threshold_key_with_invalid_params_or_value_is_refused(big_dealing):
    valid = bytearray(big_dealing.public.to_bytes())
    bad_params = bytes(valid[:5]) + bytes([2, 3]) + bytes(valid[7:])
    with pytest.raises(KeyFormatError, match="invalid parameters"):
        ThresholdPublicKey.from_bytes(bad_params)
    width = (2 * BIG_BITS + 7) // 8
    with pytest.raises(KeyFormatError, match="verification key of custodian 3"):
        ThresholdPublicKey.from_bytes(bytes(valid[:-width]) + bytes(width))


def test_serialization_errors_are_he_errors():
    assert issubclass(PartialFormatError, SerializationError) and issubclass(PartialFormatError, HEError)
    assert issubclass(InsufficientPartialsError, HEError) and issubclass(InvalidPartialError, HEError)
