"""`flep keys init | register | show | ceremony`: a party's keystore and its HPKE encryption key on chain, and
the threshold key ceremony.

A keystore holds the party's chain key, its HPKE key pair and its sealed secrets (:mod:`registry.keystore`);
the passphrase comes from ``FLEP_PASSPHRASE`` or a prompt without echo. Others seal grants for the public key
the party registers on chain, signed by the keystore's own chain account.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import click
import typer
from rich.table import Table

from clients.he import EncodingParams
from registry.chain import ZERO_ADDRESS, ModelRegistry, connect
from registry.commands.output import console, emit_json, literal
from registry.commands.party import configured_registry, federation_context, open_party
from registry.config import ConfigError, load_settings
from registry.keystore import (
    DEFAULT_SUITE,
    PASSPHRASE_ENV,
    SUITE_NAMES,
    Keystore,
    KeystoreError,
    passphrase_from_env_or_prompt,
)
from registry.roles import PlanError, current_plan, publish_encryption_key, registered_encryption_key, run_ceremony

app = typer.Typer(help="Party keystores: create one, register its encryption key on chain, show it.",
                  no_args_is_help=True)

_KEYSTORE_HELP = "The keystore directory."
_JSON_HELP = "Print JSON."


@app.command()
def init(
    keystore: Path = typer.Option(..., "--keystore", help="Create the keystore here (a new or empty directory)."),
    suite: str = typer.Option(DEFAULT_SUITE, "--suite", click_type=click.Choice(SUITE_NAMES),
                              help="HPKE suite of the new key pair."),
    import_key_file: Optional[Path] = typer.Option(
        None, "--import-key-file", exists=True, dir_okay=False, readable=True,
        help="Keep the chain private key in this file (hex) instead of creating a new one."),
    register: bool = typer.Option(False, "--register",
                                  help="Also register the HPKE public key on chain (the account pays the gas)."),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Create a party keystore: a chain key, an HPKE key pair, and a place for sealed secrets.

    The passphrase is FLEP_PASSPHRASE if set, else typed twice without echo. With --register the chain and
    registry are checked before anything is created, and the new account must hold ETH for the gas (a new
    random key holds none: import a funded key).

    \f
    Raises:
        ConfigError: If --register is given without a configured chain and registry, or the account holds no
            ETH (the keystore is then created, unregistered).
        KeystoreError: If the passphrases differ, the directory is taken, or the key file holds no valid key.
    """
    registry = _required_registry() if register else None
    passphrase = passphrase_from_env_or_prompt(f"New passphrase for keystore {keystore}: ")
    if PASSPHRASE_ENV not in os.environ and passphrase_from_env_or_prompt("Repeat the passphrase: ") != passphrase:
        raise KeystoreError("the two passphrases typed differ; nothing was created: run the command again")
    private_key = import_key_file.read_text().strip() if import_key_file else None
    store = Keystore.create(keystore, passphrase, suite=suite, private_key=private_key)
    registration = _register(registry, store) if registry is not None else None
    _report_keystore(store, "created", registration, json_out)


