"""Exceptions of the keystore: every one says what failed, where, and what to do next.

They share the root :class:`KeystoreError`, so a caller (the CLI) can print any of them as one line.
No message ever contains a passphrase, a key or a secret's bytes.
"""

from __future__ import annotations

from pathlib import Path

from eth_utils import is_address, to_checksum_address


def _shown(address: str) -> str:
    """An address as people read it (EIP-55 checksum), or as written if it is not one."""
    return to_checksum_address(address) if is_address(address) else address


class KeystoreError(Exception):
    """Base class of every error raised by the keystore."""


class KeystoreNotFoundError(KeystoreError):
    """The directory is missing or holds no keystore."""

    def __init__(self, directory: Path, problem: str) -> None:
        self.directory = directory
        super().__init__(
            f"no keystore at {directory}: {problem}; check the path, or create one with Keystore.create "
            "(a directory left by an interrupted create has no keystore.json: remove it and create again)"
        )


class KeystoreExistsError(KeystoreError):
    """A keystore cannot be created where something already is."""

    def __init__(self, directory: Path, problem: str) -> None:
        self.directory = directory
        super().__init__(f"cannot create a keystore at {directory}: {problem}")


class EmptyPassphraseError(KeystoreError):
    """An empty passphrase was given; a keystore is never sealed under one."""


class WrongPassphraseError(KeystoreError):
    """The passphrase does not open the keystore."""

    def __init__(self, address: str, directory: Path) -> None:
        self.address, self.directory = address, directory
        super().__init__(
            f"the passphrase does not open keystore {_shown(address)} at {directory} "
            "(or its keystore.json was altered); try again, and check FLEP_PASSPHRASE if it is set"
        )


class CorruptFileError(KeystoreError):
    """A keystore file is missing, malformed, of an unknown version, or fails authentication."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: {problem}; the file is damaged or was altered: restore it from a backup of this keystore"
        )


class ForeignFileError(KeystoreError):
    """A file in the keystore belongs to another party's keystore."""

    def __init__(self, path: Path, owner: str, address: str) -> None:
        self.path, self.owner, self.address = path, owner, address
        super().__init__(
            f"{path} belongs to keystore {_shown(owner)}, not to this keystore {_shown(address)}: it was copied "
            "in from another party's keystore; remove it and restore this keystore's own file "
            "(secrets are granted, never copied)"
        )


class InvalidChainKeyError(KeystoreError):
    """The chain private key given to a new keystore is not a valid secp256k1 key."""


class UnknownSuiteError(KeystoreError):
    """An HPKE suite name or id this keystore does not implement."""


class InvalidSecretNameError(KeystoreError):
    """A secret name that is not a safe file name."""


class SecretNotFoundError(KeystoreError):
    """The keystore holds no secret of that name."""


class SecretExistsError(KeystoreError):
    """A secret of that name exists and overwriting was not asked for."""


class InvalidPublicKeyError(KeystoreError):
    """A recipient public key that is not a valid key of its HPKE suite."""


class SealedBlobError(KeystoreError):
    """A sealed blob cannot be opened: malformed, for another recipient or grant, or altered."""


class InvalidGrantError(KeystoreError):
    """A field of a grant's ``info`` (federation, key kind, grantee, epoch) is malformed."""
