"""Where the registry finds its chain, its IPFS node and its state.

Resolution order for every setting: environment variable, then the config
file (``$FLEP_CONFIG`` or ``$FLEP_HOME/config.toml``), then the devnet file
written by ``flep devnet up``, then the built-in default. So any EVM RPC and any
Kubo-compatible node can stand in for the local devnet by setting
``FLEP_RPC_URL`` / ``FLEP_IPFS_API``.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = Path(".flep")
DEVNET_FILE_NAME = "devnet.json"
DEFAULT_CHAIN_ID = 31337


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Resolved configuration.

    Attributes:
        home: State directory (devnet file, chain state, IPFS repo, logs).
        rpc_url: JSON-RPC URL of the chain, or ``None`` when nothing is configured.
        ipfs_api: Kubo RPC API multiaddr (``/ip4/127.0.0.1/tcp/5001/http``), or ``None``.
        chain_id: The chain id the registry expects (a different one is refused).
        anvil_port: Port for the devnet's Anvil (0 = any free port).
        ipfs_port: Port for the devnet's IPFS node (0 = any free port).
        registry_address: Deployed registry contract, when known.
    """

    home: Path
    rpc_url: str | None
    ipfs_api: str | None
    chain_id: int
    anvil_port: int
    ipfs_port: int
    registry_address: str | None

    @property
    def devnet_file(self) -> Path:
        """Path of the devnet file written by ``flep devnet up``."""
        return self.home / DEVNET_FILE_NAME


def to_multiaddr(api: str) -> str:
    """Normalize an IPFS API address to the multiaddr ipfshttpclient expects.

    Accepts ``/ip4/H/tcp/P[/http]``, ``/dns/H/tcp/P/http`` and ``http://H:P``.

    Raises:
        ConfigError: If the address is neither form.
    """
    if api.startswith("/"):
        return api if api.endswith("/http") or api.endswith("/https") else api + "/http"
    parsed = urlparse(api)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not parsed.port:
        raise ConfigError(
            f"IPFS API address {api!r} is not a multiaddr (/ip4/127.0.0.1/tcp/5001/http) "
            "or an http://host:port URL; fix FLEP_IPFS_API or the config file"
        )
    proto = "ip6" if ":" in parsed.hostname else "ip4"
    if not parsed.hostname.replace(".", "").isdigit() and proto == "ip4":
        proto = "dns"
    return f"/{proto}/{parsed.hostname}/tcp/{parsed.port}/{parsed.scheme}"


def to_http_url(api: str) -> str:
    """Render an IPFS API address as ``http://host:port`` (for messages and raw HTTP)."""
    parts = to_multiaddr(api).strip("/").split("/")
    host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
    return f"{parts[-1]}://{host}:{parts[3]}"


def _read_config_file(env: Mapping[str, str], home: Path) -> dict[str, Any]:
    path = Path(env["FLEP_CONFIG"]) if "FLEP_CONFIG" in env else home / "config.toml"
    if not path.exists():
        if "FLEP_CONFIG" in env:
            raise ConfigError(f"config file {path} (from FLEP_CONFIG) does not exist")
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def read_devnet_file(path: Path) -> dict[str, Any]:
    """Load a devnet file, or ``{}`` when there is none.

    Raises:
        ConfigError: If the file exists but is not valid JSON.
    """
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"devnet file {path} is corrupt ({exc}); run `flep devnet down` to clear it"
        ) from exc


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Resolve the configuration from the environment, config file and devnet file.

    Args:
        env: Environment to read (defaults to ``os.environ``).

    Raises:
        ConfigError: If a value is malformed.
    """
    env = os.environ if env is None else env
    home = Path(env.get("FLEP_HOME", DEFAULT_HOME)).resolve()
    file_cfg = _read_config_file(env, home)
    devnet = read_devnet_file(home / DEVNET_FILE_NAME)

    def pick(env_name: str, key: str, default: Any = None) -> Any:
        if env.get(env_name):
            return env[env_name]
        if key in file_cfg:
            return file_cfg[key]
        return devnet.get(key, default)

    ipfs_api = pick("FLEP_IPFS_API", "ipfs_api")
    return Settings(
        home=home,
        rpc_url=pick("FLEP_RPC_URL", "rpc_url"),
        ipfs_api=to_multiaddr(ipfs_api) if ipfs_api else None,
        chain_id=_int(pick("FLEP_CHAIN_ID", "chain_id", DEFAULT_CHAIN_ID), "chain id"),
        anvil_port=_int(env.get("FLEP_ANVIL_PORT", file_cfg.get("anvil_port", 0)), "FLEP_ANVIL_PORT"),
        ipfs_port=_int(env.get("FLEP_IPFS_PORT", file_cfg.get("ipfs_port", 0)), "FLEP_IPFS_PORT"),
        registry_address=pick("FLEP_REGISTRY_ADDRESS", "registry_address"),
    )
