"""A party's keystore: its chain key, its HPKE key pair and its named secrets, in one private directory.

Everything secret is sealed under the keystore passphrase, and every file is bound to the keystore's
address, so a file from another party's keystore is refused rather than used. See
:mod:`registry.keystore.layout` for the files and :mod:`registry.keystore.kdf` for the key derivation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from registry.keystore.account_file import encode_account, read_account
from registry.keystore.envelope import FileSealer
from registry.keystore.errors import (
    CorruptFileError,
    EmptyPassphraseError,
    ForeignFileError,
    InvalidChainKeyError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    SecretExistsError,
    SecretNotFoundError,
    WrongPassphraseError,
)
from registry.keystore.kdf import DEFAULT_SCRYPT_N, PassphraseKey, ScryptParams
from registry.keystore.layout import DIRECTORY_MODE, KeystoreLayout
from registry.keystore.metadata import Manifest, PublicKeyRecord
from registry.keystore.sealing import open_blob
from registry.keystore.suites import DEFAULT_SUITE, PRIVATE_KEY_LENGTH, HpkeSuite, suite_named
from registry.secret_files import write_secret


class Keystore:
    """An open keystore. Get one with :meth:`create` or :meth:`open`.

    It holds the decrypted chain account, the HPKE private key and the passphrase key for as long as it
    lives; its ``repr`` shows only the address and the directory.
    """

    def __init__(
        self,
        layout: KeystoreLayout,
        account: LocalAccount,
        sealer: FileSealer,
        suite: HpkeSuite,
        hpke_private_key: Any,
        hpke_public_key: bytes,
    ) -> None:
        self._layout = layout
        self._account = account
        self._sealer = sealer
        self._suite = suite
        self._hpke_private_key = hpke_private_key
        self._hpke_public_key = hpke_public_key

    def __repr__(self) -> str:
        return f"<Keystore {self.address} at {self._layout.root}>"

    @classmethod
    def create(
        cls,
        directory: Path | str,
        passphrase: str,
        *,
        suite: str = DEFAULT_SUITE,
        private_key: bytes | str | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
    ) -> Keystore:
        """Create a keystore in ``directory`` (new, or empty) for a new or given chain key.

        Args:
            directory: Where; created with mode ``0700`` (with missing parents) if it does not exist.
            passphrase: Seals every secret; non-empty.
            suite: The HPKE suite of the new key pair: ``"x25519"`` or ``"mlkem768-x25519"``.
            private_key: The chain key to keep (32 bytes or hex); a new random one if ``None``.
            scrypt_n: scrypt cost of the passphrase key and of ``account.json``. Keep the strong default;
                only tests pass a lower one.

        Raises:
            EmptyPassphraseError: If ``passphrase`` is empty.
            UnknownSuiteError: If ``suite`` is not a known suite.
            KeystoreError: If ``scrypt_n`` is not a power of two from 2 to 2**22.
            InvalidChainKeyError: If ``private_key`` is not a valid secp256k1 private key.
            KeystoreExistsError: If ``directory`` is a file, already a keystore, or not empty.
            OSError: If the directory cannot be created or written.
        """
        _require_passphrase(passphrase)
        chosen = suite_named(suite)
        params = ScryptParams.fresh(scrypt_n)
        account = _chain_account(private_key)
        layout = KeystoreLayout(Path(directory).absolute())
        _prepare_directory(layout)
        address = account.address.lower()
        key = PassphraseKey.derive(passphrase, params, address)
        sealer = FileSealer(key, address, layout.root)
        hpke_secret = HpkeSuite.new_private_key()
        public_key = chosen.public_key_bytes(hpke_secret)
        try:
            write_secret(layout.account, encode_account(account, passphrase, scrypt_n))
            write_secret(layout.hpke_private, sealer.seal(layout.hpke_private, hpke_secret))
            write_secret(layout.hpke_public, PublicKeyRecord(address, chosen, public_key).encode())
            write_secret(layout.manifest, Manifest(address, params, key.check_value()).encode())
        except FileExistsError:
            raise KeystoreExistsError(layout.root, "another keystore is being created there at the same time") from None
        return cls(layout, account, sealer, chosen, chosen.private_key(hpke_secret), public_key)

    @classmethod
    def open(cls, directory: Path | str, passphrase: str) -> Keystore:
        """Open the keystore in ``directory``, checking the passphrase before decrypting anything.

        Raises:
            KeystoreNotFoundError: If ``directory`` is missing or has no ``keystore.json``.
            EmptyPassphraseError: If ``passphrase`` is empty.
            WrongPassphraseError: If the passphrase does not open it.
            ForeignFileError: If one of its files belongs to another party's keystore.
            CorruptFileError: If one of its files is missing, malformed or fails authentication.
        """
        layout = KeystoreLayout(Path(directory).absolute())
        if not layout.root.is_dir():
            raise KeystoreNotFoundError(layout.root, "the directory does not exist")
        if not layout.manifest.is_file():
            raise KeystoreNotFoundError(layout.root, "it has no keystore.json")
        _require_passphrase(passphrase)
        manifest = Manifest.read(layout.manifest)
        key = PassphraseKey.derive(passphrase, manifest.kdf, manifest.address)
        if not key.matches(manifest.passphrase_check):
            raise WrongPassphraseError(manifest.address, layout.root)
        account = read_account(layout.account, passphrase, manifest.address)
        sealer = FileSealer(key, manifest.address, layout.root)
        public = PublicKeyRecord.read(layout.hpke_public)
        if public.address != manifest.address:
            raise ForeignFileError(layout.hpke_public, public.address, manifest.address)
        hpke_secret = sealer.open(layout.hpke_private)
        if len(hpke_secret) != PRIVATE_KEY_LENGTH or public.suite.public_key_bytes(hpke_secret) != public.public_key:
            raise CorruptFileError(
                layout.hpke_public, f"its {public.suite.name} public key is not the one of the private key in hpke.key"
            )
        return cls(layout, account, sealer, public.suite, public.suite.private_key(hpke_secret), public.public_key)

    @property
    def address(self) -> str:
        """The party's chain address (EIP-55 checksum)."""
        return self._account.address

    @property
    def account(self) -> LocalAccount:
        """The party's chain account, for signing transactions."""
        return self._account

    @property
    def directory(self) -> Path:
        """The keystore directory (absolute)."""
        return self._layout.root

    @property
    def suite(self) -> str:
        """The name of the HPKE key pair's suite."""
        return self._suite.name

    @property
    def hpke_public_key_bytes(self) -> bytes:
        """The encoded HPKE public key, to register so others can seal secrets for this party."""
        return self._hpke_public_key

    def put_secret(self, name: str, data: bytes, *, overwrite: bool = False) -> None:
        """Seal ``data`` under the passphrase as the secret ``name``.

        Raises:
            InvalidSecretNameError: If ``name`` is not a valid secret name.
            SecretExistsError: If the secret exists and ``overwrite`` is false; nothing was written.
            OSError: If the file cannot be written; nothing was left behind.
        """
        path = self._layout.secret(name)
        self._layout.secrets.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
        try:
            write_secret(path, self._sealer.seal(path, data), overwrite=overwrite)
        except FileExistsError:
            raise SecretExistsError(
                f"{self!r} already holds secret {name!r}: pass overwrite=True to replace it (the old value is "
                "lost for good), or choose another name"
            ) from None

    def get_secret(self, name: str) -> bytes:
        """The secret ``name``.

        Raises:
            InvalidSecretNameError: If ``name`` is not a valid secret name.
            SecretNotFoundError: If the keystore holds no such secret.
            ForeignFileError: If its file was copied in from another party's keystore.
            CorruptFileError: If its file is malformed, was renamed, or fails authentication.
        """
        path = self._layout.secret(name)
        if not path.is_file():
            held = ", ".join(self.secret_names()) or "none"
            raise SecretNotFoundError(
                f"{self!r} holds no secret {name!r} (it holds: {held}); store it with put_secret, "
                "or ask its owner to grant it to you"
            )
        return self._sealer.open(path)

    def has_secret(self, name: str) -> bool:
        """Whether the keystore holds the secret ``name`` (its file exists; it is not opened).

        Raises:
            InvalidSecretNameError: If ``name`` is not a valid secret name.
        """
        return self._layout.secret(name).is_file()

    def secret_names(self) -> list[str]:
        """The names of the secrets held, sorted."""
        return self._layout.secret_names()

    def open_sealed(self, blob: bytes, info: bytes) -> bytes:
        """Open a blob sealed for this keystore's HPKE public key (see :func:`seal_for`).

        Args:
            blob: The sealed blob.
            info: The ``info`` it was sealed with, e.g. :func:`grant_info` of the grant it came with.

        Raises:
            SealedBlobError: If it is malformed, sealed for another recipient or suite, with other ``info``,
                or altered.
        """
        return open_blob(blob, info, self._suite, self._hpke_private_key, repr(self))


