"""Shared pytest fixtures: one real devnet (Anvil + IPFS node) for the integration tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from registry.config import load_settings
from registry.devnet import Devnet, DevnetInfo


def make_devnet(home: Path, **env: str) -> Devnet:
    """A devnet manager with its own state directory and free ports."""
    values = {"FLEP_HOME": str(home), "FLEP_ANVIL_PORT": "0", "FLEP_IPFS_PORT": "0", **env}
    settings = load_settings({k: v for k, v in {**os.environ, **values}.items() if k != "FLEP_CONFIG"})
    return Devnet(settings)


@pytest.fixture()
def devnet_factory() -> Callable[..., Devnet]:
    """Build extra devnet managers (own state directory, free ports) for lifecycle tests."""
    return make_devnet


@pytest.fixture(scope="session")
def devnet_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """The session's devnet manager; the devnet is started once and stopped at the end."""
    manager = make_devnet(tmp_path_factory.mktemp("devnet"))
    manager.up()
    try:
        yield manager
    finally:
        manager.down()


@pytest.fixture(scope="session")
def devnet(devnet_manager: Devnet) -> DevnetInfo:
    """The running session devnet: ``rpc_url``, ``ipfs_api``, ``chain_id``, ``accounts``."""
    info = devnet_manager.load()
    assert info is not None
    return info


@pytest.fixture(scope="session")
def devnet_env(devnet_manager: Devnet) -> dict[str, str]:
    """Environment for running ``flep`` as a subprocess against the session devnet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEP_")}
    env["FLEP_HOME"] = str(devnet_manager.home)
    return env
