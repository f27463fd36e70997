"""Configuration resolution: environment > config file > devnet file > default."""

import json
from pathlib import Path

import pytest

from registry.config import ConfigError, load_settings, to_http_url, to_multiaddr


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"FLEP_HOME": str(tmp_path)})
    assert settings.rpc_url is None and settings.ipfs_api is None
    assert settings.chain_id == 31337
    assert settings.devnet_file == tmp_path / "devnet.json"


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "devnet.json").write_text(json.dumps({"rpc_url": "http://127.0.0.1:1", "ipfs_api": "http://127.0.0.1:2"}))
    settings = load_settings({"FLEP_HOME": str(tmp_path)})
    assert settings.rpc_url == "http://127.0.0.1:1"
    assert settings.ipfs_api == "/ip4/127.0.0.1/tcp/2/http"
    (tmp_path / "config.toml").write_text('rpc_url = "http://127.0.0.1:3"\nchain_id = 5\n')
    settings = load_settings({"FLEP_HOME": str(tmp_path)})
    assert (settings.rpc_url, settings.chain_id) == ("http://127.0.0.1:3", 5)
    settings = load_settings({"FLEP_HOME": str(tmp_path), "FLEP_RPC_URL": "http://127.0.0.1:4"})
    assert settings.rpc_url == "http://127.0.0.1:4"


def test_address_forms() -> None:
    assert to_multiaddr("http://127.0.0.1:5001") == "/ip4/127.0.0.1/tcp/5001/http"
    assert to_multiaddr("/ip4/127.0.0.1/tcp/5001") == "/ip4/127.0.0.1/tcp/5001/http"
    assert to_http_url("/ip4/127.0.0.1/tcp/5001/http") == "http://127.0.0.1:5001"
    assert to_multiaddr("http://localhost:5001") == "/dns/localhost/tcp/5001/http"


@pytest.mark.parametrize("bad", ["ftp://x:1", "127.0.0.1:5001", "http://127.0.0.1"])
def test_malformed_ipfs_api(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="FLEP_IPFS_API"):
        load_settings({"FLEP_HOME": str(tmp_path), "FLEP_IPFS_API": bad})


def test_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "devnet.json").write_text("{not json")
    with pytest.raises(ConfigError, match="flep devnet down"):
        load_settings({"FLEP_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"FLEP_HOME": str(tmp_path), "FLEP_CONFIG": str(tmp_path / "nope.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("rpc_url = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"FLEP_HOME": str(tmp_path), "FLEP_CONFIG": str(bad)})
    with pytest.raises(ConfigError, match="integer"):
        load_settings({"FLEP_HOME": str(tmp_path / "x"), "FLEP_ANVIL_PORT": "abc"})
