"""Where each file of a keystore lives, and which secret names are safe file names.

A keystore directory (mode ``0700``, every file ``0600``)::

    keystore.json        address, scrypt parameters, passphrase check value (written last: its presence
                         marks a complete keystore)
    account.json         the chain key, standard Web3 Secret Storage (scrypt)
    hpke.pub             the HPKE public key and its suite, in clear
    hpke.key             the HPKE private key, sealed under the passphrase
    secrets/<name>.json  named secrets, each sealed under the passphrase
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from registry.keystore.errors import InvalidSecretNameError

DIRECTORY_MODE = 0o700
_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SECRET_SUFFIX = ".json"


def check_secret_name(name: str) -> str:
    """Return ``name`` if it is a valid secret name.

    Raises:
        InvalidSecretNameError: Unless it is 1-100 characters of letters, digits, ``.``, ``_`` and ``-``,
            starting with a letter or digit.
    """
    if not isinstance(name, str) or not _SECRET_NAME.fullmatch(name):
        raise InvalidSecretNameError(
            f"secret name {name!r} is not allowed: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'paillier-private-key')"
        )
    return name


@dataclass(frozen=True)
class KeystoreLayout:
    """The paths of the files of the keystore in ``root``."""

    root: Path

    @property
    def manifest(self) -> Path:
        """``keystore.json``."""
        return self.root / "keystore.json"

    @property
    def account(self) -> Path:
        """``account.json``."""
        return self.root / "account.json"

    @property
    def hpke_public(self) -> Path:
        """``hpke.pub``."""
        return self.root / "hpke.pub"

    @property
    def hpke_private(self) -> Path:
        """``hpke.key``."""
        return self.root / "hpke.key"

    @property
    def secrets(self) -> Path:
        """The ``secrets`` directory."""
        return self.root / "secrets"

    def secret(self, name: str) -> Path:
        """The file of the secret ``name``.

        Raises:
            InvalidSecretNameError: If ``name`` is not a valid secret name.
        """
        return self.secrets / f"{check_secret_name(name)}{_SECRET_SUFFIX}"

    def secret_names(self) -> list[str]:
        """The names of the stored secrets, sorted (temporary files of interrupted writes are ignored)."""
        if not self.secrets.is_dir():
            return []
        stems = (path.name[: -len(_SECRET_SUFFIX)] for path in self.secrets.glob(f"*{_SECRET_SUFFIX}"))
        return sorted(stem for stem in stems if _SECRET_NAME.fullmatch(stem))
