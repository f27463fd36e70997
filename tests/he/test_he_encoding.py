"""Encoding: quantization bound, packing round trips, headroom arithmetic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he import (
    MAX_CLIENTS,
    MAX_CLIP_BOUND,
    EncodingParams,
    InvalidParametersError,
    NonFiniteUpdateError,
    SlotLayout,
    SlotOverflowError,
    WeightOutOfRangeError,
    dequantize,
    pack,
    quantize,
    unpack,
    weight_levels,
)


@st.composite
def layouts_and_slots(draw):
    params = EncodingParams(
        clip_bound=draw(st.floats(0.01, 100.0)),
        value_bits=draw(st.integers(1, 24)),
        max_clients=draw(st.integers(1, 64)),
        max_weight=draw(st.integers(1, 5000)),
    )
    layout = SlotLayout.for_key_bits(params, draw(st.sampled_from([1024, 2048, 3072])))
    count = draw(st.integers(1, 3 * layout.slots_per_ciphertext + 1))
    top = (1 << layout.slot_bits) - 1
    slots = draw(st.lists(st.integers(0, top), min_size=count, max_size=count))
    return layout, np.array(slots, dtype=np.uint64)


@settings(max_examples=40, deadline=None)
@given(layouts_and_slots())
def test_pack_unpack_round_trip(case):
    layout, slots = case
    plaintexts = pack(slots, layout)
    assert len(plaintexts) == layout.num_ciphertexts(slots.size)
    # Every plaintext stays below 2^(|n|-1) <= n, whatever the slot contents.
    assert all(m.bit_length() <= layout.slots_per_ciphertext * layout.slot_bits for m in plaintexts)
    np.testing.assert_array_equal(unpack(plaintexts, layout, slots.size), slots)


def test_pack_puts_first_value_in_most_significant_slot():
    layout = SlotLayout.for_key_bits(EncodingParams(1.0, 4, 1, 1), 1024)
    (plaintext,) = pack(np.array([1, 2], dtype=np.uint64), layout)
    bits = layout.slots_per_ciphertext * layout.slot_bits
    assert plaintext == (1 << (bits - 4)) | (2 << (bits - 8))


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.1, 10.0),
    st.integers(2, 20),
    st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=50),
)
def test_quantize_dequantize_within_bound(bound, bits, unit_values):
    params = EncodingParams(clip_bound=bound, value_bits=bits, max_clients=1, max_weight=1)
    layout = SlotLayout.for_key_bits(params, 1024)
    values = np.array(unit_values) * bound
    levels, clipped = quantize(values, params)
    assert clipped == 0
    assert int(levels.max()) <= params.max_level
    decoded = dequantize(levels, 1, layout)
    assert np.abs(decoded - values).max() <= params.quantization_bound * (1 + 1e-9)


def test_quantize_clips_and_counts():
    params = EncodingParams(clip_bound=0.5, value_bits=8)
    levels, clipped = quantize(np.array([-3.0, 0.0, 0.5, 7.0]), params)
    assert clipped == 2
    assert levels.tolist() == [0, 128, 255, 255]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_quantize_refuses_non_finite(bad, params):
    with pytest.raises(NonFiniteUpdateError, match="index 2"):
        quantize(np.array([0.1, 0.2, bad]), params)


def test_weight_outside_headroom_is_refused(params):
    levels, _ = quantize(np.zeros(3), params)
    with pytest.raises(WeightOutOfRangeError, match="1025"):
        weight_levels(levels, 1025, params)
    with pytest.raises(WeightOutOfRangeError):
        weight_levels(levels, 0, params)


def test_slot_bits_hold_the_largest_weighted_sum(params):
    largest = params.max_clients * params.max_weight * params.max_level
    assert largest < 1 << params.slot_bits
    assert params.slot_bits == 30
    assert SlotLayout.for_key_bits(params, 2048).slots_per_ciphertext == 68
    assert SlotLayout.for_key_bits(params, 3072).slots_per_ciphertext == 102


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"clip_bound": MAX_CLIP_BOUND * 2}, "clip_bound must be a finite float in \\(0, 1e\\+06\\]"),
        ({"clip_bound": float("nan")}, "clip_bound"),
        ({"clip_bound": 0.0}, "clip_bound"),
        ({"max_clients": MAX_CLIENTS + 1, "value_bits": 1, "max_weight": 1}, f"max_clients must be in 1..{MAX_CLIENTS}"),
        ({"max_clients": 0}, "max_clients"),
        ({"max_weight": 0}, "max_weight"),
    ],
)
def test_params_outside_the_format_limits_are_refused(fields, message):
    with pytest.raises(InvalidParametersError, match=message):
        EncodingParams(**fields)


def test_params_needing_more_than_64_bit_slots_are_refused():
    with pytest.raises(InvalidParametersError, match="slot needs"):
        EncodingParams(value_bits=32, max_clients=1 << 16, max_weight=1 << 20)


def test_unpack_refuses_a_plaintext_wider_than_its_slots(params):
    layout = SlotLayout.for_key_bits(params, 1024)
    with pytest.raises(SlotOverflowError, match="plaintext 0"):
        unpack([1 << (layout.slots_per_ciphertext * layout.slot_bits)], layout, 1)


def test_unpack_refuses_nonzero_padding(params):
    layout = SlotLayout.for_key_bits(params, 1024)
    (plaintext,) = pack(np.array([5, 9], dtype=np.uint64), layout)
    with pytest.raises(SlotOverflowError, match="padding"):
        unpack([plaintext], layout, 1)
