"""DJN short-exponent obfuscators: correctness, key format, and binding of h_s to the key."""

import struct

import gmpy2
import numpy as np
import pytest
from phe import paillier

from clients.he import (
    DJNPublicKey,
    EncryptedUpdate,
    KeyFormatError,
    KeyMismatchError,
    RandomnessPool,
    aggregate_update_bytes,
    aggregate_updates,
    classic_keypair,
    decrypt_aggregate,
    djn_exponent_bits,
    encrypt_plaintexts,
    encrypt_update,
    key_fingerprint,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)
from clients.he.obfuscators import (
    TABLE_MIN_COUNT,
    ObfuscatorSpec,
    fixed_base_power,
    fixed_base_table,
    fresh_obfuscators,
)


def _v2_bytes(n: int, hs: int, exponent_bits: int) -> bytes:
    n_bytes = n.to_bytes((n.bit_length() + 7) // 8, "big")
    hs_bytes = hs.to_bytes(max(1, (hs.bit_length() + 7) // 8), "big")
    return (b"FLPK" + struct.pack(">BH", 2, len(n_bytes)) + n_bytes
            + struct.pack(">HH", exponent_bits, len(hs_bytes)) + hs_bytes)


def _forged(keys):
    """Same n, another h_s: (1+n) * h_s is a unit but not an n-th residue."""
    n = keys.public_key.n
    return DJNPublicKey(n, keys.public_key.hs * (1 + n) % (n * n), keys.public_key.exponent_bits)


def test_generated_key_carries_a_djn_base_of_the_literature_length(keys):
    public, private = keys.public_key, keys.private_key
    assert isinstance(public, DJNPublicKey)
    assert public.exponent_bits == djn_exponent_bits(1024) == 512
    phi = (private.p - 1) * (private.q - 1)
    assert gmpy2.powmod(public.hs, phi, public.nsquare) == 1  # an n-th residue
    assert public.hs not in (1, public.nsquare - 1)


def test_djn_modulus_is_a_blum_integer_of_the_requested_size(keys):
    p, q = keys.private_key.p, keys.private_key.q
    assert p % 4 == 3 and q % 4 == 3 and p != q
    assert (p * q).bit_length() == keys.public_key.n.bit_length() == 1024


def test_table_path_and_powmod_path_give_n_th_residues(keys):
    spec = ObfuscatorSpec.for_key(keys.public_key)
    phi = (keys.private_key.p - 1) * (keys.private_key.q - 1)
    for count in (3, TABLE_MIN_COUNT):
        obfuscators = fresh_obfuscators(spec, list(range(count)))
        assert len(set(obfuscators)) == count
        assert all(gmpy2.powmod(s, phi, keys.public_key.nsquare) == 1 for s in obfuscators)


def test_fixed_base_power_matches_powmod(keys):
    public = keys.public_key
    table = fixed_base_table(public.hs, public.nsquare, public.exponent_bits)
    for exponent in (0, 1, 127, 128, 2**public.exponent_bits - 1, 0x1234567 << 300):
        got = fixed_base_power(table, exponent, gmpy2.mpz(public.nsquare))
        assert got == gmpy2.powmod(public.hs, exponent, public.nsquare)


def test_python_paillier_decrypts_djn_ciphertexts(keys):
    plaintexts = [(i * 7919) % keys.public_key.n for i in range(TABLE_MIN_COUNT + 6)]
    ciphertexts = encrypt_plaintexts(keys.public_key, plaintexts, workers=1)
    assert [keys.private_key.raw_decrypt(c) for c in ciphertexts] == plaintexts
    # python-paillier's own private key, built from the primes only, agrees.
    phe_public = paillier.PaillierPublicKey(keys.public_key.n)
    phe_private = paillier.PaillierPrivateKey(phe_public, keys.private_key.p, keys.private_key.q)
    assert phe_private.raw_decrypt(ciphertexts[5]) == plaintexts[5]


def test_djn_round_trip_and_weighted_sum(keys, params, context):
    rng = np.random.default_rng(3)
    vectors = [rng.uniform(-1, 1, 2500) for _ in range(3)]  # > TABLE_MIN_COUNT ciphertexts at 1024 bits
    weights = [3, 10, 7]
    updates = [encrypt_update(keys.public_key, x, w, params, context(i), workers=1)
               for i, (x, w) in enumerate(zip(vectors, weights))]
    assert len(updates[0].ciphertexts) >= TABLE_MIN_COUNT
    blobs = [u.to_bytes(keys.public_key) for u in updates]
    aggregate = aggregate_update_bytes(blobs, keys.public_key)
    assert aggregate_update_bytes(blobs[::-1], keys.public_key) == aggregate
    mean = decrypt_aggregate(keys.private_key, aggregate_updates(updates, keys.public_key), workers=1)
    reference = sum(w * x for x, w in zip(vectors, weights)) / sum(weights)
    assert np.abs(mean - reference).max() <= params.quantization_bound


def test_old_format_key_still_works(keys, params, context):
    classic = classic_keypair(keys)
    loaded = public_key_from_bytes(public_key_to_bytes(classic.public_key))
    assert type(loaded) is paillier.PaillierPublicKey
    private = private_key_from_bytes(private_key_to_bytes(classic.private_key))
    assert private_key_to_bytes(private)[4] == 1
    pool = RandomnessPool(loaded)
    pool.fill(2, workers=1)
    x = np.linspace(-1, 1, 40)
    updates = [encrypt_update(loaded, x, 2, params, context(0), pool=pool, workers=1),
               encrypt_update(loaded, -x, 2, params, context(1), workers=1)]
    mean = decrypt_aggregate(private, aggregate_updates(updates, loaded), workers=1)
    assert np.abs(mean).max() <= params.quantization_bound


def test_new_key_formats_round_trip(keys):
    data = public_key_to_bytes(keys.public_key)
    assert public_key_from_bytes(data) == keys.public_key
    secret = private_key_to_bytes(keys.private_key)
    assert secret[4] == 2
    loaded = private_key_from_bytes(secret)
    assert loaded.public_key == keys.public_key
    assert key_fingerprint(loaded.public_key) == key_fingerprint(keys.public_key)
    with pytest.raises(KeyFormatError, match="truncated"):
        public_key_from_bytes(data[:-3])
    with pytest.raises(KeyFormatError, match="trailing"):
        public_key_from_bytes(data + b"\0")


def test_swapped_h_s_changes_the_fingerprint_and_is_refused(keys, params, context):
    forged = _forged(keys)
    assert key_fingerprint(forged) != key_fingerprint(keys.public_key)
    update = encrypt_update(forged, np.zeros(10), 1, params, context(0), workers=1)
    with pytest.raises(KeyMismatchError, match="another federation or key epoch"):
        EncryptedUpdate.from_bytes(update.to_bytes(forged), keys.public_key)
    honest = encrypt_update(keys.public_key, np.zeros(10), 1, params, context(1), workers=1)
    with pytest.raises(KeyMismatchError, match=f"submitter {update.submitter}"):
        aggregate_updates([honest, update], keys.public_key)
    pool = RandomnessPool(forged)
    pool.fill(1, workers=1)
    with pytest.raises(KeyMismatchError, match="randomness pool"):
        pool.take(1, keys.public_key)


def test_private_key_with_swapped_h_s_is_refused(keys):
    forged = paillier.PaillierPrivateKey(_forged(keys), keys.private_key.p, keys.private_key.q)
    data = private_key_to_bytes(forged)
    # h_s changes, the recorded fingerprint does not.
    with pytest.raises(KeyFormatError, match="fingerprint"):
        private_key_from_bytes(data[:5] + key_fingerprint(keys.public_key) + data[37:])
    # Consistent fingerprint, but h_s is not an n-th residue: only the key holder can tell.
    with pytest.raises(KeyFormatError, match="not an n-th residue"):
        private_key_from_bytes(data)


@pytest.mark.parametrize("what", ["zero", "one", "minus one", "n^2", "above n^2", "non-unit"])
def test_bad_h_s_is_refused(keys, what):
    n, p = keys.public_key.n, keys.private_key.p
    hs = {"zero": 0, "one": 1, "minus one": n * n - 1, "n^2": n * n, "above n^2": n * n + 5, "non-unit": p}[what]
    with pytest.raises(KeyFormatError, match="h_s"):
        public_key_from_bytes(_v2_bytes(n, hs, 512))
    with pytest.raises(KeyFormatError, match="h_s"):
        DJNPublicKey(n, hs, 512)


@pytest.mark.parametrize("exponent_bits", [0, 128, 255, 1025])
def test_bad_exponent_length_is_refused(keys, exponent_bits):
    with pytest.raises(KeyFormatError, match="exponent length"):
        public_key_from_bytes(_v2_bytes(keys.public_key.n, keys.public_key.hs, exponent_bits))


def _private_bytes_with_base(keys, hs: int) -> bytes:
    """Private key bytes of the same primes with DJN base ``hs`` and a consistent fingerprint."""
    public = DJNPublicKey(keys.public_key.n, hs, keys.public_key.exponent_bits)
    return private_key_to_bytes(paillier.PaillierPrivateKey(public, keys.private_key.p, keys.private_key.q))


def test_generated_base_is_a_non_residue_mod_p_and_q_and_jacobi_one_mod_n(keys):
    hs, p, q, n = keys.public_key.hs, keys.private_key.p, keys.private_key.q, keys.public_key.n
    assert gmpy2.legendre(hs % p, p) == gmpy2.legendre(hs % q, q) == -1
    assert gmpy2.jacobi(hs % n, n) == 1
    assert private_key_from_bytes(private_key_to_bytes(keys.private_key)) == keys.private_key


def test_residue_base_is_refused_by_the_key_holder(keys):
    # (x^2)^n is an n-th residue with Jacobi +1: it passes every public check, but it is a
    # quadratic residue mod p and q (Legendre +1), not a DJN base (-x^2)^n.
    n = keys.public_key.n
    residue = int(gmpy2.powmod(12345**2, n, n * n))
    assert gmpy2.powmod(residue, (keys.private_key.p - 1) * (keys.private_key.q - 1), n * n) == 1
    with pytest.raises(KeyFormatError, match="quadratic residue .* mod p"):
        private_key_from_bytes(_private_bytes_with_base(keys, residue))


@pytest.mark.parametrize("hs", [4, 9, 2**64])
def test_tiny_square_bases_are_refused_by_the_key_holder(keys, hs):
    # Small squares (1-like bases: tiny, of known discrete log) pass the public checks only.
    DJNPublicKey(keys.public_key.n, hs, keys.public_key.exponent_bits)
    with pytest.raises(KeyFormatError, match="quadratic residue"):
        private_key_from_bytes(_private_bytes_with_base(keys, hs))


def test_public_base_with_jacobi_minus_one_is_refused(keys):
    n, p, q = keys.public_key.n, keys.private_key.p, keys.private_key.q
    # An element of order 2: 1 mod p^2, -1 mod q^2 (Jacobi (+1)(-1) = -1 mod n).
    order_two = int(gmpy2.invert(p * p, q * q) * p * p * (q * q - 2) + 1) % (n * n)
    assert gmpy2.powmod(order_two, 2, n * n) == 1 and gmpy2.jacobi(order_two % n, n) == -1
    with pytest.raises(KeyFormatError, match="Jacobi symbol -1"):
        DJNPublicKey(n, order_two, 512)
    with pytest.raises(KeyFormatError, match="Jacobi symbol -1"):
        public_key_from_bytes(_v2_bytes(n, order_two, 512))
