"""The keystore's files in clear: ``keystore.json`` (the manifest) and ``hpke.pub`` (the public key).

``keystore.json``, format ``flep-keystore`` version 1::

    {"format": "flep-keystore", "version": 1, "address": "0x<lowercase>",
     "kdf": {"name": "scrypt", "salt": "<hex>", "n": 131072, "r": 8, "p": 1},
     "passphrase_check": "<hex, 32 bytes>"}

``hpke.pub``, format ``flep-hpke-public-key`` version 1::

    {"format": "flep-hpke-public-key", "version": 1, "address": "0x<lowercase>",
     "suite": "x25519" | "mlkem768-x25519", "public_key": "<hex>"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from registry.keystore.documents import Document, encode_document
from registry.keystore.errors import CorruptFileError, UnknownSuiteError
from registry.keystore.kdf import KEY_LENGTH, ScryptParams
from registry.keystore.suites import HpkeSuite, suite_named

MANIFEST_FORMAT = "flep-keystore"
PUBLIC_KEY_FORMAT = "flep-hpke-public-key"
VERSION = 1
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


def _address(document: Document) -> str:
    address = document.text("address")
    if not _ADDRESS.fullmatch(address):
        raise CorruptFileError(document.path, "field 'address' is not a lowercase 0x address")
    return address


@dataclass(frozen=True)
class Manifest:
    """What ``keystore.json`` records.

    Attributes:
        address: The keystore's chain address, lowercase.
        kdf: The scrypt parameters of its passphrase key.
        passphrase_check: The passphrase key's check value.
    """

    address: str
    kdf: ScryptParams
    passphrase_check: bytes

    def encode(self) -> bytes:
        """The file's bytes."""
        return encode_document(
            {
                "format": MANIFEST_FORMAT,
                "version": VERSION,
                "address": self.address,
                "kdf": self.kdf.to_fields(),
                "passphrase_check": self.passphrase_check.hex(),
            }
        )

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read ``keystore.json``.

        Raises:
            CorruptFileError: If it is missing, malformed or of another version.
        """
        document = Document.read(path)
        document.require_format(MANIFEST_FORMAT, VERSION)
        return cls(
            address=_address(document),
            kdf=ScryptParams.from_document(document.child("kdf")),
            passphrase_check=document.hex_bytes("passphrase_check", KEY_LENGTH),
        )


@dataclass(frozen=True)
class PublicKeyRecord:
    """What ``hpke.pub`` records.

    Attributes:
        address: The keystore's chain address, lowercase.
        suite: The HPKE suite of the key.
        public_key: The encoded public key (see :mod:`registry.keystore.suites`).
    """

    address: str
    suite: HpkeSuite
    public_key: bytes

    def encode(self) -> bytes:
        """The file's bytes."""
        return encode_document(
            {
                "format": PUBLIC_KEY_FORMAT,
                "version": VERSION,
                "address": self.address,
                "suite": self.suite.name,
                "public_key": self.public_key.hex(),
            }
        )

    @classmethod
    def read(cls, path: Path) -> PublicKeyRecord:
        """Read ``hpke.pub``.

        Raises:
            CorruptFileError: If it is missing, malformed, of another version, or names an unknown suite.
        """
        document = Document.read(path)
        document.require_format(PUBLIC_KEY_FORMAT, VERSION)
        try:
            suite = suite_named(document.text("suite"))
        except UnknownSuiteError as exc:
            raise CorruptFileError(path, str(exc)) from None
        return cls(
            address=_address(document),
            suite=suite,
            public_key=document.hex_bytes("public_key", suite.public_key_length),
        )
