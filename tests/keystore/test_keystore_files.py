"""A keystore round-trips, keeps a standard chain key file, is private on disk and leaks nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Callable

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from registry.keystore import (
    DEFAULT_SCRYPT_N,
    EmptyPassphraseError,
    InvalidChainKeyError,
    Keystore,
    KeystoreError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    UnknownSuiteError,
)

MakeKeystore = Callable[..., Keystore]
CHAIN_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
SECRET = b"paillier-lambda:" + os.urandom(48)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_then_open_round_trips_everything(make_keystore: MakeKeystore, passphrase: str) -> None:
    created = make_keystore(suite="mlkem768-x25519")
    created.put_secret("paillier", SECRET)
    created.put_secret("codec.key", b"codec")

    opened = Keystore.open(created.directory, passphrase)

    assert opened.address == created.address
    assert opened.account.key == created.account.key
    assert opened.suite == "mlkem768-x25519"
    assert opened.hpke_public_key_bytes == created.hpke_public_key_bytes
    assert opened.secret_names() == ["codec.key", "paillier"]
    assert opened.get_secret("paillier") == SECRET
    assert opened.has_secret("codec.key") and not opened.has_secret("model-key")


def test_given_chain_key_is_kept_and_signs(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = Keystore.open(make_keystore(private_key=CHAIN_KEY).directory, passphrase)

    assert keystore.address == Account.from_key(CHAIN_KEY).address
    signed = keystore.account.sign_message(encode_defunct(text="round 3"))
    assert Account.recover_message(encode_defunct(text="round 3"), signature=signed.signature) == keystore.address


def test_new_keystores_get_distinct_random_chain_keys(make_keystore: MakeKeystore) -> None:
    assert make_keystore("a").address != make_keystore("b").address


def test_account_json_is_standard_web3_secret_storage(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore(private_key=CHAIN_KEY)
    document = json.loads((keystore.directory / "account.json").read_text())

    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert "0x" + document["address"].lower() == Account.from_key(CHAIN_KEY).address.lower()
    assert bytes(Account.decrypt(document, passphrase)) == CHAIN_KEY


def test_hpke_public_key_is_in_clear_with_its_suite(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    record = json.loads((keystore.directory / "hpke.pub").read_text())

    assert keystore.suite == "x25519" and len(keystore.hpke_public_key_bytes) == 32
    assert record["suite"] == "x25519"
    assert bytes.fromhex(record["public_key"]) == keystore.hpke_public_key_bytes
    assert record["address"] == keystore.address.lower()


def test_directories_are_0700_and_every_file_0600(make_keystore: MakeKeystore) -> None:
    previous = os.umask(0)
    try:
        keystore = make_keystore()
        keystore.put_secret("paillier", SECRET)
    finally:
        os.umask(previous)

    assert _mode(keystore.directory) == 0o700
    assert _mode(keystore.directory / "secrets") == 0o700
    files = [path for path in keystore.directory.rglob("*") if path.is_file()]
    assert {path.name for path in files} == {"keystore.json", "account.json", "hpke.pub", "hpke.key", "paillier.json"}
    assert all(_mode(path) == 0o600 for path in files)


@pytest.mark.parametrize("suite", ["x25519", "mlkem768-x25519"])
def test_nothing_secret_is_on_disk_in_clear(make_keystore: MakeKeystore, passphrase: str, suite: str) -> None:
    keystore = make_keystore(private_key=CHAIN_KEY, suite=suite)
    keystore.put_secret("paillier", SECRET)
    needles = [SECRET, SECRET.hex().encode(), CHAIN_KEY, CHAIN_KEY.hex().encode(), passphrase.encode()]

    for path in (path for path in keystore.directory.rglob("*") if path.is_file()):
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content and needle.upper() not in content, f"{needle!r} in clear in {path}"


def test_repr_and_str_show_only_address_and_directory(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore(private_key=CHAIN_KEY)
    keystore.put_secret("paillier", SECRET)
    expected = f"<Keystore {keystore.address} at {keystore.directory}>"

    assert repr(keystore) == str(keystore) == expected
    for needle in (CHAIN_KEY.hex(), passphrase, SECRET.hex()):
        assert needle not in repr(keystore) and needle not in repr(vars(keystore))


def test_default_scrypt_cost_is_strong(tmp_path: Path, passphrase: str) -> None:
    keystore = Keystore.create(tmp_path / "strong", passphrase)
    manifest = json.loads((keystore.directory / "keystore.json").read_text())
    account = json.loads((keystore.directory / "account.json").read_text())

    assert DEFAULT_SCRYPT_N >= 2**17
    assert (manifest["kdf"]["n"], manifest["kdf"]["r"]) == (DEFAULT_SCRYPT_N, 8)
    assert account["crypto"]["kdfparams"]["n"] == DEFAULT_SCRYPT_N


def test_create_refuses_an_existing_keystore_and_leaves_it_intact(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore("party")
    before = {path: path.read_bytes() for path in keystore.directory.rglob("*") if path.is_file()}

    with pytest.raises(KeystoreExistsError, match="already is a keystore; open it with Keystore.open"):
        make_keystore("party")

    assert {path: path.read_bytes() for path in keystore.directory.rglob("*") if path.is_file()} == before
    assert Keystore.open(keystore.directory, passphrase).address == keystore.address


def test_create_refuses_a_non_empty_directory_and_a_file(tmp_path: Path, make_keystore: MakeKeystore) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "plain").write_text("a file")

    with pytest.raises(KeystoreExistsError, match="not empty"):
        make_keystore("busy")
    with pytest.raises(KeystoreExistsError, match="is a file"):
        make_keystore("plain")
    assert sorted(path.name for path in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_create_takes_an_empty_directory_and_makes_it_private(tmp_path: Path, make_keystore: MakeKeystore) -> None:
    (tmp_path / "empty").mkdir(mode=0o755)

    keystore = make_keystore("empty")

    assert _mode(keystore.directory) == 0o700 and (keystore.directory / "keystore.json").is_file()


def test_create_refuses_bad_arguments_before_writing(tmp_path: Path, make_keystore: MakeKeystore) -> None:
    with pytest.raises(EmptyPassphraseError):
        make_keystore("a", passphrase="")
    with pytest.raises(UnknownSuiteError, match="x25519, mlkem768-x25519"):
        make_keystore("b", suite="p256")
    with pytest.raises(KeystoreError, match="scrypt n must be a power of two"):
        make_keystore("d", scrypt_n=1000)
    with pytest.raises(InvalidChainKeyError) as raised:
        make_keystore("c", private_key=b"\x00" * 32)
    assert "00" * 32 not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_open_refuses_a_missing_or_unfinished_keystore(tmp_path: Path, passphrase: str) -> None:
    with pytest.raises(KeystoreNotFoundError, match="does not exist"):
        Keystore.open(tmp_path / "nowhere", passphrase)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "account.json").write_text("{}")
    with pytest.raises(KeystoreNotFoundError, match="no keystore.json"):
        Keystore.open(tmp_path / "half", passphrase)
