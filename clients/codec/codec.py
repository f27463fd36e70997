"""Public codec API: images in, self-describing authenticated containers out, and back."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from clients.codec.cipher import PlaneDenoiser, decrypt_planes, encrypt_planes, from_planes, to_planes
from clients.codec.container import Header, open_sealed, seal
from clients.codec.errors import CodecError
from clients.codec.keys import CodecKey

NONCE_BYTES = 16


def encrypt(image: np.ndarray, key: CodecKey, mode: str = "exact", nonce: bytes | None = None) -> bytes:
    """Encrypt a uint8 image ((H, W) or (H, W, C)) into a container.

    Args:
        image: The plaintext image.
        key: The codec key.
        mode: ``exact`` (bit-exact round trip, the registry's default) or ``paper`` (lossy, DnCNN on decrypt).
        nonce: 16 bytes that seed the noise and the diffusion's chaining values; fresh random bytes when
            omitted. Reuse a nonce only for analysis (e.g. the NPCR/UACI differential test).

    Raises:
        ImageFormatError: bad dtype/shape or empty image.
        CodecError: unknown mode or a nonce of the wrong length.
    """
    nonce = os.urandom(NONCE_BYTES) if nonce is None else bytes(nonce)
    if len(nonce) != NONCE_BYTES:
        raise CodecError(f"nonce must be {NONCE_BYTES} bytes, got {len(nonce)}")
    planes = to_planes(image, key.block_side)
    cipher = encrypt_planes(planes, key, mode, nonce)
    channels = 0 if image.ndim == 2 else image.shape[2]
    header = Header(mode, cipher.dtype, channels, image.shape[0], image.shape[1], planes.shape[1], planes.shape[2],
                    key.fingerprint, nonce)
    return seal(header, cipher, key)


def decrypt(blob: bytes, key: CodecKey, denoiser: PlaneDenoiser | None = None, order: str = "paper") -> np.ndarray:
    """Decrypt a container back to a uint8 image of the original shape.

    Args:
        blob: Container bytes from :func:`encrypt`.
        key: The codec key it was encrypted under.
        denoiser: Paper mode only; see :func:`clients.codec.cipher.decrypt_planes`.
        order: Paper mode only: ``paper`` or ``denoise-last``.

    Raises:
        WrongKeyError: the container was encrypted under another key.
        ContainerError: truncated, corrupted or unsupported container.
    """
    header, cipher = open_sealed(blob, key)
    planes = decrypt_planes(cipher, key, header.mode, header.nonce, denoiser=denoiser, order=order)
    return from_planes(planes, header.image_shape)


def encrypt_batch(images: Iterable[np.ndarray], key: CodecKey, mode: str = "exact") -> list[bytes]:
    """Encrypt many images (fresh nonce each); per-shape key material is derived once and reused."""
    return [encrypt(img, key, mode) for img in images]


def decrypt_batch(blobs: Iterable[bytes], key: CodecKey, denoiser: PlaneDenoiser | None = None,
                  order: str = "paper") -> list[np.ndarray]:
    """Decrypt many containers under one key (see :func:`decrypt`)."""
    return [decrypt(b, key, denoiser=denoiser, order=order) for b in blobs]
