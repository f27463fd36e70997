"""The codec key: a versioned, serializable 256-bit secret plus the scheme's public parameters.

Everything secret the codec uses (chaotic map parameters, S-boxes, digit selections, the secret image, the
noise and IV streams) is derived from the 256-bit secret with HKDF-SHA256 under distinct labels, so the key
file only holds the secret and a few scheme parameters. The fingerprint is an HKDF output too: it identifies
the key in a container header without revealing anything about the secret.

Derived material that is expensive to recompute (permutations, S-boxes, the secret image) is memoized on the
key object itself (:meth:`CodecKey.memo`), never in a module-level cache, so it is freed with the key; and
neither the secret nor anything derived from it appears in ``repr`` or ``str``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clients.codec.errors import KeyFormatError

KEY_FORMAT = "flep-codec-key"
KEY_VERSION = 1
SECRET_BYTES = 32
FINGERPRINT_BYTES = 16
_SALT = b"flep-codec/v1"
MEMO_ENTRIES = 64

T = TypeVar("T")


@dataclass(frozen=True, repr=False)
class CodecKey:
    """A codec key.

    Attributes:
        secret: The 256-bit secret (32 bytes).
        alpha: Blending weight of the scrambled image's wavelet coefficients (0 < alpha <= 1); the secret
            image gets ``1 - alpha``.
        noise_mean: Mean of the additive Gaussian noise (0..255 scale).
        noise_std: Standard deviation of the additive Gaussian noise (paper: 25).
        wavelet: PyWavelets wavelet name used by paper mode's float DWT.
        diffusion_rounds: Number of diffusion rounds in exact mode (>= 1; 2 by default, see
            :mod:`clients.codec.diffusion` for why one is not enough).
        block_side: Scrambling sub-block side (a power of two >= 2), or 0 to follow the image size (2 below
            512 pixels on the short side, doubling at 512, 1024, ...).
        version: Key format version.
    """

    secret: bytes
    alpha: float = 0.8
    noise_mean: float = 0.0
    noise_std: float = 25.0
    wavelet: str = "haar"
    diffusion_rounds: int = 2
    block_side: int = 0
    version: int = KEY_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes | bytearray) or len(self.secret) != SECRET_BYTES:
            raise KeyFormatError(f"codec key secret must be {SECRET_BYTES} bytes; generate one with `flep codec keygen`")
        if not 0.0 < float(self.alpha) <= 1.0:
            raise KeyFormatError(f"codec key alpha must be in (0, 1], got {self.alpha}")
        if float(self.noise_std) < 0.0:
            raise KeyFormatError(f"codec key noise_std must be >= 0, got {self.noise_std}")
        if int(self.diffusion_rounds) < 1:
            raise KeyFormatError(f"codec key diffusion_rounds must be >= 1, got {self.diffusion_rounds}")
        side = int(self.block_side)
        if side != 0 and (side < 2 or side & (side - 1)):
            raise KeyFormatError(f"codec key block_side must be 0 (automatic) or a power of two >= 2, got {side}")
        if self.version != KEY_VERSION:
            raise KeyFormatError(f"codec key version {self.version} is not supported (this build reads {KEY_VERSION})")

    def __repr__(self) -> str:
        return f"<CodecKey fingerprint={self.fingerprint.hex()[:16]}…>"

    @classmethod
    def generate(cls, **params: object) -> CodecKey:
        """A fresh key with a secret from the OS CSPRNG; ``params`` override the scheme parameters."""
        return cls(secret=os.urandom(SECRET_BYTES), **params)  # type: ignore[arg-type]

    def derive(self, label: str, length: int) -> bytes:
        """``length`` bytes of key material bound to this key's secret, parameters and ``label``."""
        info = f"{label}|{self.alpha!r}|{self.noise_mean!r}|{self.noise_std!r}|{self.wavelet}|{self.diffusion_rounds}|{self.block_side}"
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info.encode())
        return hkdf.derive(bytes(self.secret))

    @cached_property
    def _memo(self) -> dict[Hashable, Any]:
        return {}

    def memo(self, what: Hashable, compute: Callable[[], T]) -> T:
        """The key-derived value named ``what``, computed once per key object and freed with it.

        Holds at most :data:`MEMO_ENTRIES` values, dropping the least recently used (a batch reuses its shapes).
        """
        memo = self._memo
        if what in memo:
            memo[what] = memo.pop(what)
        else:
            if len(memo) >= MEMO_ENTRIES:
                del memo[next(iter(memo))]
            memo[what] = compute()
        return memo[what]

    def derive_units(self, label: str, count: int) -> np.ndarray:
        """``count`` floats in the open interval (0, 1), 53 bits each, derived from ``label``."""
        raw = np.frombuffer(self.derive(label, 8 * count), dtype="<u8")
        return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)

    def rng(self, label: str) -> np.random.Generator:
        """A PCG64 generator seeded from ``label``'s key material (reproducible per key and label)."""
        return np.random.Generator(np.random.PCG64(int.from_bytes(self.derive(label, 32), "little")))

    @cached_property
    def fingerprint(self) -> bytes:
        """16-byte public identifier of the key (HKDF output: reveals nothing about the secret)."""
        return self.derive("fingerprint", FINGERPRINT_BYTES)

    def with_secret_bit_flipped(self, bit: int = 0) -> CodecKey:
        """The same key with one bit of the secret flipped (for key-sensitivity analysis)."""
        buf = bytearray(self.secret)
        buf[(bit // 8) % SECRET_BYTES] ^= 1 << (bit % 8)
        return replace(self, secret=bytes(buf))

    def to_json(self) -> str:
        """Serialize (the secret as hex). The result is secret material: store it with 0600 permissions."""
        body = asdict(self)
        body["secret"] = bytes(self.secret).hex()
        return json.dumps({"format": KEY_FORMAT, "fingerprint": self.fingerprint.hex(), **body}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> CodecKey:
        """Parse :meth:`to_json` output.

        Raises:
            KeyFormatError: not JSON, not a codec key, unsupported version, bad field, or the stored
                fingerprint does not match the secret (the file was edited or damaged).
        """
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFormatError(f"codec key is not valid JSON ({exc}); is this a key file from `flep codec keygen`?") from exc
        if not isinstance(body, dict) or body.get("format") != KEY_FORMAT:
            raise KeyFormatError(f"not a codec key (expected format {KEY_FORMAT!r})")
        stored_fp = body.pop("format") and body.pop("fingerprint", None)
        try:
            body["secret"] = bytes.fromhex(body["secret"])
            key = cls(**body)
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFormatError(f"codec key has a missing or malformed field: {exc}") from exc
        if stored_fp is not None and stored_fp != key.fingerprint.hex():
            raise KeyFormatError("codec key fingerprint does not match its secret: the key file is damaged or was edited")
        return key

    def to_bytes(self) -> bytes:
        """The key file's content (:meth:`to_json` plus a newline); secret: the caller writes it 0600."""
        return (self.to_json() + "\n").encode()

    @classmethod
    def load(cls, path: str | Path) -> CodecKey:
        """Read a key file.

        Raises:
            KeyFormatError: the file is missing or not a valid codec key.
        """
        file = Path(path)
        try:
            text = file.read_text()
        except OSError as exc:
            raise KeyFormatError(f"cannot read codec key {file}: {exc.strerror}") from exc
        return cls.from_json(text)
