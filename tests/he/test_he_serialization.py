"""Binary format of encrypted updates and aggregates: layout, round trip, hostile input."""

import hashlib
import re
import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he import (
    MAX_CLIENTS,
    MAX_CLIP_BOUND,
    MAX_VALUES,
    EncodingParams,
    EncryptedAggregate,
    EncryptedUpdate,
    HEError,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
    UpdateContext,
    aggregate_updates,
    ciphertext_width,
    encoding_digest,
    encrypt_update,
)
from clients.he.serialization import _HEADER

_FIELDS = ("magic", "version", "kind", "fingerprint", "width", "value_bits", "slot_bits", "slots", "max_clients",
           "max_weight", "clip_bound", "scale", "encoding_digest", "federation_id", "round", "key_epoch",
           "num_values", "num_ciphertexts", "client_count", "weights_total")
SUBMITTER = "0x" + "5a" * 20


@pytest.fixture(scope="module")
def update_bytes(keys):
    params = EncodingParams(1.0, 16, 10, 1024)
    update = encrypt_update(keys.public_key, np.linspace(-1, 1, 300), 7, params,
                            UpdateContext(3, 8, 2, SUBMITTER), workers=1)
    return update, update.to_bytes(keys.public_key)


def _header(data: bytes) -> dict:
    return dict(zip(_FIELDS, _HEADER.unpack_from(data)))


def _with(data: bytes, **changes) -> bytes:
    """``data`` with some fixed-header fields replaced."""
    fields = {**_header(data), **changes}
    return _HEADER.pack(*(fields[name] for name in _FIELDS)) + data[_HEADER.size:]


def test_round_trip_is_identity_and_keeps_the_context(keys, update_bytes):
    update, data = update_bytes
    parsed = EncryptedUpdate.from_bytes(data, keys.public_key)
    assert parsed == update
    assert parsed.context == UpdateContext(3, 8, 2, SUBMITTER) and parsed.submitter == SUBMITTER
    assert parsed.to_bytes(keys.public_key) == data


def test_header_layout_is_the_documented_one(keys, update_bytes):
    update, data = update_bytes
    header = _header(data)
    assert _HEADER.size == 148
    assert (header["magic"], header["version"], header["kind"]) == (b"FLHE", 2, 1)
    assert (header["federation_id"], header["round"], header["key_epoch"]) == (3, 8, 2)
    assert header["encoding_digest"] == encoding_digest(update.layout.params)
    assert (header["client_count"], header["weights_total"]) == (1, 7)
    assert data[148:168] == bytes.fromhex("5a" * 20)
    assert len(data) == 168 + len(update.ciphertexts) * ciphertext_width(keys.public_key)


def test_encoding_digest_is_sha256_of_tag_and_parameters():
    params = EncodingParams(0.5, 12, 7, 300)
    expected = hashlib.sha256(b"FLEP-encoding-v1" + struct.pack(">dBIQ", 0.5, 12, 7, 300)).digest()
    assert encoding_digest(params) == expected
    assert encoding_digest(EncodingParams(0.5, 12, 7, 301)) != expected


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 2**64 - 1), st.integers(1, 2**64 - 1), st.integers(1, 2**32 - 1),
    st.binary(min_size=20, max_size=20), st.integers(1, 1024), st.integers(1, 120),
)
def test_any_context_round_trips(keys, federation_id, round_, key_epoch, address, weight, length):
    context = UpdateContext(federation_id, round_, key_epoch, "0x" + address.hex())
    update = encrypt_update(keys.public_key, np.linspace(-1, 1, length), weight, EncodingParams(), context,
                            workers=1)
    data = update.to_bytes(keys.public_key)
    assert EncryptedUpdate.from_bytes(data, keys.public_key) == update
    aggregate = aggregate_updates([update], keys.public_key)
    assert EncryptedAggregate.from_bytes(aggregate.to_bytes(keys.public_key), keys.public_key) == aggregate


def test_aggregate_round_trip(keys, update_bytes):
    update, _ = update_bytes
    aggregate = aggregate_updates([update], keys.public_key)
    data = aggregate.to_bytes(keys.public_key)
    assert EncryptedAggregate.from_bytes(data, keys.public_key) == aggregate
    header = _header(data)
    assert (header["kind"], header["federation_id"], header["round"], header["key_epoch"]) == (2, 3, 8, 2)
    assert header["encoding_digest"] == update.encoding_digest


def test_repr_leaves_out_the_ciphertexts(update_bytes):
    update, _ = update_bytes
    assert str(update.ciphertexts[0]) not in repr(update) and SUBMITTER in repr(update)


def test_truncated_file_is_refused(keys, update_bytes):
    _, data = update_bytes
    for cut in (data[:-10], data[:40], data[:3]):
        with pytest.raises(SerializationError, match="truncated"):
            EncryptedUpdate.from_bytes(cut, keys.public_key)


def test_trailing_bytes_are_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="trailing"):
        EncryptedUpdate.from_bytes(data + b"\0", keys.public_key)


def test_ciphertext_not_below_n_squared_is_refused(keys, update_bytes):
    _, data = update_bytes
    width = ciphertext_width(keys.public_key)
    forged = data[:168] + b"\xff" * width + data[168 + width:]
    with pytest.raises(MalformedCiphertextError, match=f"ciphertext 0 of the update of {SUBMITTER} .* >= n\\^2"):
        EncryptedUpdate.from_bytes(forged, keys.public_key)


