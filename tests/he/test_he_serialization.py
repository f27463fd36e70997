"""Binary format of encrypted updates and aggregates: size, round trip, malformed input."""

import struct

import numpy as np
import pytest

from clients.he import (
    EncryptedAggregate,
    EncryptedUpdate,
    KeyMismatchError,
    MalformedCiphertextError,
    SerializationError,
    aggregate_updates,
    ciphertext_width,
    encrypt_update,
)
from clients.he.serialization import _HEADER


@pytest.fixture(scope="module")
def update_bytes(keys):
    from clients.he import EncodingParams

    params = EncodingParams(1.0, 16, 10, 1024)
    values = np.linspace(-1, 1, 300)
    update = encrypt_update(keys.public_key, values, 7, params, "analyst-1", workers=1)
    return update, update.to_bytes(keys.public_key)


def _body_offset(data: bytes) -> int:
    (ident_len,) = struct.unpack_from(">H", data, _HEADER.size)
    return _HEADER.size + 2 + ident_len


def test_round_trip_is_identity(keys, update_bytes):
    update, data = update_bytes
    parsed = EncryptedUpdate.from_bytes(data, keys.public_key)
    assert parsed == update
    assert parsed.to_bytes(keys.public_key) == data


def test_size_is_ciphertexts_times_width_plus_small_header(keys, update_bytes):
    update, data = update_bytes
    width = ciphertext_width(keys.public_key)
    assert width == 2 * 1024 // 8
    body = len(update.ciphertexts) * width
    assert body < len(data) <= body + 128


def test_aggregate_round_trip(keys, update_bytes):
    update, _ = update_bytes
    aggregate = aggregate_updates([update], keys.public_key)
    data = aggregate.to_bytes(keys.public_key)
    assert EncryptedAggregate.from_bytes(data, keys.public_key) == aggregate


def test_truncated_file_is_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="truncated"):
        EncryptedUpdate.from_bytes(data[:-10], keys.public_key)
    with pytest.raises(SerializationError, match="truncated"):
        EncryptedUpdate.from_bytes(data[:40], keys.public_key)


def test_trailing_bytes_are_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="trailing"):
        EncryptedUpdate.from_bytes(data + b"\0", keys.public_key)


def test_ciphertext_not_below_n_squared_is_refused(keys, update_bytes):
    _, data = update_bytes
    offset = _body_offset(data)
    forged = data[:offset] + b"\xff" * ciphertext_width(keys.public_key) + data[offset + ciphertext_width(keys.public_key):]
    with pytest.raises(MalformedCiphertextError, match="ciphertext 0 .* >= n\\^2"):
        EncryptedUpdate.from_bytes(forged, keys.public_key)


def test_ciphertext_sharing_a_factor_with_n_is_refused(keys, update_bytes):
    _, data = update_bytes
    width = ciphertext_width(keys.public_key)
    offset = _body_offset(data) + width  # second ciphertext
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


def test_unknown_format_version_is_refused(keys, update_bytes):
    _, data = update_bytes
    with pytest.raises(SerializationError, match="format version 2"):
        EncryptedUpdate.from_bytes(data[:4] + b"\x02" + data[5:], keys.public_key)


def test_header_scale_inconsistent_with_parameters_is_refused(keys, update_bytes):
    _, data = update_bytes
    fields = list(_HEADER.unpack_from(data))
    fields[11] = fields[11] * 2  # scale
    forged = _HEADER.pack(*fields) + data[_HEADER.size:]
    with pytest.raises(SerializationError, match="scale"):
        EncryptedUpdate.from_bytes(forged, keys.public_key)


def test_header_weight_beyond_headroom_is_refused(keys, update_bytes):
    _, data = update_bytes
    fields = list(_HEADER.unpack_from(data))
    fields[15] = 10**6  # weights_total of the single client
    forged = _HEADER.pack(*fields) + data[_HEADER.size:]
    with pytest.raises(SerializationError, match="headroom"):
        EncryptedUpdate.from_bytes(forged, keys.public_key)
