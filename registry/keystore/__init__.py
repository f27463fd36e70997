"""Party keystores: one private directory per party holding its chain key, HPKE key pair and secrets.

Public surface: :class:`Keystore` (create, open, secrets, opening sealed blobs), :func:`seal_for` (seal a
secret for someone's registered public key, no keystore needed), :func:`grant_info` (the canonical
HPKE ``info`` of a key grant), :func:`passphrase_from_env_or_prompt`, the suite names, and the
exceptions (all :class:`KeystoreError`).
"""

from registry.keystore.errors import (
    CorruptFileError,
    EmptyPassphraseError,
    ForeignFileError,
    InvalidChainKeyError,
    InvalidGrantError,
    InvalidPublicKeyError,
    InvalidSecretNameError,
    KeystoreError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    SealedBlobError,
    SecretExistsError,
    SecretNotFoundError,
    UnknownSuiteError,
    WrongPassphraseError,
)
from registry.keystore.grants import grant_info
from registry.keystore.kdf import DEFAULT_SCRYPT_N
from registry.keystore.keystore import Keystore
from registry.keystore.passphrase import PASSPHRASE_ENV, passphrase_from_env_or_prompt
from registry.keystore.sealing import seal_for
from registry.keystore.suites import DEFAULT_SUITE, SUITES

SUITE_NAMES: tuple[str, ...] = tuple(SUITES)

__all__ = [
    "CorruptFileError",
    "DEFAULT_SCRYPT_N",
    "DEFAULT_SUITE",
    "EmptyPassphraseError",
    "ForeignFileError",
    "InvalidChainKeyError",
    "InvalidGrantError",
    "InvalidPublicKeyError",
    "InvalidSecretNameError",
    "Keystore",
    "KeystoreError",
    "KeystoreExistsError",
    "KeystoreNotFoundError",
    "PASSPHRASE_ENV",
    "SUITE_NAMES",
    "SealedBlobError",
    "SecretExistsError",
    "SecretNotFoundError",
    "UnknownSuiteError",
    "WrongPassphraseError",
    "grant_info",
    "passphrase_from_env_or_prompt",
    "seal_for",
]
