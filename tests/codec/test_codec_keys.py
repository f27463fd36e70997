"""Codec keys keep their secret out of repr/str and their derived material off module-level caches."""

import gc
import weakref

import numpy as np

from clients.codec import CodecKey, decrypt, encrypt
from clients.codec.keys import MEMO_ENTRIES
from clients.codec.scramble import scramble_permutation
from clients.codec.wavelet import secret_image

IMG = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)


def test_repr_and_str_show_the_fingerprint_only() -> None:
    key = CodecKey.generate()
    derived = key.derive("container/hmac", 32)
    for text in (repr(key), str(key), f"{key}", repr([key]), repr({"k": key})):
        assert key.secret.hex() not in text
        assert repr(key.secret) not in text and repr(key.secret)[2:-1] not in text
        assert derived.hex() not in text and repr(derived) not in text
    assert repr(key) == f"<CodecKey fingerprint={key.fingerprint.hex()[:16]}…>"


def test_derived_material_dies_with_the_key() -> None:
    key = CodecKey.generate()
    decrypt(encrypt(IMG, key), key)  # fills every memo: permutation, diffusion material, secret image, mask
    permutation = weakref.ref(scramble_permutation(key, 32, 32))
    image = weakref.ref(secret_image(key, (1, 32, 32)))
    dead_key = weakref.ref(key)
    del key
    gc.collect()
    assert dead_key() is None  # no module-level cache holds the key (an lru_cache keyed on it would)
    assert permutation() is None and image() is None


def test_memo_computes_once_per_key_and_keeps_the_recently_used() -> None:
    key = CodecKey.generate()
    computed: list[object] = []

    def compute(name: object) -> object:
        computed.append(name)
        return name

    for name in range(MEMO_ENTRIES):
        key.memo(name, lambda name=name: compute(name))
    assert key.memo(0, lambda: compute("again")) == 0  # a hit: computed once, and now recently used
    key.memo("one more", lambda: compute("one more"))  # full: drops the least recently used, entry 1
    assert key.memo(0, lambda: compute("again")) == 0
    key.memo(1, lambda: compute(1))
    assert computed == [*range(MEMO_ENTRIES), "one more", 1]


def test_memo_is_per_key_object() -> None:
    key = CodecKey(secret=bytes(range(32)))
    twin = CodecKey(secret=bytes(range(32)))
    assert scramble_permutation(key, 32, 32) is scramble_permutation(key, 32, 32)
    assert scramble_permutation(twin, 32, 32) is not scramble_permutation(key, 32, 32)
    assert np.array_equal(scramble_permutation(twin, 32, 32), scramble_permutation(key, 32, 32))
