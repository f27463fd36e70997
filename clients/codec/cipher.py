"""The three-layer scheme on arrays: scramble -> (diffuse) -> wavelet blend -> noise, and its inverse.

Works on channel planes of shape (C, H, W) whose sides are multiples of the sub-block side (see
:func:`to_planes`). Two modes:

* ``exact``: scramble, diffuse (mod 256), integer-wavelet blend (mod 256), add keyed integer Gaussian noise
  mod 256. Every layer is a bijection on uint8 arrays whose inverse is computed exactly (see the docstrings of
  :mod:`clients.codec.diffusion` and :mod:`clients.codec.wavelet`), and the noise is regenerated from the key
  and the container's nonce, so ``decrypt(encrypt(x)) == x`` bit for bit.
* ``paper``: scramble, float DWT alpha blend, add Gaussian noise (float32 cipher, not clipped). Decryption
  denoises with the DnCNN and is lossy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from clients.codec.diffusion import diffuse, undiffuse
from clients.codec.errors import CodecError, ImageFormatError
from clients.codec.keys import CodecKey
from clients.codec.scramble import block_side, descramble, scramble
from clients.codec.wavelet import blend_exact, blend_float, unblend_exact, unblend_float

PlaneDenoiser = Callable[[np.ndarray], np.ndarray]
DECRYPT_ORDERS = ("paper", "denoise-last")
MAX_CHANNELS = 4


def padded_shape(height: int, width: int, fixed_side: int = 0) -> tuple[int, int]:
    """Smallest (H', W') >= (H, W) whose sides are multiples of their own sub-block side."""
    ph, pw = height, width
    while True:
        side = block_side(ph, pw, fixed_side)
        nh, nw = -(-ph // side) * side, -(-pw // side) * side
        if (nh, nw) == (ph, pw):
            return ph, pw
        ph, pw = nh, nw


def to_planes(image: np.ndarray, fixed_side: int = 0) -> np.ndarray:
    """Validate an image and return edge-padded uint8 planes (C, H', W').

    Args:
        image: uint8 (H, W) or (H, W, C) image.
        fixed_side: The key's ``block_side`` (0: follow the image size).

    Raises:
        ImageFormatError: not a uint8 array of shape (H, W) or (H, W, C<=4), or empty.
    """
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageFormatError(f"image dtype must be uint8 (0..255), got {image.dtype}; convert it first")
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= MAX_CHANNELS):
        raise ImageFormatError(f"image shape must be (H, W) or (H, W, C) with C <= {MAX_CHANNELS}, got {image.shape}")
    if image.size == 0:
        raise ImageFormatError(f"image is empty (shape {image.shape})")
    planes = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    ph, pw = padded_shape(planes.shape[1], planes.shape[2], fixed_side)
    pad = ((0, 0), (0, ph - planes.shape[1]), (0, pw - planes.shape[2]))
    return np.ascontiguousarray(np.pad(planes, pad, mode="edge"))


def from_planes(planes: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Crop padded planes back to an image of ``image_shape`` ((H, W) or (H, W, C))."""
    h, w = image_shape[0], image_shape[1]
    crop = planes[:, :h, :w]
    return np.ascontiguousarray(crop[0] if len(image_shape) == 2 else np.moveaxis(crop, 0, -1))


def _noise(key: CodecKey, nonce: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The key's Gaussian noise for this nonce (float32, reproducible from key + nonce)."""
    z = key.rng(f"noise/{nonce.hex()}").standard_normal(size=shape, dtype=np.float32)
    return z * np.float32(key.noise_std) + np.float32(key.noise_mean)


def _integer_noise(key: CodecKey, nonce: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The noise rounded to integers, as uint8 residues mod 256 (added mod 256 in exact mode)."""
    return (np.rint(_noise(key, nonce, shape)).astype(np.int16) & 255).astype(np.uint8)


def encrypt_planes(planes: np.ndarray, key: CodecKey, mode: str, nonce: bytes) -> np.ndarray:
    """Encrypt uint8 planes; uint8 cipher planes in exact mode, float32 in paper mode.

    Raises:
        CodecError: unknown mode.
    """
    if mode == "exact":
        x = blend_exact(diffuse(scramble(planes, key), key, nonce), key)
        return x + _integer_noise(key, nonce, planes.shape)
    if mode == "paper":
        x = blend_float(scramble(planes, key), key)
        return (x + _noise(key, nonce, planes.shape)).astype(np.float32)
    raise CodecError(f"unknown codec mode {mode!r}; use 'exact' or 'paper'")


@lru_cache(maxsize=1)
def shipped_denoiser() -> PlaneDenoiser:
    """The DnCNN with the shipped sigma=25 weights (loaded once per process)."""
    from clients.codec.dncnn import Denoiser

    return Denoiser()


def decrypt_planes(
    cipher: np.ndarray,
    key: CodecKey,
    mode: str,
    nonce: bytes,
    denoiser: PlaneDenoiser | None = None,
    order: str = "paper",
) -> np.ndarray:
    """Invert :func:`encrypt_planes`; returns uint8 planes.

    Args:
        cipher: Cipher planes (C, H', W').
        key: The codec key.
        mode: ``exact`` or ``paper``.
        nonce: The container's nonce.
        denoiser: Paper mode only: maps a (H, W) float plane in the 0..255 scale to its denoised version;
            the shipped DnCNN when omitted.
        order: Paper mode only: ``paper`` denoises the cipher first, then un-blends and descrambles (the
            paper's order); ``denoise-last`` un-blends and descrambles first, so the DnCNN sees a natural
            image with i.i.d. noise of the key's sigma (the scrambled cipher is not a natural image).

    Raises:
        CodecError: unknown mode or order.
    """
    if mode == "exact":
        x = np.asarray(cipher, dtype=np.uint8) - _integer_noise(key, nonce, cipher.shape)
        return descramble(undiffuse(unblend_exact(x, key), key, nonce), key)
    if mode != "paper":
        raise CodecError(f"unknown codec mode {mode!r}; use 'exact' or 'paper'")
    if order not in DECRYPT_ORDERS:
        raise CodecError(f"unknown decrypt order {order!r}; use one of {DECRYPT_ORDERS}")
    den = denoiser if denoiser is not None else shipped_denoiser()
    y = np.asarray(cipher, dtype=np.float64) - key.noise_mean
    if order == "paper":
        clean = np.stack([den(p) for p in y])
        plain = descramble(unblend_float(clean, key), key)
    else:
        scaled = descramble(unblend_float(y, key, scaled=True), key)
        plain = np.stack([den(p) for p in scaled]) / key.alpha
    return np.clip(np.rint(plain), 0, 255).astype(np.uint8)
