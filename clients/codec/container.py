"""The cipher container: a self-describing header, the cipher payload, and a keyed integrity tag.

Layout (big-endian)::

    magic "FLEPCIPH" | format version u8 | mode u8 | payload dtype u8 | channels u8 (0 = 2-D grayscale)
    | height u32 | width u32 | padded height u32 | padded width u32 | key fingerprint 16B | nonce 16B
    | payload length u64 | header CRC-32 u32 || payload || HMAC-SHA256(key, header || payload) 32B

The CRC tells a damaged header apart from a wrong key without any key; the fingerprint tells a wrong key
apart from a damaged payload; the HMAC (keyed with key material no one without the secret has) detects any
change of the header or payload by anyone but the key holder.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from clients.codec.errors import ContainerError, WrongKeyError
from clients.codec.keys import CodecKey

MAGIC = b"FLEPCIPH"
FORMAT_VERSION = 1
MODES = ("exact", "paper")
DTYPES = (np.dtype(np.uint8), np.dtype("<f4"))
_HEAD = struct.Struct(">8sBBBBIIII16s16sQ")
_CRC = struct.Struct(">I")
HEADER_BYTES = _HEAD.size + _CRC.size
TAG_BYTES = 32


@dataclass(frozen=True)
class Header:
    """Everything a container says about itself (readable without the key)."""

    mode: str
    dtype: np.dtype
    channels: int
    height: int
    width: int
    padded_height: int
    padded_width: int
    fingerprint: bytes
    nonce: bytes
    version: int = FORMAT_VERSION

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of the plaintext image: (H, W) or (H, W, C)."""
        return (self.height, self.width) if self.channels == 0 else (self.height, self.width, self.channels)

    @property
    def payload_shape(self) -> tuple[int, int, int]:
        """Shape of the cipher planes: (C, padded H, padded W)."""
        return (max(self.channels, 1), self.padded_height, self.padded_width)

    def _pack(self, payload_len: int) -> bytes:
        head = _HEAD.pack(
            MAGIC, self.version, MODES.index(self.mode), DTYPES.index(self.dtype), self.channels,
            self.height, self.width, self.padded_height, self.padded_width, self.fingerprint, self.nonce, payload_len,
        )
        return head + _CRC.pack(zlib.crc32(head))


def _tag(key: CodecKey, data: bytes) -> bytes:
    return hmac.new(key.derive("container/hmac", 32), data, hashlib.sha256).digest()


def seal(header: Header, planes: np.ndarray, key: CodecKey) -> bytes:
    """Serialize a header and cipher planes into a container authenticated under ``key``."""
    payload = np.ascontiguousarray(planes, dtype=header.dtype).tobytes()
    body = header._pack(len(payload)) + payload
    return body + _tag(key, body)


def read_header(blob: bytes) -> Header:
    """Parse and check a container's header (no key needed).

    Raises:
        ContainerError: not a codec container, truncated, damaged header, or unsupported version/mode/dtype.
    """
    blob = bytes(blob)
    if len(blob) < len(MAGIC) or blob[: len(MAGIC)] != MAGIC:
        raise ContainerError("not a FLEP codec container (bad magic); was this file made by `flep codec encrypt`?")
    if len(blob) < HEADER_BYTES:
        raise ContainerError(f"codec container truncated inside the header ({len(blob)} of {HEADER_BYTES} bytes)")
    head = blob[: _HEAD.size]
    (crc,) = _CRC.unpack_from(blob, _HEAD.size)
    if zlib.crc32(head) != crc:
        raise ContainerError("codec container header is corrupted (CRC mismatch); re-fetch the file")
    _, version, mode, dtype, channels, h, w, ph, pw, fp, nonce, plen = _HEAD.unpack(head)
    if version != FORMAT_VERSION:
        raise ContainerError(f"codec container format version {version} is not supported (this build reads {FORMAT_VERSION})")
    if mode >= len(MODES) or dtype >= len(DTYPES):
        raise ContainerError(f"codec container names unknown mode {mode} or dtype {dtype}")
    header = Header(MODES[mode], DTYPES[dtype], channels, h, w, ph, pw, fp, nonce, version)
    expected = int(np.prod(header.payload_shape)) * header.dtype.itemsize
    if plen != expected:
        raise ContainerError(f"codec container header is inconsistent: payload {plen} bytes, shape needs {expected}")
    if len(blob) != HEADER_BYTES + plen + TAG_BYTES:
        raise ContainerError(
            f"codec container is truncated or has trailing bytes: {len(blob)} bytes, expected "
            f"{HEADER_BYTES + plen + TAG_BYTES}; re-fetch the file"
        )
    return header


def open_sealed(blob: bytes, key: CodecKey) -> tuple[Header, np.ndarray]:
    """Check a container against ``key`` and return its header and cipher planes (C, H', W').

    Raises:
        ContainerError: see :func:`read_header`, or the payload fails its integrity check.
        WrongKeyError: the container was made under a different key.
    """
    header = read_header(blob)
    if not hmac.compare_digest(header.fingerprint, key.fingerprint):
        raise WrongKeyError(
            f"wrong key: the container was encrypted under key {header.fingerprint.hex()}, "
            f"this key is {key.fingerprint.hex()}; use the key the data owner granted for this artifact"
        )
    body, tag = bytes(blob[:-TAG_BYTES]), bytes(blob[-TAG_BYTES:])
    if not hmac.compare_digest(_tag(key, body), tag):
        raise ContainerError("codec container failed its integrity check (HMAC): the payload was modified or damaged")
    planes = np.frombuffer(body, dtype=header.dtype, offset=HEADER_BYTES).reshape(header.payload_shape)
    return header, planes