def test_ciphertext_sharing_a_factor_with_n_is_refused(keys, update_bytes):
    _, data = update_bytes
    width = ciphertext_width(keys.public_key)
    offset = 168 + width  # second ciphertext
    forged = data[:offset] + keys.private_key.p.to_bytes(width, "big") + data[offset + width:]
    with pytest.raises(MalformedCiphertextError, match="ciphertext 1 .* not a unit"):
        EncryptedUpdate.from_bytes(forged, keys.public_key)


def test_wrong_key_is_refused_by_fingerprint(keys, other_keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(KeyMismatchError, match="federation key"):
        EncryptedUpdate.from_bytes(data, other_keys.public_key)


def test_update_is_not_an_aggregate(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="expected an encrypted aggregate"):
        EncryptedAggregate.from_bytes(data, keys.public_key)


def test_version_1_file_is_refused_with_what_to_do(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="format version 1 .* re-encrypt with this build"):
        EncryptedUpdate.from_bytes(data[:4] + b"\x01" + data[5:], keys.public_key)
    with pytest.raises(SerializationError, match="format version 1"):
        EncryptedUpdate.from_bytes(b"FLHE\x01\x01" + bytes(40), keys.public_key)


def test_unknown_format_version_is_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="format version 3; this build reads 2"):
        EncryptedUpdate.from_bytes(data[:4] + b"\x03" + data[5:], keys.public_key)


def test_header_scale_inconsistent_with_parameters_is_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="inconsistent .* scale"):
        EncryptedUpdate.from_bytes(_with(data, scale=_header(data)["scale"] * 2), keys.public_key)


def test_header_weight_beyond_headroom_is_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="headroom"):
        EncryptedUpdate.from_bytes(_with(data, weights_total=10**6), keys.public_key)


def test_header_encoding_digest_must_match_its_parameters(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="encoding digest .* does not match its own parameters"):
        EncryptedUpdate.from_bytes(_with(data, encoding_digest=bytes(32)), keys.public_key)


@pytest.mark.parametrize("field", ["federation_id", "round", "key_epoch"])
def test_header_zero_context_field_is_refused(keys, update_bytes, field):
    _, data = update_bytes
    with pytest.raises(SerializationError, match=f"invalid round context: {field}"):
        EncryptedUpdate.from_bytes(_with(data, **{field: 0}), keys.public_key)


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("clip_bound", float("inf"), "finite float"),
        ("clip_bound", float("-inf"), "finite float"),
        ("clip_bound", float("nan"), "finite float"),
        ("clip_bound", -1.0, "finite float"),
        ("clip_bound", 0.0, "finite float"),
        ("clip_bound", MAX_CLIP_BOUND * 10, f"{MAX_CLIP_BOUND:g}"),
        ("scale", 0.0, "positive finite"),
        ("scale", -2.0, "positive finite"),
        ("scale", float("nan"), "positive finite"),
        ("scale", float("inf"), "positive finite"),
        ("max_clients", MAX_CLIENTS + 1, f"1..{MAX_CLIENTS}"),
        ("max_clients", 0, f"1..{MAX_CLIENTS}"),
        ("num_values", 0, f"1..{MAX_VALUES}"),
        ("num_values", 2**63, f"1..{MAX_VALUES}"),
        ("client_count", 0, "1..10"),
        ("client_count", 11, "1..10"),
    ],
)
def test_hostile_header_field_is_refused_naming_field_value_and_limit(keys, update_bytes, field, value, limit):
    _, data = update_bytes
    with pytest.raises(SerializationError, match=f"field {field} = .* is outside .*{re.escape(limit)}"):
        EncryptedUpdate.from_bytes(_with(data, **{field: value}), keys.public_key)


def test_huge_counts_in_a_short_file_are_refused_quickly(keys, update_bytes):
    _, data = update_bytes
    short = data[:200]
    started = time.perf_counter()
    with pytest.raises(SerializationError, match="num_values"):
        EncryptedUpdate.from_bytes(_with(short, num_values=2**64 - 1, num_ciphertexts=2**32 - 1), keys.public_key)
    with pytest.raises(SerializationError, match="truncated: file has 200 bytes"):
        EncryptedUpdate.from_bytes(_with(short, num_values=MAX_VALUES, num_ciphertexts=2**32 - 1), keys.public_key)
    aggregate = _with(short, kind=2, client_count=10, weights_total=10)
    with pytest.raises(SerializationError, match="truncated"):
        EncryptedAggregate.from_bytes(aggregate, keys.public_key)
    assert time.perf_counter() - started < 0.5


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 167), st.integers(0, 255))
def test_any_corrupted_header_byte_is_parsed_or_refused_by_an_he_error(keys, update_bytes, position, value):
    update, data = update_bytes
    forged = data[:position] + bytes([value]) + data[position + 1:]
    try:
        parsed = EncryptedUpdate.from_bytes(forged, keys.public_key)
    except HEError:
        return
    # What still parses differs only in fields anyone may set: context, weight, or nothing.
    assert parsed.ciphertexts == update.ciphertexts and parsed.layout == update.layout