@app.command("register")
def register_key(
    keystore: Path = typer.Option(..., "--keystore", help=_KEYSTORE_HELP),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Register (or replace) the keystore's HPKE public key on chain, signed by its own account.

    \f
    Raises:
        ConfigError: If no chain and registry are configured, or the account holds no ETH for the gas.
        KeystoreError: If the keystore is missing or the passphrase does not open it.
    """
    registry = _required_registry()
    store = _open(keystore)
    _report_keystore(store, "opened", _register(registry, store), json_out)


@app.command()
def show(
    keystore: Path = typer.Option(..., "--keystore", help=_KEYSTORE_HELP),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Show a keystore: address, suite, HPKE public key, the names of its secrets (never their values) and,
    when a chain and registry are configured, whether its encryption key is registered there and matches.

    \f
    Raises:
        KeystoreError: If the keystore is missing, damaged, or the passphrase does not open it.
        GrantError: If the node's key events do not match contract storage.
    """
    store = _open(keystore)
    registry = _configured_registry()
    on_chain = _on_chain_state(registry, store) if registry is not None else None
    if json_out:
        emit_json({**_keystore_json(store), "secrets": store.secret_names(), "on_chain": on_chain})
        return
    table = _keystore_table(store)
    table.add_row("secrets", literal(", ".join(store.secret_names()) or "none"))
    table.add_row("on chain", _on_chain_text(on_chain, store))
    console.print(f"keystore {literal(store.directory)}")
    console.print(table)


# ---------------------------------------------------------------------- helpers


def _open(directory: Path) -> Keystore:
    return Keystore.open(directory, passphrase_from_env_or_prompt(f"Passphrase for keystore {directory}: "))


def _configured_registry() -> ModelRegistry | None:
    """The configured registry (read-only), or ``None`` when no chain and registry are configured."""
    settings = load_settings()
    if not settings.rpc_url or not settings.registry_address:
        return None
    return ModelRegistry.at(connect(settings.rpc_url, settings.chain_id), settings.registry_address, ZERO_ADDRESS)


def _required_registry() -> ModelRegistry:
    """The configured registry (read-only).

    Raises:
        ConfigError: If no chain or registry is configured.
    """
    registry = _configured_registry()
    if registry is None:
        raise ConfigError("registering an encryption key needs a chain and a registry: run `flep devnet up` "
                          "and `flep registry deploy`, or set FLEP_RPC_URL and FLEP_REGISTRY_ADDRESS")
    return registry


def _register(registry: ModelRegistry, store: Keystore) -> dict[str, Any]:
    """Register the keystore's key, signed by its account; returns where the chain recorded it.

    Raises:
        ConfigError: If the account holds no ETH to pay for the transaction.
    """
    if not registry.w3.eth.get_balance(store.address):
        raise ConfigError(
            f"account {store.address} of keystore {store.directory} holds no ETH on chain {registry.w3.eth.chain_id} "
            "to pay for registering its encryption key: fund it, then run "
            f"`flep keys register --keystore {store.directory}` (on the devnet, create keystores with "
            "--import-key-file holding a funded development key)")
    tx = publish_encryption_key(registry.as_account(store.account), store)
    return {"registry": registry.address, "public_key_sha256": tx.value.public_key_sha256.hex(),
            "transaction_hash": tx.transaction_hash, "block": tx.block_number, "gas_used": tx.gas_used}


def _on_chain_state(registry: ModelRegistry, store: Keystore) -> dict[str, Any]:
    """Whether the keystore's account registered an encryption key on ``registry``, and whether it is this one.

    Raises:
        GrantError: If the node's key events do not match contract storage.
    """
    state: dict[str, Any] = {"registry": registry.address, "registered": False, "suite": None, "matches": None}
    if registry.encryption_key(store.address).registered_at:
        suite, public_key = registered_encryption_key(registry, store.address)
        state.update(registered=True, suite=suite,
                     matches=suite == store.suite and public_key == store.hpke_public_key_bytes)
    return state


def _on_chain_text(state: dict[str, Any] | None, store: Keystore) -> str:
    register = f"run `flep keys register --keystore {literal(store.directory)}`"
    if state is None:
        return "no chain or registry configured"
    where = f"registry {literal(state['registry'])}"
    if not state["registered"]:
        return f"[yellow]not registered[/yellow] at {where}: {register}"
    if state["matches"]:
        return f"[green]registered, matches[/green] at {where}"
    return (f"[red]registered key ({literal(state['suite'])}) is not this keystore's[/red] at {where}: grants are "
            f"sealed for the registered key; {register} to replace it")


def _keystore_json(store: Keystore) -> dict[str, Any]:
    return {"keystore": str(store.directory), "address": store.address, "suite": store.suite,
            "hpke_public_key": store.hpke_public_key_bytes.hex()}


def _keystore_table(store: Keystore) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("address", literal(store.address))
    table.add_row("suite", literal(store.suite))
    table.add_row("HPKE public key", store.hpke_public_key_bytes.hex())
    return table


def _report_keystore(store: Keystore, what: str, registration: dict[str, Any] | None, json_out: bool) -> None:
    if json_out:
        emit_json({**_keystore_json(store), "registration": registration})
        return
    table = _keystore_table(store)
    if registration is None:
        table.add_row("on chain", f"not registered: run `flep keys register --keystore {literal(store.directory)}`")
    else:
        table.add_row("on chain", f"[green]registered[/green] at registry {literal(registration['registry'])} "
                                  f"(tx {literal(registration['transaction_hash'])}, block {registration['block']}, "
                                  f"gas {registration['gas_used']})")
    console.print(f"keystore {what} at {literal(store.directory)}")
    console.print(table)


@app.command()
def ceremony(
    keystore: Path = typer.Option(..., "--keystore", help="The federation admin's keystore (the dealer)."),
    custodians: str = typer.Option(..., "--custodians",
                                   help="Comma-separated custodian accounts, in share order (each registered its "
                                        "encryption key with `flep keys init --register`)."),
    threshold: int = typer.Option(..., "--threshold", min=1, help="How many custodians decrypt a round."),
    bits: int = typer.Option(2048, "--bits", min=1024, help="Paillier modulus size."),
    federation: Optional[int] = typer.Option(None, "--federation", help="Federation id (default: the last one)."),
    json_out: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Deal a new key epoch's Paillier key to custodians: any --threshold of them decrypt a round, fewer learn
    nothing. Starts the next key epoch; each custodian is granted its share (with the epoch's model key) sealed
    for its registered key. Nothing secret is written here: the dealer keeps no share, factor or model key.

    The encoding parameters are the current training plan's (the defaults before a plan is published).

    \f
    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
        GrantError: If a custodian registered no encryption key.
        ChainError: If the keystore is not the admin, a round is live, or a custodian is named twice.
    """
    accounts = [a.strip() for a in custodians.split(",") if a.strip()]
    if threshold > len(accounts):
        raise typer.BadParameter(f"--threshold {threshold} exceeds the {len(accounts)} custodians given")
    party = open_party(keystore)
    registry, store = configured_registry(party.account)
    context = federation_context(registry, store, federation)
    try:
        encoding = current_plan(context).encoding
    except PlanError:
        encoding = EncodingParams()
    dealt = run_ceremony(context, accounts, threshold, encoding, bits)
    data = {"federation": context.federation_id, "epoch": dealt.epoch, "threshold": dealt.threshold,
            "custodians": list(dealt.custodians), "public_key_artifact": dealt.public_key_artifact,
            "threshold_key_artifact": dealt.threshold_key_artifact,
            "share_grants": [{"custodian": g.grantee, "cid": g.cid, "sha256": g.sha256,
                              "transaction_hash": g.transaction.transaction_hash} for g in dealt.grants],
            "gas_used": dealt.gas_used}
    if json_out:
        emit_json(data)
        return
    console.print(f"key epoch {dealt.epoch} of federation {context.federation_id}: {dealt.threshold} of "
                  f"{len(dealt.custodians)} custodians decrypt (threshold key #{dealt.threshold_key_artifact}, "
                  f"gas {dealt.gas_used:,})")
    for index, grant in enumerate(dealt.grants, start=1):
        console.print(f"  custodian {index}: {literal(grant.grantee)} share sealed at {literal(grant.cid)}")