def _require_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise EmptyPassphraseError("the keystore passphrase is empty: a keystore needs a non-empty passphrase")


def _chain_account(private_key: bytes | str | None) -> LocalAccount:
    """The account of ``private_key``, or a new random one.

    Raises:
        InvalidChainKeyError: If ``private_key`` is not a valid secp256k1 private key (the key is not echoed).
    """
    if private_key is None:
        return Account.create()
    try:
        return Account.from_key(private_key)
    except (ValueError, TypeError):
        raise InvalidChainKeyError(
            "the chain private key given is not a valid secp256k1 private key (32 bytes, or 64 hex digits): "
            "check where it came from"
        ) from None


def _prepare_directory(layout: KeystoreLayout) -> None:
    """Create (or take over an empty) private keystore directory and its ``secrets`` directory.

    Raises:
        KeystoreExistsError: If the path is a file, already a keystore, or a non-empty directory.
    """
    root = layout.root
    if root.exists() and not root.is_dir():
        raise KeystoreExistsError(root, "it is a file, not a directory; choose another path")
    if layout.manifest.exists():
        raise KeystoreExistsError(
            root, "it already is a keystore; open it with Keystore.open, or choose another directory"
        )
    if root.is_dir() and any(root.iterdir()):
        raise KeystoreExistsError(root, "the directory is not empty; choose a new or empty directory")
    root.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.chmod(root, DIRECTORY_MODE)
    layout.secrets.mkdir(mode=DIRECTORY_MODE)
    os.chmod(layout.secrets, DIRECTORY_MODE)
