"""``account.json``: the party's chain key as a standard Web3 Secret Storage (v3, scrypt) key file.

Any Ethereum tool opens it (``eth_account.Account.decrypt``, geth, Foundry's ``cast wallet``). Its
``address`` field is not authenticated by that format, so the decrypted key's address is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from registry.keystore.documents import Document
from registry.keystore.errors import CorruptFileError, ForeignFileError


def encode_account(account: LocalAccount, passphrase: str, scrypt_n: int) -> bytes:
    """The key file sealing ``account``'s key under ``passphrase`` with scrypt cost ``scrypt_n``."""
    return json.dumps(Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)).encode("ascii")


def read_account(path: Path, passphrase: str, address: str) -> LocalAccount:
    """Decrypt the key file at ``path``, which must hold the key of ``address``.

    Args:
        path: The ``account.json``.
        passphrase: The keystore passphrase (already checked against ``keystore.json``).
        address: The keystore's address, lowercase.

    Raises:
        ForeignFileError: If the key file holds another account's key.
        CorruptFileError: If it is missing, malformed, or does not decrypt with the passphrase.
    """
    document = Document.read(path)
    written = "0x" + document.text("address").lower().removeprefix("0x")
    if written != address:
        raise ForeignFileError(path, written, address)
    try:
        key = Account.decrypt(dict(document.fields), passphrase)
    except (ValueError, KeyError, TypeError):
        raise CorruptFileError(
            path,
            "it does not decrypt with this keystore's passphrase, although keystore.json does "
            "(replaced by another key file with the same address field?)",
        ) from None
    account: LocalAccount = Account.from_key(key)
    if account.address.lower() != address:
        raise ForeignFileError(path, account.address, address)
    return account
