"""Keyed chaotic sequences: logistic maps run in parallel lanes, digit selection, S-boxes.

A single logistic orbit is inherently sequential; running ``lanes`` independent orbits side by side (each with
its own key-derived start value and control parameter in the chaotic range 3.99 < r < 4) keeps the map's
sensitivity to the key while generating ``lanes`` values per vectorized numpy step. Double-precision
``*``/``-`` are IEEE-754 exact-rounded, so the sequences are identical on every platform.
"""

from __future__ import annotations

import numpy as np

from clients.codec.keys import CodecKey

_BURN_IN = 64


def logistic_lanes(key: CodecKey, label: str, count: int, lanes: int | None = None) -> np.ndarray:
    """``count`` values in (0, 1) from parallel logistic orbits keyed by ``label``.

    Args:
        key: The codec key.
        label: Derivation label (distinct sequences per label).
        count: Number of values.
        lanes: Number of orbits; by default enough that no orbit runs more than 128 steps (at least 256).

    Returns:
        float64 array of length ``count``, lane-interleaved (value i comes from lane ``i % lanes``).
    """
    lanes = max(256, -(-count // 128)) if lanes is None else lanes
    lanes = max(1, min(lanes, count))
    units = key.rng(f"chaos/{label}").random(2 * lanes)
    x = 0.05 + 0.9 * units[:lanes]
    r = 3.99 + 0.0099 * units[lanes:]
    steps = -(-count // lanes)
    out = np.empty((steps, lanes), dtype=np.float64)
    for _ in range(_BURN_IN):
        x = r * x * (1.0 - x)
    for i in range(steps):
        x = r * x * (1.0 - x)
        out[i] = x
    return out.reshape(-1)[:count]


def digit_bytes(key: CodecKey, label: str, count: int) -> np.ndarray:
    """Key bytes by chaotic digit selection (after Xian et al. 2020).

    Each chaotic value contributes the integer formed by a key-chosen window of its decimal digits
    (digits 4..13 at most), reduced mod 256; the window start differs per lane.

    Returns:
        uint8 array of length ``count``.
    """
    values = logistic_lanes(key, label, count)
    shift = 10.0 ** (4 + (key.derive(label + "/digits", 1)[0] % 6))
    return (np.floor(values * shift).astype(np.int64) & 255).astype(np.uint8)


def sbox(key: CodecKey, label: str) -> tuple[np.ndarray, np.ndarray]:
    """A keyed bijective S-box on 0..255 and its inverse (argsort of a chaotic sequence).

    Returns:
        (forward, inverse) uint8 lookup tables of length 256.
    """
    forward = np.argsort(logistic_lanes(key, label, 256, lanes=16), kind="stable").astype(np.uint8)
    inverse = np.empty(256, dtype=np.uint8)
    inverse[forward] = np.arange(256, dtype=np.uint8)
    return forward, inverse
