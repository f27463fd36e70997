"""Exact-mode round trips (property-based), nonce behaviour, paper-mode pipeline without noise."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.codec import CodecKey, decrypt, decrypt_batch, encrypt, encrypt_batch, read_header
from clients.codec.cipher import padded_shape
from clients.codec.scramble import block_side

KEY = CodecKey(secret=bytes(range(32)))


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    h = draw(st.integers(1, 48))
    w = draw(st.integers(1, 48))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (h, w) if channels is None else (h, w, channels)
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images())
def test_exact_round_trip_is_bit_exact(img: np.ndarray) -> None:
    blob = encrypt(img, KEY)
    out = decrypt(blob, KEY)
    assert out.dtype == np.uint8
    assert out.shape == img.shape
    assert np.array_equal(out, img)
    assert read_header(blob).image_shape == img.shape


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 255), st.sampled_from([(256, 256), (300, 451), (64, 512)]))
def test_exact_round_trip_constant_images(value: int, shape: tuple[int, int]) -> None:
    img = np.full(shape, value, dtype=np.uint8)
    assert np.array_equal(decrypt(encrypt(img, KEY), KEY), img)


def test_same_nonce_is_deterministic_and_fresh_nonces_differ() -> None:
    img = np.random.default_rng(1).integers(0, 256, (32, 32), dtype=np.uint8)
    nonce = bytes(16)
    assert encrypt(img, KEY, nonce=nonce) == encrypt(img, KEY, nonce=nonce)
    a, b = encrypt(img, KEY), encrypt(img, KEY)
    assert a != b
    ca = np.frombuffer(a[-32 - 1024 : -32], dtype=np.uint8)
    cb = np.frombuffer(b[-32 - 1024 : -32], dtype=np.uint8)
    assert np.mean(ca != cb) > 0.9


def test_cipher_hides_a_constant_image() -> None:
    cipher = encrypt(np.zeros((64, 64), dtype=np.uint8), KEY, nonce=bytes(16))
    payload = np.frombuffer(cipher[-32 - 64 * 64 : -32], dtype=np.uint8)
    assert len(np.unique(payload)) > 200


def test_batch_api_round_trips_rgb_and_gray() -> None:
    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (40, 30, 3), dtype=np.uint8), rng.integers(0, 256, (17, 9), dtype=np.uint8)]
    outs = decrypt_batch(encrypt_batch(imgs, KEY), KEY)
    assert all(np.array_equal(a, b) for a, b in zip(imgs, outs, strict=True))


def test_paper_mode_without_noise_inverts_the_blend_and_scramble() -> None:
    key = CodecKey(secret=bytes(range(32)), noise_std=0.0)
    img = np.random.default_rng(3).integers(0, 256, (64, 48), dtype=np.uint8)
    blob = encrypt(img, key, mode="paper")
    assert read_header(blob).dtype == np.dtype("<f4")
    out = decrypt(blob, key, denoiser=lambda p: p)
    assert np.abs(out.astype(int) - img.astype(int)).max() <= 1


def test_paper_mode_with_noise_is_lossy_without_denoiser() -> None:
    img = np.random.default_rng(4).integers(0, 256, (32, 32), dtype=np.uint8)
    out = decrypt(encrypt(img, KEY, mode="paper"), KEY, denoiser=lambda p: p)
    assert not np.array_equal(out, img)


def test_fixed_block_side_from_the_key_round_trips() -> None:
    key = CodecKey(secret=bytes(range(32)), block_side=8)
    img = np.random.default_rng(5).integers(0, 256, (30, 21, 3), dtype=np.uint8)
    blob = encrypt(img, key)
    assert read_header(blob).payload_shape == (3, 32, 24)
    assert np.array_equal(decrypt(blob, key), img)


def test_block_side_grows_with_image_size_and_padding_fits_it() -> None:
    assert [block_side(n, n) for n in (64, 256, 511, 512, 1024)] == [2, 2, 2, 4, 8]
    for h, w in [(511, 602), (3, 5), (1023, 1025)]:
        ph, pw = padded_shape(h, w)
        side = block_side(ph, pw)
        assert ph >= h and pw >= w and ph % side == 0 and pw % side == 0
