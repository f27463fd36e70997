"""Key holder: slot-range check after decryption and the participant minimum before it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he import (
    EncodingParams,
    EncryptedUpdate,
    InvalidParametersError,
    SlotLayout,
    SlotSumOutOfRangeError,
    TooFewParticipantsError,
    aggregate_updates,
    decrypt_aggregate,
    decrypt_slot_sums,
    encrypt_plaintexts,
    encrypt_update,
    key_fingerprint,
    pack,
)

# max level 255, slots of bitlen(4 * 10 * 255) = 14 bits: room above a single update's w * 255.
PARAMS = EncodingParams(clip_bound=1.0, value_bits=8, max_clients=4, max_weight=10)


def _raw_update(keys, slots, weight, context) -> EncryptedUpdate:
    """An update whose slots hold ``slots`` as given: what a dishonest encoder can produce."""
    layout = SlotLayout.for_key_bits(PARAMS, keys.public_key.n.bit_length())
    ciphertexts = encrypt_plaintexts(keys.public_key, pack(np.array(slots, dtype=np.uint64), layout), workers=1)
    return EncryptedUpdate(key_fingerprint(keys.public_key), layout, len(slots), context, weight, tuple(ciphertexts))


def test_slot_sum_above_the_total_bound_is_refused(keys, context):
    level = PARAMS.max_level
    overflowing = _raw_update(keys, [5, 3 * level + 1, 0, 2 * level + 7], 3, context(0))
    aggregate = aggregate_updates([overflowing], keys.public_key)
    with pytest.raises(SlotSumOutOfRangeError,
                       match=f"slot 1 .* sums to {3 * level + 1}, above the bound {3 * level} .*do not publish"):
        decrypt_aggregate(keys.private_key, aggregate, workers=1)


def test_slot_sum_at_the_bound_passes(keys, context):
    level = PARAMS.max_level
    updates = [_raw_update(keys, [level * 2, 0], 2, context(0)), _raw_update(keys, [level * 5, 0], 5, context(1))]
    sums = decrypt_slot_sums(keys.private_key, aggregate_updates(updates, keys.public_key), workers=1)
    assert sums.tolist() == [7 * level, 0]


def test_an_excess_hidden_by_others_low_values_is_not_detected(keys, context):
    # Documented limit: analyst 0 (weight 1) puts two weights' worth into slot 0, analyst 1 encodes 0 there;
    # the sum is within 2 * 255, so the mean moves to +B undetected.
    level = PARAMS.max_level
    updates = [_raw_update(keys, [2 * level], 1, context(0)), _raw_update(keys, [0], 1, context(1))]
    mean = decrypt_aggregate(keys.private_key, aggregate_updates(updates, keys.public_key), workers=1)
    assert mean.tolist() == [PARAMS.clip_bound]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, PARAMS.max_weight), st.lists(st.integers(0, 2**PARAMS.slot_bits - 1), min_size=1, max_size=40))
def test_decryption_refuses_exactly_the_slots_above_w_times_max_level(keys, context, weight, slots):
    aggregate = aggregate_updates([_raw_update(keys, slots, weight, context(0))], keys.public_key)
    bound = weight * PARAMS.max_level
    above = [i for i, value in enumerate(slots) if value > bound]
    if not above:
        assert decrypt_slot_sums(keys.private_key, aggregate, workers=1).tolist() == slots
        return
    with pytest.raises(SlotSumOutOfRangeError, match=f"slot {above[0]} .* sums to {slots[above[0]]},"):
        decrypt_slot_sums(keys.private_key, aggregate, workers=1)


def test_too_few_participants_are_refused_before_any_decryption(keys, context, monkeypatch):
    updates = [encrypt_update(keys.public_key, np.zeros(3), 1, PARAMS, context(i), workers=1) for i in range(2)]
    aggregate = aggregate_updates(updates, keys.public_key)

    def no_decryption(*_args):
        raise AssertionError("decryption ran")

    monkeypatch.setattr("clients.he.decryption.run_chunked", no_decryption)
    with pytest.raises(TooFewParticipantsError, match="sums 2 update\\(s\\), the minimum is 3"):
        decrypt_aggregate(keys.private_key, aggregate, workers=1, min_participants=3)
    with pytest.raises(TooFewParticipantsError):
        decrypt_slot_sums(keys.private_key, aggregate, workers=1, min_participants=3)
    with pytest.raises(InvalidParametersError, match="min_participants"):
        decrypt_aggregate(keys.private_key, aggregate, workers=1, min_participants=0)
    monkeypatch.undo()
    np.testing.assert_allclose(decrypt_aggregate(keys.private_key, aggregate, workers=1, min_participants=2), 0.0,
                               atol=PARAMS.quantization_bound)
