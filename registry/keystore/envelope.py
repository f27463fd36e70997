"""Sealed keystore files: one small versioned JSON envelope per secret, AES-256-GCM under the passphrase key.

An envelope (``flep-keystore-sealed`` version 1) holds, in lowercase hex::

    {"format": "flep-keystore-sealed", "version": 1,
     "address": "0x<keystore address, lowercase>", "slot": "secrets/<name>.json",
     "salt": "<16 random bytes>", "nonce": "<12 random bytes>", "ciphertext": "<AES-GCM ciphertext + tag>"}

The key is HKDF-derived from the keystore's passphrase key and the file's own salt. The associated
data binds the format version, the keystore address and the slot (the file's path in the keystore),
so a file copied in from another keystore, or moved to another name, never opens. The clear
``address`` and ``slot`` fields only let the refusal say what happened.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.keystore.documents import Document, encode_document
from registry.keystore.errors import CorruptFileError, ForeignFileError
from registry.keystore.kdf import SALT_LENGTH, PassphraseKey

FORMAT = "flep-keystore-sealed"
VERSION = 1
NONCE_LENGTH = 12
_AAD_TAG = b"FLEP-keystore-sealed-v1"


class FileSealer:
    """Seals and opens the files of one keystore under its passphrase key.

    Args:
        key: The keystore's passphrase key.
        address: The keystore's address (bound into every file).
        root: The keystore directory (slots are paths relative to it).
    """

    def __init__(self, key: PassphraseKey, address: str, root: Path) -> None:
        self._key = key
        self._address = address.lower()
        self._root = root

    def __repr__(self) -> str:
        return f"<FileSealer for {self._address}>"

    def seal(self, path: Path, data: bytes) -> bytes:
        """The envelope sealing ``data`` for ``path`` (to be written there)."""
        slot = self._slot(path)
        salt, nonce = os.urandom(SALT_LENGTH), os.urandom(NONCE_LENGTH)
        ciphertext = AESGCM(self._key.file_key(salt)).encrypt(nonce, bytes(data), self._aad(slot))
        return encode_document(
            {
                "format": FORMAT,
                "version": VERSION,
                "address": self._address,
                "slot": slot,
                "salt": salt.hex(),
                "nonce": nonce.hex(),
                "ciphertext": ciphertext.hex(),
            }
        )

    def open(self, path: Path) -> bytes:
        """Read the envelope at ``path`` and return the bytes it seals.

        Raises:
            ForeignFileError: If the envelope belongs to another keystore.
            CorruptFileError: If it is missing, malformed, of another version, was moved from another
                name, or fails authentication (altered, or sealed under another passphrase key).
        """
        document = Document.read(path)
        document.require_format(FORMAT, VERSION)
        owner = document.text("address")
        if owner != self._address:
            raise ForeignFileError(path, owner, self._address)
        slot = self._slot(path)
        if document.text("slot") != slot:
            raise CorruptFileError(path, f"it was sealed as {document.text('slot')!r}, not as {slot!r} (renamed?)")
        salt = document.hex_bytes("salt", SALT_LENGTH)
        nonce = document.hex_bytes("nonce", NONCE_LENGTH)
        ciphertext = document.hex_bytes("ciphertext")
        try:
            return AESGCM(self._key.file_key(salt)).decrypt(nonce, ciphertext, self._aad(slot))
        except InvalidTag:
            raise CorruptFileError(path, "it fails authentication") from None

    def _slot(self, path: Path) -> str:
        return path.relative_to(self._root).as_posix()

    def _aad(self, slot: str) -> bytes:
        return b"\x00".join((_AAD_TAG, self._address.encode("ascii"), slot.encode("ascii")))
