"""The HPKE (RFC 9180) suites a keystore key can use, and how each encodes its keys.

Both suites use HKDF-SHA256 and AES-256-GCM (as ``IModelRegistry.HpkeSuite`` says). Their KEMs:

- ``x25519``: DHKEM(X25519, HKDF-SHA256). Public key: the 32 raw X25519 bytes. Private key: 32 bytes.
- ``mlkem768-x25519``: the hybrid post-quantum KEM MLKEM768-X25519 (X-Wing, draft-connolly-cfrg-xwing-kem).
  Private key: X-Wing's 32-byte seed, expanded with SHAKE256 into the ML-KEM-768 seed and the X25519
  key. Public key: 1,216 bytes, ML-KEM-768's 1,184 then X25519's 32.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from registry.keystore.errors import InvalidPublicKeyError, UnknownSuiteError

PRIVATE_KEY_LENGTH = 32
# RFC 9180 identifiers (IANA HPKE registry): HKDF-SHA256 and AES-256-GCM.
_KDF_ID, _AEAD_ID = 0x0001, 0x0002


class HpkeSuite(ABC):
    """One HPKE suite: its identifiers, its key encodings, and single-shot base-mode encryption."""

    name: ClassVar[str]
    kem: ClassVar[hpke.KEM]
    kem_id: ClassVar[int]
    public_key_length: ClassVar[int]

    def __repr__(self) -> str:
        return f"<HpkeSuite {self.name}>"

    @property
    def suite_id(self) -> bytes:
        """The RFC 9180 suite identifier: KEM, KDF and AEAD ids, 2 bytes each, big-endian."""
        return b"".join(value.to_bytes(2, "big") for value in (self.kem_id, _KDF_ID, _AEAD_ID))

    @staticmethod
    def new_private_key() -> bytes:
        """A new random private key (its encoding in this module: 32 bytes for both suites)."""
        return os.urandom(PRIVATE_KEY_LENGTH)

    @abstractmethod
    def private_key(self, private_key: bytes) -> Any:
        """The ``cryptography`` private key object for the 32-byte ``private_key``."""

    @abstractmethod
    def public_key_bytes(self, private_key: bytes) -> bytes:
        """The encoded public key belonging to the 32-byte ``private_key``."""

    @abstractmethod
    def _load_public_key(self, data: bytes) -> Any:
        """The ``cryptography`` public key object for ``data`` of the right length (may raise ``ValueError``)."""

    def public_key(self, data: bytes) -> Any:
        """The ``cryptography`` public key object for the encoded public key ``data``.

        Raises:
            InvalidPublicKeyError: If ``data`` is not a public key of this suite.
        """
        if len(data) != self.public_key_length:
            raise InvalidPublicKeyError(
                f"the recipient public key is {len(data)} bytes, but a {self.name} public key is "
                f"{self.public_key_length}: check the key and the suite registered for the recipient"
            )
        try:
            return self._load_public_key(bytes(data))
        except ValueError:
            raise InvalidPublicKeyError(
                f"the recipient public key is not a valid {self.name} key: check the key registered for the recipient"
            ) from None

    def encrypt(self, plaintext: bytes, public_key: bytes, info: bytes) -> bytes:
        """HPKE base-mode single-shot encryption (``enc || ciphertext``) for ``public_key``.

        Raises:
            InvalidPublicKeyError: If ``public_key`` is not a public key of this suite.
        """
        return self._cipher().encrypt(plaintext, self.public_key(public_key), info=info)

    def decrypt(self, ciphertext: bytes, private_key: Any, info: bytes) -> bytes:
        """Open ``ciphertext`` (``enc || ciphertext``) with the private key object ``private_key``.

        Raises:
            cryptography.exceptions.InvalidTag: If it was sealed for another key, with other ``info``, or altered.
        """
        return self._cipher().decrypt(ciphertext, private_key, info=info)

    def _cipher(self) -> hpke.Suite:
        return hpke.Suite(self.kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class X25519Suite(HpkeSuite):
    """DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM."""

    name = "x25519"
    kem = hpke.KEM.X25519
    kem_id = 0x0020
    public_key_length = 32

    def private_key(self, private_key: bytes) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.from_private_bytes(private_key)

    def public_key_bytes(self, private_key: bytes) -> bytes:
        return self.private_key(private_key).public_key().public_bytes_raw()

    def _load_public_key(self, data: bytes) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(data)


class MlKem768X25519Suite(HpkeSuite):
    """MLKEM768-X25519 (X-Wing, post-quantum hybrid), HKDF-SHA256, AES-256-GCM."""

    name = "mlkem768-x25519"
    kem = hpke.KEM.MLKEM768_X25519
    kem_id = 0x647A
    public_key_length = 1184 + 32
    _MLKEM_PUBLIC_LENGTH = 1184

    def private_key(self, private_key: bytes) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(*self._components(private_key))

    def public_key_bytes(self, private_key: bytes) -> bytes:
        mlkem_key, x25519_key = self._components(private_key)
        return mlkem_key.public_key().public_bytes_raw() + x25519_key.public_key().public_bytes_raw()

    def _load_public_key(self, data: bytes) -> hpke.MLKEM768X25519PublicKey:
        split = self._MLKEM_PUBLIC_LENGTH
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(data[:split]),
            x25519.X25519PublicKey.from_public_bytes(data[split:]),
        )

    @staticmethod
    def _components(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
        """X-Wing's key expansion: SHAKE256(seed, 96) = ML-KEM-768 seed (64 bytes) || X25519 key (32)."""
        expanded = hashlib.shake_256(seed).digest(96)
        return (
            mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
            x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
        )


SUITES: dict[str, HpkeSuite] = {suite.name: suite for suite in (X25519Suite(), MlKem768X25519Suite())}
DEFAULT_SUITE = X25519Suite.name


def suite_named(name: str) -> HpkeSuite:
    """The suite called ``name``.

    Raises:
        UnknownSuiteError: If there is none.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise UnknownSuiteError(f"unknown HPKE suite {name!r}: use one of {', '.join(SUITES)}") from None


def suite_with_id(suite_id: bytes) -> HpkeSuite | None:
    """The suite with RFC 9180 identifier ``suite_id``, or ``None``."""
    return next((suite for suite in SUITES.values() if suite.suite_id == suite_id), None)
