"""The keystore's passphrase key: scrypt once per open keystore, then HKDF per purpose.

Why once per open, not once per file: scrypt is slow and memory-hard on purpose (about 0.4 s and
128 MiB at the default cost), which is what makes every guess at a stolen keystore expensive. Paying
it once when a keystore is opened keeps :meth:`Keystore.get_secret` fast, while a guess still costs
one full scrypt. Each sealed file still gets its own random 16-byte salt, from which HKDF derives a
key used for that one file only, so a (key, nonce) pair never repeats across files or rewrites. The
derived key is held by the :class:`PassphraseKey` of one open keystore only, never module-wide.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from registry.keystore.documents import Document
from registry.keystore.errors import CorruptFileError, KeystoreError

# OWASP's recommended scrypt cost (N=2^17, r=8, p=1): ~0.4 s and 128 MiB per derivation.
DEFAULT_SCRYPT_N = 2**17
SALT_LENGTH = 16
KEY_LENGTH = 32
# Bounds on what a keystore file may ask for: a tampered file must not make opening hang or exhaust memory.
_MAX_N, _MAX_R, _MAX_P = 2**22, 32, 16

_CHECK_INFO = b"FLEP-keystore-v1 passphrase-check\x00"
_FILE_KEY_INFO = b"FLEP-keystore-v1 file-key"


@dataclass(frozen=True)
class ScryptParams:
    """The scrypt cost and salt of a keystore's passphrase key.

    Attributes:
        salt: Random per keystore (``SALT_LENGTH`` bytes).
        n: CPU/memory cost, a power of two.
        r: Block size.
        p: Parallelism.
    """

    salt: bytes
    n: int = DEFAULT_SCRYPT_N
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        problem = _cost_problem(self.n, self.r, self.p)
        if problem:
            raise KeystoreError(problem)

    @classmethod
    def fresh(cls, n: int) -> ScryptParams:
        """New parameters of cost ``n`` with a random salt.

        Raises:
            KeystoreError: If ``n`` is not a power of two from 2 to 2**22.
        """
        return cls(salt=os.urandom(SALT_LENGTH), n=n)

    @classmethod
    def from_document(cls, document: Document) -> ScryptParams:
        """Read the parameters from a ``kdf`` object.

        Raises:
            CorruptFileError: If a field is missing or malformed, or the cost is out of bounds.
        """
        if document.text("name") != "scrypt":
            raise CorruptFileError(document.path, "its kdf is not scrypt")
        salt = document.hex_bytes("salt", SALT_LENGTH)
        n, r, p = document.integer("n"), document.integer("r"), document.integer("p")
        problem = _cost_problem(n, r, p)
        if problem:
            raise CorruptFileError(document.path, problem)
        return cls(salt=salt, n=n, r=r, p=p)

    def to_fields(self) -> dict[str, object]:
        """The parameters as the fields of a ``kdf`` object."""
        return {"name": "scrypt", "salt": self.salt.hex(), "n": self.n, "r": self.r, "p": self.p}


def _cost_problem(n: int, r: int, p: int) -> str | None:
    """What is wrong with a scrypt cost, or ``None``."""
    if not (1 < n <= _MAX_N and n & (n - 1) == 0):
        return f"scrypt n must be a power of two from 2 to 2**22, not {n}"
    if not (1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        return f"scrypt r must be 1..{_MAX_R} and p 1..{_MAX_P}, not r={r}, p={p}"
    return None


class PassphraseKey:
    """The key derived from one keystore's passphrase, bound to its address.

    Use :meth:`check_value` to recognise the right passphrase, :meth:`file_key` for each sealed file.
    """

    def __init__(self, key: bytes, address: str) -> None:
        self._key = key
        self._address = address.lower().encode("ascii")

    def __repr__(self) -> str:
        return "<PassphraseKey>"

    @classmethod
    def derive(cls, passphrase: str, params: ScryptParams, address: str) -> PassphraseKey:
        """Run scrypt over ``passphrase`` (UTF-8) with ``params``."""
        scrypt = Scrypt(salt=params.salt, length=KEY_LENGTH, n=params.n, r=params.r, p=params.p)
        return cls(scrypt.derive(passphrase.encode("utf-8")), address)

    def check_value(self) -> bytes:
        """A value stored in clear that proves the passphrase (and the address) without decrypting anything."""
        return self._hkdf(None, _CHECK_INFO + self._address)

    def matches(self, check_value: bytes) -> bool:
        """Whether ``check_value`` is this key's (compared in constant time)."""
        return hmac.compare_digest(self.check_value(), check_value)

    def file_key(self, salt: bytes) -> bytes:
        """The AES-256 key of the sealed file with random ``salt``."""
        return self._hkdf(salt, _FILE_KEY_INFO)

    def _hkdf(self, salt: bytes | None, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=salt, info=info).derive(self._key)
