"""Key-driven diffusion for exact mode (chaotic digit selection key bytes, after Xian et al. 2020).

The (C, H, W) image is viewed as a small hypercube: C x h1 x h2 x w1 x w2 with H = h1*h2 and W = w1*w2 factored
near their square roots (256 x 256 -> 16 x 16 x 16 x 16). One round is a chained pass forward along every axis,
then backward along every axis. In each pass every value becomes

    c[i] = S[(x[i] + c[i-1] + m * c[i-2] + k[i]) mod 256]

along that axis, with a keyed bijective S-box S and a keyed odd multiplier m per pass (a bijection mod 256), and key bytes k from chaotic digit selection. After the
forward passes a change at one pixel has reached every position that is >= it on every axis; the backward
passes carry it to the rest, so one changed plaintext pixel changes the whole cipher image. Because each value
depends on *two* chained predecessors, the difference it receives is a fresh random-looking byte (zero with
probability ~1/256), which is what NPCR/UACI test. The chaining values before the first element of every lane
come from the key and the per-encryption nonce, so one image under one key encrypts differently per nonce.
A scan along an axis of length n costs n vectorized steps over all other axes (16 steps per pass at 256 x 256).

Keys use two rounds by default. In one round, the difference entering a lane's last element cancels with
probability ~1/256 (``dc[i-1] + m * dc[i-2] = 0``); if that happens in a forward pass, the slice beyond it is never
reached (the backward passes start there with unchanged chaining values), and measured NPCR drops to ~94 % in a
few percent of differential tests. The second round starts from an almost fully changed image and repairs that.

Decryption needs no scan: with all of ``c`` known, ``x[i] = S^-1[c[i]] - c[i-1] - m * c[i-2] - k[i] mod 256``
is one vectorized expression per pass, so exactness is by construction (uint8 arithmetic wraps mod 256).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from clients.codec.chaos import digit_bytes, sbox
from clients.codec.keys import CodecKey


def _split(n: int) -> tuple[int, int]:
    """Factor n = a * b with a the largest divisor <= sqrt(n)."""
    a = int(np.sqrt(n))
    while n % a:
        a -= 1
    return a, n // a


@lru_cache(maxsize=64)
def cube_shape(shape: tuple[int, int, int]) -> tuple[int, ...]:
    """The hypercube view of a (C, H, W) array: (C, h1, h2, w1, w2)."""
    c, h, w = shape
    return (c, *_split(h), *_split(w))


@lru_cache(maxsize=64)
def _passes(shape: tuple[int, int, int]) -> tuple[tuple[int, bool], ...]:
    axes = [a for a, n in enumerate(cube_shape(shape)) if n > 1]
    return tuple((a, False) for a in axes) + tuple((a, True) for a in axes)


def _lanes(cube: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """A contiguous (n, lanes) copy whose first axis is the scan axis, in scan order."""
    moved = np.moveaxis(cube, axis, 0)
    if reverse:
        moved = moved[::-1]
    return np.ascontiguousarray(moved).reshape(moved.shape[0], -1)


def _unlanes(lanes: np.ndarray, cube: tuple[int, ...], axis: int, reverse: bool) -> np.ndarray:
    moved = lanes.reshape((cube[axis],) + tuple(s for i, s in enumerate(cube) if i != axis))
    if reverse:
        moved = moved[::-1]
    return np.moveaxis(moved, 0, axis)


def _material(key: CodecKey, shape: tuple[int, int, int], index: int) -> tuple[np.ndarray, ...]:
    """Pass ``index``'s key bytes, S-box, inverse S-box and multiplier (memoized on the key, not the module)."""
    return key.memo(("diffusion/material", shape, index), lambda: _derive_material(key, shape, index))


def _derive_material(key: CodecKey, shape: tuple[int, int, int], index: int) -> tuple[np.ndarray, ...]:
    passes = _passes(shape)
    axis, _ = passes[index % len(passes)]
    n = cube_shape(shape)[axis]
    lanes = shape[0] * shape[1] * shape[2] // n
    k = digit_bytes(key, f"diffusion/k/{index}/{shape}", n * lanes).reshape(n, lanes)
    s, s_inv = sbox(key, f"diffusion/S/{index}")
    m = np.uint8(key.derive(f"diffusion/m/{index}", 1)[0] | 1)
    return k, s, s_inv, m


def _ivs(key: CodecKey, nonce: bytes, schedule: list[tuple[int, int, bool]], cube: tuple[int, ...]) -> list:
    """Per pass: the two chaining values before the first element of every lane (key + nonce)."""
    rng = key.rng(f"diffusion/iv/{nonce.hex()}")
    total = int(np.prod(cube))
    out = []
    for _, axis, _ in schedule:
        raw = rng.integers(0, 256, size=2 * (total // cube[axis]), dtype=np.uint8)
        out.append(np.split(raw, 2))
    return out


def _schedule(key: CodecKey, shape: tuple[int, int, int]) -> list[tuple[int, int, bool]]:
    passes = _passes(shape)
    return [(i, *passes[i % len(passes)]) for i in range(key.diffusion_rounds * len(passes))]


def diffuse(planes: np.ndarray, key: CodecKey, nonce: bytes) -> np.ndarray:
    """Diffuse uint8 planes of shape (C, H, W); returns a new uint8 array of the same shape."""
    shape = planes.shape
    cube = cube_shape(shape)
    out = planes.reshape(cube)
    schedule = _schedule(key, shape)
    ivs = _ivs(key, nonce, schedule, cube)
    for index, axis, reverse in schedule:
        x = _lanes(out, axis, reverse)
        k, s, _, m = _material(key, shape, index)
        c = np.empty_like(x)
        prev2, prev1 = ivs[index]
        for i in range(x.shape[0]):
            cur = s.take(x[i] + prev1 + m * prev2 + k[i])
            c[i] = cur
            prev2, prev1 = prev1, cur
        out = _unlanes(c, cube, axis, reverse)
    return np.ascontiguousarray(out).reshape(shape)


def undiffuse(planes: np.ndarray, key: CodecKey, nonce: bytes) -> np.ndarray:
    """Exact inverse of :func:`diffuse` (every pass inverts in one vectorized expression)."""
    shape = planes.shape
    cube = cube_shape(shape)
    out = planes.reshape(cube)
    schedule = _schedule(key, shape)
    ivs = _ivs(key, nonce, schedule, cube)
    for index, axis, reverse in reversed(schedule):
        c = _lanes(out, axis, reverse)
        k, _, s_inv, m = _material(key, shape, index)
        iv2, iv1 = ivs[index]
        prev1 = np.concatenate([iv1[None], c[:-1]])
        prev2 = np.concatenate([iv2[None], iv1[None], c[:-2]])[: c.shape[0]]
        out = _unlanes(s_inv.take(c) - prev1 - m * prev2 - k, cube, axis, reverse)
    return np.ascontiguousarray(out).reshape(shape)
