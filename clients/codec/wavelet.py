"""Wavelet encoding layer: alpha blending of DWT coefficients with a key-derived secret image.

Paper mode uses PyWavelets' float level-1 2-D DWT: ``C = IDWT(alpha * DWT(I) + (1 - alpha) * DWT(S))``.

Exact mode uses the reversible integer LeGall 5/3 lifting wavelet (JPEG 2000 lossless) computed mod 256, and
blends additively: ``C = IWT^-1(IWT(I) + round(w * IWT(S)) mod 256)`` with ``w = (1 - alpha) / alpha`` (the same
alpha blend up to the overall factor alpha, which an integer bijection cannot apply). Exactness holds because
every lifting step has the form ``y = x + f(other half) mod 256``: the inverse recomputes ``f`` from the very
same values and subtracts it, whatever ``f`` rounds to; the blend adds a fixed key-derived array mod 256.
"""

from __future__ import annotations

import numpy as np
import pywt

from clients.codec.keys import CodecKey


def secret_image(key: CodecKey, shape: tuple[int, int, int]) -> np.ndarray:
    """The key's secret image (uniform uint8 noise from the key), shape (C, H, W); memoized on the key."""
    return key.memo(("wavelet/secret-image", shape), lambda: _derive_secret_image(key, shape))


def _derive_secret_image(key: CodecKey, shape: tuple[int, int, int]) -> np.ndarray:
    img = key.rng("wavelet/secret-image").integers(0, 256, size=shape, dtype=np.uint8)
    img.setflags(write=False)
    return img


def _lift_forward(x: np.ndarray, axis: int) -> np.ndarray:
    even = np.take(x, np.arange(0, x.shape[axis], 2), axis=axis).astype(np.int16)
    odd = np.take(x, np.arange(1, x.shape[axis], 2), axis=axis).astype(np.int16)
    d = (odd - ((even + np.roll(even, -1, axis=axis)) >> 1)) & 255
    s = (even + ((np.roll(d, 1, axis=axis) + d + 2) >> 2)) & 255
    return np.concatenate([s, d], axis=axis).astype(np.uint8)


def _lift_inverse(y: np.ndarray, axis: int) -> np.ndarray:
    half = y.shape[axis] // 2
    s = np.take(y, np.arange(half), axis=axis).astype(np.int16)
    d = np.take(y, np.arange(half, 2 * half), axis=axis).astype(np.int16)
    even = (s - ((np.roll(d, 1, axis=axis) + d + 2) >> 2)) & 255
    odd = (d + ((even + np.roll(even, -1, axis=axis)) >> 1)) & 255
    out = np.empty(y.shape, dtype=np.uint8)
    idx_e = [slice(None)] * y.ndim
    idx_o = [slice(None)] * y.ndim
    idx_e[axis] = slice(0, None, 2)
    idx_o[axis] = slice(1, None, 2)
    out[tuple(idx_e)] = even
    out[tuple(idx_o)] = odd
    return out


def iwt2(planes: np.ndarray) -> np.ndarray:
    """Level-1 integer 5/3 2-D wavelet mod 256 of (C, H, W) uint8 planes (H, W even); subbands as quadrants."""
    return _lift_forward(_lift_forward(planes, 2), 1)


def iiwt2(coeffs: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`iwt2`."""
    return _lift_inverse(_lift_inverse(coeffs, 1), 2)


def _exact_mask(key: CodecKey, shape: tuple[int, int, int]) -> np.ndarray:
    """The blended secret coefficients exact mode adds mod 256; memoized on the key."""
    return key.memo(("wavelet/exact-mask", shape), lambda: _derive_exact_mask(key, shape))


def _derive_exact_mask(key: CodecKey, shape: tuple[int, int, int]) -> np.ndarray:
    w = (1.0 - key.alpha) / key.alpha
    mask = (np.floor(w * iwt2(secret_image(key, shape)).astype(np.float64) + 0.5) % 256).astype(np.uint8)
    mask.setflags(write=False)
    return mask


def blend_exact(planes: np.ndarray, key: CodecKey) -> np.ndarray:
    """Exact-mode encode: integer wavelet, add the blended secret coefficients mod 256, inverse wavelet."""
    return iiwt2(iwt2(planes) + _exact_mask(key, planes.shape))


def unblend_exact(planes: np.ndarray, key: CodecKey) -> np.ndarray:
    """Exact inverse of :func:`blend_exact`."""
    return iiwt2(iwt2(planes) - _exact_mask(key, planes.shape))


def _dwt_planes(planes: np.ndarray, wavelet: str) -> list[tuple]:
    return [pywt.dwt2(p, wavelet, mode="periodization") for p in planes]


def _idwt_planes(coeffs: list[tuple], wavelet: str) -> np.ndarray:
    return np.stack([pywt.idwt2(c, wavelet, mode="periodization") for c in coeffs])


def _mix(a: tuple, b: tuple, wa: float, wb: float) -> tuple:
    (a_ll, a_det), (b_ll, b_det) = a, b
    return wa * a_ll + wb * b_ll, tuple(wa * x + wb * y for x, y in zip(a_det, b_det, strict=True))


def blend_float(planes: np.ndarray, key: CodecKey) -> np.ndarray:
    """Paper-mode encode: float DWT of the image and the secret image, alpha blend, inverse DWT (float64)."""
    img = _dwt_planes(planes.astype(np.float64), key.wavelet)
    sec = _dwt_planes(secret_image(key, planes.shape).astype(np.float64), key.wavelet)
    return _idwt_planes([_mix(a, b, key.alpha, 1.0 - key.alpha) for a, b in zip(img, sec, strict=True)], key.wavelet)


def unblend_float(planes: np.ndarray, key: CodecKey, scaled: bool = False) -> np.ndarray:
    """Paper-mode decode: remove the secret image's share in the wavelet domain.

    Args:
        planes: Blended planes (float).
        key: The codec key.
        scaled: Return ``alpha * I`` (noise keeps its original sigma) instead of ``I``.
    """
    cip = _dwt_planes(np.asarray(planes, dtype=np.float64), key.wavelet)
    sec = _dwt_planes(secret_image(key, planes.shape).astype(np.float64), key.wavelet)
    wa = 1.0 if scaled else 1.0 / key.alpha
    wb = -(1.0 - key.alpha) * wa
    return _idwt_planes([_mix(a, b, wa, wb) for a, b in zip(cip, sec, strict=True)], key.wavelet)
