"""Keyless homomorphic sum: correctness, determinism, and refusal of bad rounds."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he import (
    ContextMismatchError,
    DuplicateUpdateError,
    EncodingParams,
    EncryptedAggregate,
    HeadroomExceededError,
    KeyMismatchError,
    LayoutMismatchError,
    RandomnessPool,
    RoundContext,
    UpdateContext,
    aggregate_update_bytes,
    aggregate_updates,
    decrypt_aggregate,
    decrypt_slot_sums,
    digest,
    encrypt_update,
    quantize,
)


def _encrypt_all(keys, params, vectors, weights, context, **kwargs):
    return [
        encrypt_update(keys.public_key, x, w, params, context(i), workers=1, **kwargs)
        for i, (x, w) in enumerate(zip(vectors, weights))
    ]


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 80),
    st.lists(st.integers(1, 1024), min_size=5, max_size=5),
    st.integers(0, 2**32 - 1),
)
def test_sum_decrypts_to_exact_weighted_level_sums(keys, context, clients, length, weights, seed):
    params = EncodingParams(1.0, 16, 5, 1024)
    rng = np.random.default_rng(seed)
    vectors = [rng.uniform(-1.0, 1.0, length) for _ in range(clients)]
    weights = weights[:clients]
    aggregate = aggregate_updates(_encrypt_all(keys, params, vectors, weights, context), keys.public_key)
    expected = sum(np.uint64(w) * quantize(x, params)[0] for x, w in zip(vectors, weights))
    np.testing.assert_array_equal(decrypt_slot_sums(keys.private_key, aggregate, workers=1), expected)
    mean = decrypt_aggregate(keys.private_key, aggregate, workers=1)
    reference = sum(w * x for x, w in zip(vectors, weights)) / sum(weights)
    assert np.abs(mean - reference).max() <= params.quantization_bound * (1 + 1e-9)


def test_full_headroom_does_not_overflow(keys, context):
    params = EncodingParams(2.0, 12, 3, 1000)
    vectors = [np.full(50, 2.0), np.full(50, 2.0), np.full(50, 2.0)]
    aggregate = aggregate_updates(_encrypt_all(keys, params, vectors, [1000] * 3, context), keys.public_key)
    sums = decrypt_slot_sums(keys.private_key, aggregate, workers=1)
    assert sums.tolist() == [3 * 1000 * params.max_level] * 50
    np.testing.assert_allclose(decrypt_aggregate(keys.private_key, aggregate, workers=1), 2.0)


def test_aggregate_bytes_are_deterministic_order_independent_and_carry_the_round(keys, params, context):
    rng = np.random.default_rng(1)
    vectors = [rng.normal(0, 0.3, 100) for _ in range(3)]
    updates = _encrypt_all(keys, params, vectors, [5, 9, 2], lambda i: context(i, 4, 7, 2))
    blobs = [u.to_bytes(keys.public_key) for u in updates]
    first = aggregate_update_bytes(blobs, keys.public_key)
    assert aggregate_update_bytes(blobs, keys.public_key) == first
    assert aggregate_update_bytes(blobs[::-1], keys.public_key) == first
    parsed = EncryptedAggregate.from_bytes(first, keys.public_key)
    assert list(parsed.input_digests) == sorted(digest(b) for b in blobs)
    assert parsed.weights_total == 16 and parsed.client_count == 3
    assert parsed.context == RoundContext(4, 7, 2)
    assert parsed.encoding_digest == updates[0].encoding_digest


def test_aggregate_is_interoperable_with_python_paillier(keys, params, context):
    (update,) = _encrypt_all(keys, params, [np.zeros(10)], [1], context)
    aggregate = aggregate_updates([update], keys.public_key)
    # phe decrypts our raw ciphertexts, and phe's raw ciphertexts add into ours.
    plain = keys.private_key.raw_decrypt(aggregate.ciphertexts[0])
    extra = keys.public_key.raw_encrypt(1)
    nsquare = keys.public_key.nsquare
    assert keys.private_key.raw_decrypt(aggregate.ciphertexts[0] * extra % nsquare) == plain + 1


def test_randomness_pool_gives_correct_and_single_use_obfuscators(keys, params, context):
    pool = RandomnessPool(keys.public_key)
    pool.fill(6, workers=1)
    vectors = [np.linspace(-1, 1, 100), np.linspace(1, -1, 100)]  # 3 ciphertexts each at 1024 bits
    updates = _encrypt_all(keys, params, vectors, [2, 3], context, pool=pool)
    assert len(pool) == 0
    assert len(set(updates[0].ciphertexts) | set(updates[1].ciphertexts)) == 6
    mean = decrypt_aggregate(keys.private_key, aggregate_updates(updates, keys.public_key), workers=1)
    assert np.abs(mean - (2 * vectors[0] + 3 * vectors[1]) / 5).max() <= params.quantization_bound


def test_encryption_is_randomized(keys, params, context):
    a, b = _encrypt_all(keys, params, [np.zeros(5), np.zeros(5)], [1, 1], context)
    assert a.ciphertexts != b.ciphertexts


def test_pool_for_another_key_is_refused(keys, other_keys, params, context):
    pool = RandomnessPool(other_keys.public_key)
    pool.fill(1, workers=1)
    with pytest.raises(KeyMismatchError, match="randomness pool"):
        encrypt_update(keys.public_key, np.zeros(3), 1, params, context(), pool=pool, workers=1)


def test_process_pool_path_matches(keys, params, context):
    rng = np.random.default_rng(7)
    vectors = [rng.uniform(-1, 1, 400) for _ in range(2)]
    updates = [encrypt_update(keys.public_key, x, 3, params, context(i), workers=2) for i, x in enumerate(vectors)]
    mean = decrypt_aggregate(keys.private_key, aggregate_updates(updates, keys.public_key), workers=2)
    assert np.abs(mean - (vectors[0] + vectors[1]) / 2).max() <= params.quantization_bound


def test_update_under_another_key_is_refused(keys, other_keys, params, context):
    ours = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(0), workers=1)
    theirs = encrypt_update(other_keys.public_key, np.zeros(4), 1, params, context(1), workers=1)
    with pytest.raises(KeyMismatchError, match=theirs.submitter):
        aggregate_updates([ours, theirs], keys.public_key)


@pytest.mark.parametrize(
    ("other", "field"),
    [
        (EncodingParams(2.0, 16, 10, 1024), "clip_bound 1.0 != 2.0"),
        (EncodingParams(1.0, 12, 10, 1024), "value_bits 16 != 12"),
        (EncodingParams(1.0, 16, 20, 1024), "max_clients 10 != 20"),
        (EncodingParams(1.0, 16, 10, 512), "max_weight 1024 != 512"),
    ],
)
def test_other_encoding_is_refused_naming_the_digest_and_parameter(keys, params, context, other, field):
    a = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(0), workers=1)
    b = encrypt_update(keys.public_key, np.zeros(4), 1, other, context(1), workers=1)
    with pytest.raises(ContextMismatchError, match=f"{b.submitter}.*encoding digest.*{field}"):
        aggregate_updates([a, b], keys.public_key)


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("federation", {"federation_id": 2}, "federation: expected 1, found 2"),
        ("round", {"round": 5}, "round: expected 1, found 5"),
        ("key epoch", {"key_epoch": 3}, "key epoch: expected 1, found 3"),
    ],
)
def test_mixed_round_contexts_are_refused_naming_the_field(keys, params, context, field, overrides, message):
    a = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(0), workers=1)
    b = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(1, **overrides), workers=1)
    blobs = [a.to_bytes(keys.public_key), b.to_bytes(keys.public_key)]
    for run in (lambda: aggregate_updates([a, b], keys.public_key),
                lambda: aggregate_update_bytes(blobs, keys.public_key)):
        with pytest.raises(ContextMismatchError, match=f"{b.submitter}.*{message}"):
            run()


# Few values per field, so equal contexts come up often; the extremes check the u64/u32 header fields.
_U64 = st.sampled_from([1, 2, 2**64 - 1])
_U32 = st.sampled_from([1, 2, 2**32 - 1])


@settings(max_examples=25, deadline=None)
@given(_U64, _U64, _U32, _U64, _U64, _U32)
def test_updates_aggregate_exactly_when_their_round_contexts_agree(keys, context, f1, r1, e1, f2, r2, e2):
    params = EncodingParams()
    a = encrypt_update(keys.public_key, np.zeros(1), 1, params, UpdateContext(f1, r1, e1, context(0).submitter),
                       workers=1)
    b = encrypt_update(keys.public_key, np.zeros(1), 1, params, UpdateContext(f2, r2, e2, context(1).submitter),
                       workers=1)
    if (f1, r1, e1) == (f2, r2, e2):
        aggregate = aggregate_updates([a, b], keys.public_key)
        assert EncryptedAggregate.from_bytes(aggregate.to_bytes(keys.public_key), keys.public_key) == aggregate
        assert aggregate.context == RoundContext(f1, r1, e1)
    else:
        with pytest.raises(ContextMismatchError):
            aggregate_updates([a, b], keys.public_key)


def test_mismatched_scale_is_refused(keys, params, context):
    a = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(0), workers=1)
    b = dataclasses.replace(a, context=context(1), layout=dataclasses.replace(a.layout, scale=a.layout.scale / 2))
    with pytest.raises(LayoutMismatchError, match="scale"):
        aggregate_updates([a, b], keys.public_key)


def test_mismatched_length_is_refused(keys, params, context):
    a = encrypt_update(keys.public_key, np.zeros(4), 1, params, context(0), workers=1)
    b = encrypt_update(keys.public_key, np.zeros(5), 1, params, context(1), workers=1)
    with pytest.raises(LayoutMismatchError, match="num_values 4 != 5"):
        aggregate_updates([a, b], keys.public_key)


def test_too_many_clients_for_the_headroom_is_refused(keys, context):
    params = EncodingParams(1.0, 8, 2, 4)
    updates = _encrypt_all(keys, params, [np.zeros(3)] * 3, [1, 1, 1], context)
    with pytest.raises(HeadroomExceededError, match="3 updates exceed .* 2 clients"):
        aggregate_updates(updates, keys.public_key)


def test_same_update_twice_is_refused(keys, params, context):
    (update,) = _encrypt_all(keys, params, [np.zeros(3)], [1], context)
    with pytest.raises(DuplicateUpdateError, match=update.submitter):
        aggregate_updates([update, update], keys.public_key)
    blob = update.to_bytes(keys.public_key)
    with pytest.raises(DuplicateUpdateError, match=update.submitter):
        aggregate_update_bytes([blob, blob], keys.public_key)


def test_two_updates_of_one_submitter_are_refused(keys, params, context):
    first = encrypt_update(keys.public_key, np.zeros(3), 1, params, context(0), workers=1)
    # Same address in another letter case: still the same submitter.
    upper = UpdateContext(1, 1, 1, "0x" + context(0).submitter[2:].upper())
    second = encrypt_update(keys.public_key, np.ones(3) / 2, 2, params, upper, workers=1)
    assert second.submitter == first.submitter
    with pytest.raises(DuplicateUpdateError, match=f"{first.submitter} has more than one update"):
        aggregate_updates([first, second], keys.public_key)


def test_update_with_missing_ciphertexts_is_refused(keys, params, context):
    a = encrypt_update(keys.public_key, np.zeros(100), 1, params, context(0), workers=1)
    b = encrypt_update(keys.public_key, np.zeros(100), 1, params, context(1), workers=1)
    short = dataclasses.replace(b, ciphertexts=b.ciphertexts[:-1])
    with pytest.raises(LayoutMismatchError, match="ciphertexts for 100 values"):
        aggregate_updates([a, short], keys.public_key)
