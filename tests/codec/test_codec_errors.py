"""Wrong keys, damaged containers, bad images and key files give dedicated, actionable errors."""

import numpy as np
import pytest

from clients.codec import (
    CodecKey,
    ContainerError,
    ImageFormatError,
    KeyFormatError,
    WrongKeyError,
    decrypt,
    encrypt,
    read_header,
)
from clients.codec.container import HEADER_BYTES

KEY = CodecKey(secret=bytes(range(32)))
IMG = np.random.default_rng(0).integers(0, 256, (24, 20), dtype=np.uint8)


def test_wrong_key_raises_wrong_key_error() -> None:
    blob = encrypt(IMG, KEY)
    with pytest.raises(WrongKeyError, match="wrong key"):
        decrypt(blob, CodecKey.generate())


def test_one_flipped_secret_bit_is_a_wrong_key() -> None:
    with pytest.raises(WrongKeyError):
        decrypt(encrypt(IMG, KEY), KEY.with_secret_bit_flipped(77))


@pytest.mark.parametrize("cut", [0, 5, HEADER_BYTES - 1, HEADER_BYTES + 10, -1])
def test_truncated_container(cut: int) -> None:
    blob = encrypt(IMG, KEY)
    with pytest.raises(ContainerError):
        decrypt(blob[:cut], KEY)


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(ContainerError, match="truncated or has trailing"):
        decrypt(encrypt(IMG, KEY) + b"\0", KEY)


def test_corrupted_payload_fails_integrity_check() -> None:
    blob = bytearray(encrypt(IMG, KEY))
    blob[HEADER_BYTES + 7] ^= 0x01
    with pytest.raises(ContainerError, match="integrity"):
        decrypt(bytes(blob), KEY)


def test_corrupted_header_fails_crc() -> None:
    blob = bytearray(encrypt(IMG, KEY))
    blob[12] ^= 0x40
    with pytest.raises(ContainerError, match="header is corrupted"):
        read_header(bytes(blob))


def test_not_a_container() -> None:
    with pytest.raises(ContainerError, match="magic"):
        decrypt(b"\x89PNG\r\n\x1a\n" + bytes(100), KEY)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 5), dtype=np.uint8),
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((4, 4), dtype=np.uint16),
        np.zeros((4, 4, 5), dtype=np.uint8),
        np.zeros((2, 2, 2, 2), dtype=np.uint8),
        np.zeros(7, dtype=np.uint8),
    ],
)
def test_bad_images_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ImageFormatError):
        encrypt(bad, KEY)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(Exception, match="unknown codec mode"):
        encrypt(IMG, KEY, mode="fast")


def test_key_json_round_trip_and_fingerprint() -> None:
    key = CodecKey.generate(alpha=0.7, noise_std=20.0)
    again = CodecKey.from_json(key.to_json())
    assert again == key and again.fingerprint == key.fingerprint
    assert key.secret.hex() not in key.fingerprint.hex()


def test_tampered_or_malformed_key_files() -> None:
    text = KEY.to_json()
    with pytest.raises(KeyFormatError, match="fingerprint"):
        CodecKey.from_json(text.replace(KEY.secret.hex(), bytes(32).hex()))
    with pytest.raises(KeyFormatError, match="JSON"):
        CodecKey.from_json("{not json")
    with pytest.raises(KeyFormatError, match="not a codec key"):
        CodecKey.from_json('{"format": "other"}')
    with pytest.raises(KeyFormatError, match="32 bytes"):
        CodecKey(secret=b"short")
    with pytest.raises(KeyFormatError, match="alpha"):
        CodecKey(secret=bytes(32), alpha=0.0)
    with pytest.raises(KeyFormatError, match="block_side"):
        CodecKey(secret=bytes(32), block_side=6)


def test_key_file_bytes_load_back(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "k.json"
    path.write_bytes(KEY.to_bytes())
    assert CodecKey.load(path) == KEY
    with pytest.raises(KeyFormatError, match="cannot read"):
        CodecKey.load(tmp_path / "missing.json")
