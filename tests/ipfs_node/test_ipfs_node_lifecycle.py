"""Node process lifecycle and faults: restart, shutdown, ports, hosts, locks, corruption."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import random
import socket
import subprocess
import threading
import time

import ipfshttpclient
import psutil
import pytest
import requests

HELLO_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def _raw_cid(chunk: bytes) -> str:
    """CIDv1 (raw codec, sha2-256) of a raw leaf, base32."""
    binary = b"\x01\x55\x12\x20" + hashlib.sha256(chunk).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def _flip_first_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def test_restart_keeps_content_pins_and_identity(node_factory, tmp_path):
    repo = tmp_path / "repo"
    first = node_factory(repo)
    data = random.Random(2).randbytes(700_000)
    with first.client() as c:
        cid = c.add(io.BytesIO(data))["Hash"]
        unpinned = c.add_bytes(b"not pinned", opts={"pin": False})
        peer = c.id()["ID"]
    assert (repo / "api").read_text() == f"/ip4/127.0.0.1/tcp/{first.port}"
    assert first.stop() == 0
    assert not (repo / "api").exists()
    assert not (repo / "repo.lock").exists()

    second = node_factory(repo)
    with second.client() as c:
        assert c.cat(cid) == data
        assert c.cat(unpinned) == b"not pinned"
        assert c.pin.ls(type="recursive")["Keys"] == {cid: {"Type": "recursive"}}
        assert c.id()["ID"] == peer


def test_corrupted_single_block_is_reported_not_served(node_factory, blocks_of):
    running = node_factory()
    with running.client() as c:
        assert c.add_bytes(b"hello world\n") == HELLO_CID
        [block] = [p for p in blocks_of(running.repo) if b"hello world" in p.read_bytes()]
        _flip_first_byte(block)
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match=f"{HELLO_CID} is corrupted"):
            c.cat(HELLO_CID)
        # Adding the original content again repairs the block.
        assert c.add_bytes(b"hello world\n") == HELLO_CID
        assert c.cat(HELLO_CID) == b"hello world\n"


def test_corrupted_leaf_in_the_middle_of_a_file(node_factory, blocks_of):
    running = node_factory()
    chunk = 4096
    data = random.Random(4).randbytes(10 * chunk)
    with running.client() as c:
        cid = c.add(io.BytesIO(data), chunker=f"size-{chunk}", cid_version=1, raw_leaves=True)["Hash"]
        leaf = data[6 * chunk:7 * chunk]
        [block] = [p for p in blocks_of(running.repo) if p.read_bytes() == leaf]
        _flip_first_byte(block)
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match=f"{_raw_cid(leaf)} is corrupted"):
            c.cat(cid)
        # Ranges that do not touch the bad leaf are still served, verified.
        assert c.cat(cid, offset=0, length=6 * chunk) == data[:6 * chunk]


def test_missing_block_fails_pin_and_cat(node_factory, blocks_of):
    running = node_factory()
    chunk = 1024
    data = random.Random(5).randbytes(3 * chunk)
    with running.client() as c:
        cid = c.add(io.BytesIO(data), chunker=f"size-{chunk}", cid_version=1, raw_leaves=True,
                    pin=False)["Hash"]
        [block] = [p for p in blocks_of(running.repo) if p.read_bytes() == data[chunk:2 * chunk]]
        block.unlink()
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not found"):
            c.pin.add(cid)
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not found"):
            c.cat(cid)
        assert cid not in c.pin.ls()["Keys"]


def test_port_in_use_is_a_clear_failure(run_node, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_node(tmp_path / "repo", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert not (tmp_path / "repo" / "repo.lock").exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_non_loopback_host_is_refused(run_node, tmp_path, host):
    result = run_node(tmp_path / "repo", "--host", host, "--port", "0")
    assert result.returncode == 2
    assert f"refusing to listen on {host}" in result.stderr


def test_two_nodes_cannot_share_a_repo(node_factory, run_node, tmp_path):
    repo = tmp_path / "shared"
    first = node_factory(repo)
    result = run_node(repo, "--port", "0")
    assert result.returncode == 1
    assert f"in use by another IPFS node (pid {first.proc.pid}" in result.stderr
    # The first node is unaffected and still owns its api file.
    assert (repo / "api").read_text() == f"/ip4/127.0.0.1/tcp/{first.port}"
    with first.client() as c:
        assert c.add_bytes(b"hello world\n") == HELLO_CID


def test_stale_lock_from_a_crashed_node_is_taken_over(node_factory, tmp_path):
    repo = tmp_path / "crashed"
    repo.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (repo / "repo.lock").write_text(f"{gone.pid}\n")
    (repo / "api").write_text("/ip4/127.0.0.1/tcp/1")
    running = node_factory(repo)
    assert (repo / "api").read_text() == f"/ip4/127.0.0.1/tcp/{running.port}"
    assert "stale lock" in "".join(running.stderr_lines)


def test_sigterm_exits_zero_and_cleans_up(node_factory):
    running = node_factory()
    assert (running.repo / "api").exists()
    assert running.stop() == 0
    assert not (running.repo / "api").exists()
    assert not (running.repo / "repo.lock").exists()


def test_corruption_past_the_verified_head_cuts_the_stream(node_factory, blocks_of):
    # The first 16 MiB are verified before the response starts; a bad block
    # after that must break the transfer, never end it as if complete.
    running = node_factory()
    chunk = 1 << 20
    data = random.Random(6).randbytes(18 * chunk)
    with running.client() as c:
        cid = c.add(io.BytesIO(data), chunker=f"size-{chunk}", cid_version=1, raw_leaves=True)["Hash"]
        leaf = data[17 * chunk:]
        [block] = [p for p in blocks_of(running.repo) if p.stat().st_size == chunk and p.read_bytes() == leaf]
        _flip_first_byte(block)
        with pytest.raises((ipfshttpclient.exceptions.Error, requests.exceptions.RequestException)):
            c.cat(cid)
    assert running.logged(_raw_cid(leaf))


def test_sigterm_aborts_a_stalled_upload_and_still_exits_zero(node_factory):
    running = node_factory()
    sent_first_part = threading.Event()

    def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
        yield b"x" * 65536
        sent_first_part.set()
        time.sleep(30)  # a client that stalls mid-upload
        yield b"\r\n--b--\r\n"

    def upload():
        with contextlib.suppress(requests.exceptions.RequestException):  # the node cuts it
            requests.post(f"{running.url}/api/v0/add", data=body(), timeout=60,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    assert sent_first_part.wait(10)
    time.sleep(0.3)
    assert running.stop(timeout=20) == 0
    assert not (running.repo / "api").exists()
    assert "SIGTERM received" in "".join(running.stderr_lines)


def test_repeated_chunks_are_stored_once_and_read_back(node_factory, blocks_of):
    running = node_factory()
    data = bytes(64 * 1024) * 40  # 40 identical 64 KiB chunks, written concurrently
    with running.client() as c:
        cid = c.add(io.BytesIO(data), chunker="size-65536", cid_version=1, raw_leaves=True)["Hash"]
        assert c.cat(cid) == data
    assert len(blocks_of(running.repo)) == 2  # one leaf, one root


def test_node_only_listens_on_loopback_and_never_dials_out(node_factory):
    running = node_factory()
    with running.client() as c:
        c.add_bytes(b"hello world\n")
        c.cat(HELLO_CID)
        c.id()
    connections = psutil.Process(running.proc.pid).net_connections(kind="inet")
    listening = [conn for conn in connections if conn.status == psutil.CONN_LISTEN]
    assert [(conn.laddr.ip, conn.laddr.port) for conn in listening] == [("127.0.0.1", running.port)]
    # Every other socket is the server side of a client connection to the API port.
    assert all(conn.laddr.port == running.port for conn in connections)


def test_unreadable_pin_file_stops_start_up_with_a_clear_message(run_node, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pins.json").write_text("{not json")
    result = run_node(repo, "--port", "0")
    assert result.returncode == 1
    assert f"pin file {repo / 'pins.json'} is unreadable" in result.stderr
    assert not (repo / "repo.lock").exists()
