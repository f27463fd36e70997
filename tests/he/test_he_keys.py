"""Key generation, fingerprints and versioned key bytes."""

import hashlib

import pytest

from clients.he import (
    RandomnessPool,
    classic_keypair,
    InvalidParametersError,
    KeyFormatError,
    generate_keypair,
    key_fingerprint,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)


def test_public_key_round_trip_and_fingerprint(keys):
    data = public_key_to_bytes(keys.public_key)
    loaded = public_key_from_bytes(data)
    assert loaded.n == keys.public_key.n
    assert (loaded.hs, loaded.exponent_bits) == (keys.public_key.hs, keys.public_key.exponent_bits)
    # A DJN key's fingerprint covers its whole serialized form (n, h_s, exponent length).
    assert key_fingerprint(loaded) == hashlib.sha256(data).digest()
    assert data[:4] == b"FLPK" and data[4] == 2


def test_classic_public_key_keeps_version_1_and_sha256_of_n(keys):
    classic = classic_keypair(keys).public_key
    data = public_key_to_bytes(classic)
    n_bytes = classic.n.to_bytes((classic.n.bit_length() + 7) // 8, "big")
    assert data == b"FLPK" + bytes([1]) + len(n_bytes).to_bytes(2, "big") + n_bytes
    assert key_fingerprint(public_key_from_bytes(data)) == hashlib.sha256(n_bytes).digest()
    assert key_fingerprint(classic) != key_fingerprint(keys.public_key)


def test_private_key_round_trip_decrypts(keys):
    loaded = private_key_from_bytes(private_key_to_bytes(keys.private_key))
    assert loaded.public_key.n == keys.public_key.n
    assert loaded.raw_decrypt(keys.public_key.raw_encrypt(424242)) == 424242


def test_generated_key_has_requested_size():
    assert generate_keypair(1024).public_key.n.bit_length() == 1024


def test_too_small_key_is_refused():
    with pytest.raises(InvalidParametersError, match="at least 1024"):
        generate_keypair(512)


def test_truncated_public_key_is_refused(keys):
    data = public_key_to_bytes(keys.public_key)
    with pytest.raises(KeyFormatError, match="truncated"):
        public_key_from_bytes(data[:-1])


def test_unknown_key_version_is_refused(keys):
    data = bytearray(public_key_to_bytes(keys.public_key))
    data[4] = 9
    with pytest.raises(KeyFormatError, match="version 9"):
        public_key_from_bytes(bytes(data))


def test_private_key_bytes_are_not_a_public_key(keys):
    with pytest.raises(KeyFormatError, match="magic"):
        public_key_from_bytes(private_key_to_bytes(keys.private_key))


def test_corrupted_private_key_is_refused(keys):
    data = bytearray(private_key_to_bytes(classic_keypair(keys).private_key))
    data[-1] ^= 0x02  # q (the last field of a classic key) changes, so p*q no longer matches the fingerprint
    with pytest.raises(KeyFormatError, match="fingerprint"):
        private_key_from_bytes(bytes(data))


def test_no_secret_is_printed_by_repr_or_str(keys):
    p, q = keys.private_key.p, keys.private_key.q
    pool = RandomnessPool(keys.public_key)
    pool.fill(2, workers=1)
    obfuscators = list(pool._values)
    for text in (repr(keys), str(keys), repr(keys.private_key), str(keys.private_key), repr(pool), str(pool)):
        for secret in (p, q, *obfuscators):
            assert str(secret) not in text and hex(secret)[2:] not in text
    assert "PaillierPrivateKey for" in repr(keys) and "available=2" in repr(pool)
