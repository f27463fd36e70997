"""A keystore refuses the wrong passphrase, other parties' files, altered files and unsafe names."""

from __future__ import annotations

import json
import shutil
from typing import Callable

import pytest
from eth_account import Account

from registry.keystore import (
    CorruptFileError,
    EmptyPassphraseError,
    ForeignFileError,
    InvalidSecretNameError,
    Keystore,
    KeystoreError,
    SecretExistsError,
    SecretNotFoundError,
    WrongPassphraseError,
)

MakeKeystore = Callable[..., Keystore]


def test_wrong_passphrase_is_refused_naming_the_keystore(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()

    with pytest.raises(WrongPassphraseError) as raised:
        Keystore.open(keystore.directory, "not the passphrase")

    message = str(raised.value)
    assert keystore.address in message and str(keystore.directory) in message
    assert "not the passphrase" not in message


def test_wrong_passphrase_is_refused_before_anything_is_decrypted(
    make_keystore: MakeKeystore, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = make_keystore()
    keystore.put_secret("paillier", b"secret")
    decrypted: list[str] = []
    monkeypatch.setattr(Account, "decrypt", lambda *args: decrypted.append("account.json"))
    monkeypatch.setattr("registry.keystore.envelope.AESGCM.decrypt", lambda *args: decrypted.append("sealed file"))

    with pytest.raises(WrongPassphraseError):
        Keystore.open(keystore.directory, "not the passphrase")
    assert decrypted == []


def test_empty_passphrase_is_refused_on_open(make_keystore: MakeKeystore) -> None:
    with pytest.raises(EmptyPassphraseError):
        Keystore.open(make_keystore().directory, "")


def test_secret_copied_from_another_keystore_is_refused(make_keystore: MakeKeystore, passphrase: str) -> None:
    alice, bob = make_keystore("alice"), make_keystore("bob")
    alice.put_secret("paillier", b"alice's key")
    shutil.copy(alice.directory / "secrets" / "paillier.json", bob.directory / "secrets" / "paillier.json")

    with pytest.raises(ForeignFileError) as raised:
        bob.get_secret("paillier")
    assert alice.address in str(raised.value) and bob.address in str(raised.value)


def test_copied_secret_with_its_address_field_rewritten_still_fails(make_keystore: MakeKeystore) -> None:
    alice, bob = make_keystore("alice"), make_keystore("bob")
    alice.put_secret("paillier", b"alice's key")
    envelope = json.loads((alice.directory / "secrets" / "paillier.json").read_text())
    envelope["address"] = bob.address.lower()
    (bob.directory / "secrets" / "paillier.json").write_text(json.dumps(envelope))

    with pytest.raises(CorruptFileError, match="fails authentication"):
        bob.get_secret("paillier")


def test_secret_renamed_within_the_keystore_is_refused(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("model-key", b"model")
    secrets = keystore.directory / "secrets"
    shutil.copy(secrets / "model-key.json", secrets / "codec-key.json")

    with pytest.raises(CorruptFileError, match="renamed"):
        keystore.get_secret("codec-key")


def test_renamed_secret_with_its_slot_field_rewritten_still_fails(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("model-key", b"model")
    secrets = keystore.directory / "secrets"
    envelope = json.loads((secrets / "model-key.json").read_text())
    envelope["slot"] = "secrets/codec-key.json"
    (secrets / "codec-key.json").write_text(json.dumps(envelope))

    with pytest.raises(CorruptFileError, match="fails authentication"):
        keystore.get_secret("codec-key")


def test_every_single_byte_change_of_an_envelope_is_refused(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("paillier", b"the private key")
    path = keystore.directory / "secrets" / "paillier.json"
    original = path.read_bytes()

    for position in range(len(original)):
        altered = bytearray(original)
        altered[position] ^= 0x01
        path.write_bytes(bytes(altered))
        with pytest.raises(KeystoreError):
            keystore.get_secret("paillier")
    path.write_bytes(original)
    assert keystore.get_secret("paillier") == b"the private key"


def test_flipped_ciphertext_byte_is_refused_as_corrupt(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("paillier", b"the private key")
    path = keystore.directory / "secrets" / "paillier.json"
    envelope = json.loads(path.read_text())
    ciphertext = bytearray.fromhex(envelope["ciphertext"])
    ciphertext[0] ^= 0x80
    envelope["ciphertext"] = ciphertext.hex()
    path.write_text(json.dumps(envelope))

    with pytest.raises(CorruptFileError, match=r"paillier\.json: it fails authentication.*restore it from a backup"):
        keystore.get_secret("paillier")


def test_account_json_swapped_for_another_partys_is_refused(make_keystore: MakeKeystore, passphrase: str) -> None:
    alice, bob = make_keystore("alice"), make_keystore("bob")
    shutil.copy(bob.directory / "account.json", alice.directory / "account.json")

    with pytest.raises(ForeignFileError, match="account.json belongs to keystore") as raised:
        Keystore.open(alice.directory, passphrase)
    assert bob.address in str(raised.value) and alice.address in str(raised.value)


def test_swapped_account_json_with_address_field_rewritten_is_refused(
    make_keystore: MakeKeystore, passphrase: str
) -> None:
    alice, bob = make_keystore("alice"), make_keystore("bob")
    swapped = json.loads((bob.directory / "account.json").read_text())
    swapped["address"] = alice.address[2:].lower()
    (alice.directory / "account.json").write_text(json.dumps(swapped))

    with pytest.raises(ForeignFileError, match="account.json belongs to keystore") as raised:
        Keystore.open(alice.directory, passphrase)
    assert bob.address in str(raised.value)


def test_account_json_under_another_passphrase_is_refused(make_keystore: MakeKeystore, passphrase: str) -> None:
    alice = make_keystore("alice")
    other = Account.encrypt(alice.account.key, "another passphrase", kdf="scrypt", iterations=16)
    (alice.directory / "account.json").write_text(json.dumps(other))

    with pytest.raises(CorruptFileError, match="does not decrypt with this keystore's passphrase"):
        Keystore.open(alice.directory, passphrase)


@pytest.mark.parametrize("name", ["hpke.key", "hpke.pub"])
def test_hpke_file_from_another_keystore_is_refused(make_keystore: MakeKeystore, passphrase: str, name: str) -> None:
    alice, bob = make_keystore("alice"), make_keystore("bob")
    shutil.copy(bob.directory / name, alice.directory / name)

    with pytest.raises(ForeignFileError, match=f"{name} belongs to keystore"):
        Keystore.open(alice.directory, passphrase)


def test_hpke_public_key_not_matching_the_private_key_is_refused(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore()
    path = keystore.directory / "hpke.pub"
    record = json.loads(path.read_text())
    record["public_key"] = make_keystore("other").hpke_public_key_bytes.hex()
    path.write_text(json.dumps(record))

    with pytest.raises(CorruptFileError, match="is not the one of the private key in hpke.key"):
        Keystore.open(keystore.directory, passphrase)


def test_hpke_suite_changed_in_the_clear_file_is_refused(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore(suite="x25519")
    path = keystore.directory / "hpke.pub"
    record = json.loads(path.read_text())
    record["suite"] = "mlkem768-x25519"
    path.write_text(json.dumps(record))

    with pytest.raises(CorruptFileError):
        Keystore.open(keystore.directory, passphrase)


def test_missing_file_is_named(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore()
    (keystore.directory / "hpke.key").unlink()

    with pytest.raises(CorruptFileError, match=r"hpke\.key: the file is missing"):
        Keystore.open(keystore.directory, passphrase)


def test_tampered_scrypt_cost_cannot_make_opening_hang(make_keystore: MakeKeystore, passphrase: str) -> None:
    keystore = make_keystore()
    path = keystore.directory / "keystore.json"
    manifest = json.loads(path.read_text())
    manifest["kdf"]["n"] = 2**40
    path.write_text(json.dumps(manifest))

    with pytest.raises(CorruptFileError, match="power of two from 2 to 2\\*\\*22"):
        Keystore.open(keystore.directory, passphrase)


def test_existing_secret_is_kept_unless_overwrite_is_asked(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("model-key", b"first")

    with pytest.raises(SecretExistsError, match="pass overwrite=True"):
        keystore.put_secret("model-key", b"second")
    assert keystore.get_secret("model-key") == b"first"
    keystore.put_secret("model-key", b"second", overwrite=True)
    assert keystore.get_secret("model-key") == b"second"


def test_missing_secret_names_what_is_there(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("paillier", b"x")

    with pytest.raises(SecretNotFoundError, match=r"no secret 'codec' \(it holds: paillier\)"):
        keystore.get_secret("codec")


@pytest.mark.parametrize(
    "name", ["", ".hidden", "..", "../escape", "a/b", "a\\b", "with space", "é", "nul\x00", "-dash-first", "x" * 101]
)
def test_unsafe_secret_names_are_refused(make_keystore: MakeKeystore, name: str) -> None:
    keystore = make_keystore()

    for operation in (
        lambda: keystore.put_secret(name, b"x"),
        lambda: keystore.get_secret(name),
        lambda: keystore.has_secret(name),
    ):
        with pytest.raises(InvalidSecretNameError, match="is not allowed"):
            operation()
    assert keystore.secret_names() == []
    root = keystore.directory.parent
    files = {path.relative_to(root).as_posix() for path in root.rglob("*")}
    expected = {"account.json", "hpke.key", "hpke.pub", "keystore.json", "secrets"}
    assert files == {"party"} | {f"party/{name}" for name in expected}


@pytest.mark.parametrize("name", ["paillier", "Codec.Key_2", "model-key.epoch-3", "x" * 100])
def test_safe_secret_names_are_accepted(make_keystore: MakeKeystore, name: str) -> None:
    keystore = make_keystore()
    keystore.put_secret(name, b"value")

    assert keystore.secret_names() == [name] and keystore.get_secret(name) == b"value"


def test_secret_names_ignore_stray_files(make_keystore: MakeKeystore) -> None:
    keystore = make_keystore()
    keystore.put_secret("paillier", b"x")
    (keystore.directory / "secrets" / ".paillier.json.0123.tmp").write_bytes(b"half")
    (keystore.directory / "secrets" / "notes.txt").write_text("not a secret")

    assert keystore.secret_names() == ["paillier"]
