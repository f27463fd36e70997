"""Sealed blobs: a secret HPKE-sealed (RFC 9180 base mode, single shot) for one recipient's public key.

Blob format, version 1::

    version (1 byte, 0x01) || suite id (6 bytes: KEM, KDF, AEAD ids, big-endian) || enc || AEAD ciphertext

The header tells the recipient how to open the blob; it need not be authenticated, because the suite
is fixed by the recipient's key and any other header fails to open. What the blob is for (federation,
key kind, grantee, epoch: see :func:`registry.keystore.grants.grant_info`) is bound as HPKE ``info``,
so a blob presented as another grant never opens.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag

from registry.keystore.errors import SealedBlobError
from registry.keystore.suites import HpkeSuite, suite_named, suite_with_id

BLOB_VERSION = 1
_HEADER_LENGTH = 1 + 6


def seal_for(recipient_public_key_bytes: bytes, suite: str, plaintext: bytes, info: bytes) -> bytes:
    """Seal ``plaintext`` so only the holder of the recipient's HPKE private key can open it.

    Args:
        recipient_public_key_bytes: The recipient's public key, as registered (e.g. on chain).
        suite: The recipient key's suite name (``"x25519"`` or ``"mlkem768-x25519"``).
        plaintext: The secret to seal.
        info: What the blob is for, e.g. :func:`~registry.keystore.grants.grant_info`; the
            recipient must pass the same bytes to open it.

    Returns:
        The sealed blob (fresh randomness every call).

    Raises:
        UnknownSuiteError: If ``suite`` is not a known suite name.
        InvalidPublicKeyError: If the public key is not a key of that suite.
    """
    chosen = suite_named(suite)
    return bytes([BLOB_VERSION]) + chosen.suite_id + chosen.encrypt(plaintext, recipient_public_key_bytes, info)


def open_blob(blob: bytes, info: bytes, suite: HpkeSuite, private_key: Any, recipient: str) -> bytes:
    """Open a blob sealed for ``recipient``'s key of ``suite``.

    Args:
        blob: The sealed blob.
        info: The ``info`` it was sealed with.
        suite: The suite of the recipient's key.
        private_key: The recipient's private key object.
        recipient: Who is opening it (named in errors), e.g. ``keystore 0xabc...``.

    Raises:
        SealedBlobError: If the blob is malformed, of another version or suite, sealed for another
            recipient or with other ``info``, or altered.
    """
    if len(blob) < _HEADER_LENGTH:
        raise SealedBlobError(f"the sealed blob is {len(blob)} bytes, too short to be one: fetch it again")
    if blob[0] != BLOB_VERSION:
        raise SealedBlobError(
            f"the sealed blob has format version {blob[0]}, but this code reads version {BLOB_VERSION}: "
            "upgrade, or ask the sender to seal it again"
        )
    sealed_suite = suite_with_id(blob[1:_HEADER_LENGTH])
    if sealed_suite is not suite:
        found = sealed_suite.name if sealed_suite else f"unknown suite 0x{blob[1:_HEADER_LENGTH].hex()}"
        raise SealedBlobError(
            f"the blob was sealed with {found}, but {recipient} holds a {suite.name} key: the sender used "
            "another public key than the one registered for it; ask for it to be sealed again"
        )
    try:
        return suite.decrypt(blob[_HEADER_LENGTH:], private_key, info)
    except InvalidTag:
        raise SealedBlobError(
            f"the sealed blob does not open for {recipient}: it was sealed for another recipient's key, "
            "for another grant (federation, key kind, grantee or epoch differ from the info given), or it was "
            "altered; check the grant it came with, or ask for it to be sealed again"
        ) from None
