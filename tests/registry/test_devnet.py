"""Devnet lifecycle on its own state directory: start, restart survival, faults."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable

import psutil
import pytest
from web3 import Web3

from registry.devnet import Devnet, DevnetError, PortInUseError, chain_healthy, dev_account
from registry.store import ArtifactStore, StoreUnavailableError

pytestmark = pytest.mark.integration


def _all_pids(devnet: Devnet) -> list[int]:
    info = devnet.load()
    assert info is not None
    pids = []
    for record in info.processes.values():
        proc = record.process()
        assert proc is not None
        pids += [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    return pids


def test_up_down_restart_keeps_chain_and_content(devnet_factory: Callable[..., Devnet], tmp_path: Path) -> None:
    devnet = devnet_factory(tmp_path)
    info = devnet.up()
    status = devnet.status()
    assert status.running and status.chain_id == 31337
    assert info.accounts[0] == dev_account(0).address
    w3 = Web3(Web3.HTTPProvider(info.rpc_url))
    receiver = dev_account(1).address
    before = w3.eth.get_balance(receiver)
    tx = w3.eth.send_transaction({"from": info.accounts[0], "to": receiver, "value": 12345})
    w3.eth.wait_for_transaction_receipt(tx)
    cid = ArtifactStore(info.ipfs_api).put_bytes(b"survives restarts").cid
    pids = _all_pids(devnet)

    assert sorted(devnet.down()) == ["anvil", "ipfs"]
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
    assert not devnet.status().running
    assert devnet.down() == []  # idempotent

    info = devnet.up()
    try:
        w3 = Web3(Web3.HTTPProvider(info.rpc_url))
        assert w3.eth.get_balance(receiver) == before + 12345
        assert ArtifactStore(info.ipfs_api).get_bytes(cid) == b"survives restarts"
        assert devnet.up().rpc_url == info.rpc_url  # already running: same devnet
    finally:
        devnet.down()


def test_configured_port_in_use(devnet_factory: Callable[..., Devnet], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        devnet = devnet_factory(tmp_path, FLEP_ANVIL_PORT=str(port))
        with pytest.raises(PortInUseError, match=f"port {port}.*FLEP_ANVIL_PORT"):
            devnet.up()
    assert not devnet.status().running


def test_crash_and_stale_devnet_file_are_recovered(devnet_factory: Callable[..., Devnet], tmp_path: Path) -> None:
    devnet = devnet_factory(tmp_path)
    info = devnet.up()
    try:
        anvil = info.processes["anvil"]
        os.kill(anvil.pid, signal.SIGKILL)  # a crash: no state dump, no clean-up
        psutil.Process(anvil.pid).wait(5)
        status = devnet.status()
        assert not status.running
        assert {c.name: c.alive for c in status.components} == {"anvil": False, "ipfs": True}
        assert chain_healthy(info.rpc_url) is None
        recovered = devnet.up()
        assert devnet.status().running
        assert recovered.processes["anvil"].pid != anvil.pid
        old_ipfs = info.processes["ipfs"].pid
        assert not psutil.pid_exists(old_ipfs) or psutil.Process(old_ipfs).status() == psutil.STATUS_ZOMBIE
    finally:
        devnet.down()
    # A devnet file naming a pid that now belongs to another program is never signalled.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        data = json.loads(devnet.file.read_text())
        data["processes"] = {"anvil": {"name": "anvil", "pid": bystander.pid, "boot_seconds": 1.0, "port": 1, "log": "x"}}
        devnet.file.write_text(json.dumps(data))
        assert not devnet.status().running
        devnet.up()
        assert bystander.poll() is None
        assert devnet.status().running
    finally:
        devnet.down()
        bystander.kill()


def test_ipfs_down_is_a_clear_error(devnet_factory: Callable[..., Devnet], tmp_path: Path) -> None:
    devnet = devnet_factory(tmp_path)
    info = devnet.up()
    devnet.down()
    with pytest.raises(StoreUnavailableError, match="flep devnet up"):
        ArtifactStore(info.ipfs_api, timeout=5).put_bytes(b"x")


def test_missing_binaries_are_named(devnet_factory: Callable[..., Devnet], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEP_ANVIL_BIN", str(tmp_path / "no-anvil"))
    with pytest.raises(DevnetError, match="make setup"):
        devnet_factory(tmp_path).up()


def test_status_cli_json(devnet_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registry", "devnet", "status", "--json"], env=devnet_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True and status["chain_id"] == 31337
    assert status["rpc_url"].startswith("http://127.0.0.1:") and status["ipfs_api"].startswith("/ip4/127.0.0.1/")


def test_logs_hold_no_private_keys(devnet_manager: Devnet) -> None:
    key = dev_account(0).key.hex().removeprefix("0x")
    for log in (devnet_manager.home / "logs").iterdir():
        text = log.read_text(errors="replace").lower()
        assert key not in text and "private key" not in text, f"{log} leaks key material"


def test_a_process_record_survives_a_wall_clock_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.devnet import ProcessRecord

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = ProcessRecord.of("child", child.pid, 1, "x")
        wall_start = psutil.Process(child.pid).create_time()
        # The system clock jumps an hour (NTP step, VM resume): psutil's wall-clock start time moves with it.
        stepped = psutil.boot_time() + 3600
        monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: stepped)
        assert psutil.Process(child.pid).create_time() - wall_start > 3000
        assert record.process() is not None and record.process().pid == child.pid
        # Read back from the devnet file it is the same process; a record from before boot-relative times is not.
        assert ProcessRecord.from_dict(json.loads(json.dumps(record.__dict__))).process() is not None
        legacy = {"name": "child", "pid": child.pid, "create_time": psutil.Process(child.pid).create_time(),
                  "port": 1, "log": "x"}
        assert ProcessRecord.from_dict(legacy).process() is None
    finally:
        child.kill()
        child.wait()
