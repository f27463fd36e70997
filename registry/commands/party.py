"""What the party commands share: the configured registry, a party's keystore, and a federation context."""

from __future__ import annotations

from pathlib import Path

from registry.chain import ZERO_ADDRESS, ModelRegistry, connect
from registry.config import ConfigError, load_settings
from registry.keystore import Keystore, passphrase_from_env_or_prompt
from registry.roles import FederationContext
from registry.store import ArtifactStore


def configured_registry(sender=ZERO_ADDRESS) -> tuple[ModelRegistry, ArtifactStore]:
    """The configured registry acting as ``sender`` (default: read-only), and the configured IPFS store.

    Raises:
        ConfigError: If no chain, registry or IPFS node is configured.
    """
    settings = load_settings()
    if not settings.rpc_url or not settings.registry_address or not settings.ipfs_api:
        raise ConfigError("this command needs a chain, a registry and an IPFS node: run `flep devnet up` and "
                          "`flep registry deploy`, or set FLEP_RPC_URL, FLEP_REGISTRY_ADDRESS and FLEP_IPFS_API")
    w3 = connect(settings.rpc_url, settings.chain_id)
    return ModelRegistry.at(w3, settings.registry_address, sender), ArtifactStore(settings.ipfs_api)


def open_party(keystore: Path) -> Keystore:
    """Open a party's keystore (passphrase from FLEP_PASSPHRASE or a prompt)."""
    return Keystore.open(keystore, passphrase_from_env_or_prompt(f"passphrase of keystore {keystore}: "))


def federation_context(registry: ModelRegistry, store: ArtifactStore, federation: int | None) -> FederationContext:
    """The federation (default: the last one created) seen through ``registry``'s account.

    Raises:
        ConfigError: If the registry has no federation yet.
    """
    if federation is None:
        federation = registry.federation_count()
        if not federation:
            raise ConfigError(f"the registry at {registry.address} has no federation yet: `flep federation create`")
    return FederationContext(registry, store, federation)
