"""`flep keys init | register | show`: a keystore round trip, refusals, and registration on the real devnet.

Keystores use the default scrypt cost (about 0.8 s per create or open on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Mapping

from typer.testing import CliRunner

from registry.cli import app
from registry.config import ConfigError
from registry.devnet import dev_account
from registry.keystore import Keystore
from registry.roles import registered_encryption_key

PASSPHRASE = "correct horse battery staple"


def _flep(env: Mapping[str, str | None], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"FLEP_PASSPHRASE": PASSPHRASE, **env})


def _no_chain(tmp_path: Path) -> dict[str, str | None]:
    """A state directory without a devnet, and no chain settings from the environment."""
    return {"FLEP_HOME": str(tmp_path / "home"), "FLEP_CONFIG": None, "FLEP_RPC_URL": None,
            "FLEP_REGISTRY_ADDRESS": None}


def test_init_then_show_round_trip(tmp_path: Path) -> None:
    directory = tmp_path / "analyst"
    created = _flep(_no_chain(tmp_path), "keys", "init", "--keystore", str(directory), "--json")
    assert created.exit_code == 0, created.output
    info = json.loads(created.output)
    assert info["keystore"] == str(directory) and info["suite"] == "x25519" and info["registration"] is None
    assert len(bytes.fromhex(info["hpke_public_key"])) == 32
    assert (directory / "account.json").is_file() and directory.stat().st_mode & 0o077 == 0
    secret = b"paillier private key bytes 0123456789"
    Keystore.open(directory, PASSPHRASE).put_secret("paillier-epoch-1", secret)

    shown = _flep(_no_chain(tmp_path), "keys", "show", "--keystore", str(directory), "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert {k: report[k] for k in info if k != "registration"} == {k: v for k, v in info.items() if k != "registration"}
    assert report["secrets"] == ["paillier-epoch-1"] and report["on_chain"] is None

    text = _flep(_no_chain(tmp_path), "keys", "show", "--keystore", str(directory))
    assert text.exit_code == 0, text.output
    assert info["address"] in text.output and "paillier-epoch-1" in text.output
    assert "no chain or registry configured" in text.output
    assert secret.decode() not in text.output and secret.hex() not in text.output


def test_post_quantum_suite_and_imported_key(tmp_path: Path) -> None:
    key_file = tmp_path / "chain.key"
    key_file.write_text(dev_account(9).key.hex() + "\n")
    result = _flep(_no_chain(tmp_path), "keys", "init", "--keystore", str(tmp_path / "pq"), "--suite",
                   "mlkem768-x25519", "--import-key-file", str(key_file), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["address"] == dev_account(9).address and info["suite"] == "mlkem768-x25519"
    assert len(bytes.fromhex(info["hpke_public_key"])) == 1216  # ML-KEM-768 (1184) + X25519 (32)


def test_wrong_passphrase_is_one_error_line(tmp_path: Path) -> None:
    directory = tmp_path / "owner"
    store = Keystore.create(directory, PASSPHRASE, scrypt_n=2**10)
    env = {"PATH": "/usr/bin:/bin", "FLEP_HOME": str(tmp_path / "home"), "FLEP_PASSPHRASE": "wrong"}
    result = subprocess.run([sys.executable, "-m", "registry", "keys", "show", "--keystore", str(directory)],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: the passphrase does not open keystore {store.address}")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_existing_keystore_is_not_overwritten(tmp_path: Path) -> None:
    directory = tmp_path / "party"
    first = Keystore.create(directory, PASSPHRASE, scrypt_n=2**10)
    result = _flep(_no_chain(tmp_path), "keys", "init", "--keystore", str(directory))
    assert result.exit_code == 1
    assert "it already is a keystore" in str(result.exception)
    assert Keystore.open(directory, PASSPHRASE).address == first.address


def test_register_needs_a_chain_and_creates_nothing_without_one(tmp_path: Path) -> None:
    directory = tmp_path / "nowhere"
    result = _flep(_no_chain(tmp_path), "keys", "init", "--keystore", str(directory), "--register")
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError) and "needs a chain and a registry" in str(result.exception)
    assert not directory.exists()


def test_register_then_show_matches_on_chain(tmp_path: Path, cli_env: dict[str, str], registry) -> None:
    key_file = tmp_path / "chain.key"
    key_file.write_text(dev_account(9).key.hex())
    first = tmp_path / "first"
    created = _flep(cli_env, "keys", "init", "--keystore", str(first), "--import-key-file", str(key_file),
                    "--register", "--json")
    assert created.exit_code == 0, created.output
    info = json.loads(created.output)
    registration = info["registration"]
    assert registration["registry"] == registry.address and registration["gas_used"] > 0
    receipt = registry.w3.eth.get_transaction_receipt(registration["transaction_hash"])
    assert receipt["blockNumber"] == registration["block"] and receipt["from"] == dev_account(9).address
    suite, public_key = registered_encryption_key(registry, dev_account(9).address)
    assert (suite, public_key.hex()) == ("x25519", info["hpke_public_key"])

    shown = json.loads(_flep(cli_env, "keys", "show", "--keystore", str(first), "--json").output)
    assert shown["on_chain"] == {"registry": registry.address, "registered": True, "suite": "x25519", "matches": True}

    # A second keystore of the same account registers its own key: the first one no longer matches.
    second = tmp_path / "second"
    assert _flep(cli_env, "keys", "init", "--keystore", str(second), "--import-key-file", str(key_file)).exit_code == 0
    assert _flep(cli_env, "keys", "register", "--keystore", str(second)).exit_code == 0
    text = _flep(cli_env, "keys", "show", "--keystore", str(first))
    assert "is not this keystore's" in text.output and "flep keys register" in text.output
    assert json.loads(_flep(cli_env, "keys", "show", "--keystore", str(second), "--json").output)["on_chain"][
        "matches"] is True


def test_register_refuses_an_unfunded_account_and_says_how_to_recover(tmp_path: Path, cli_env: dict[str, str],
                                                                      registry) -> None:
    directory = tmp_path / "fresh"
    result = _flep(cli_env, "keys", "init", "--keystore", str(directory), "--register")
    assert result.exit_code == 1
    message = str(result.exception)
    assert isinstance(result.exception, ConfigError) and "holds no ETH" in message
    assert f"flep keys register --keystore {directory}" in message
    address = Keystore.open(directory, PASSPHRASE).address
    assert registry.encryption_key(address).registered_at == 0
    shown = json.loads(_flep(cli_env, "keys", "show", "--keystore", str(directory), "--json").output)
    assert shown["on_chain"]["registered"] is False and shown["on_chain"]["matches"] is None
