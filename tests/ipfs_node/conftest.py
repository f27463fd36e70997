"""Fixtures that run the project's IPFS node (scripts/ipfs-node/main.mjs) as a real process.

Each node gets its own repo folder and ``--port 0``; the port is read from the
``RPC API server listening on /ip4/127.0.0.1/tcp/PORT`` line the node prints
when it is ready, exactly as the devnet manager does.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import ipfshttpclient
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "scripts" / "ipfs-node" / "main.mjs"
READY = re.compile(r"RPC API server listening on /ip4/127\.0\.0\.1/tcp/(\d+)")
START_TIMEOUT_S = 20.0


@dataclass
class RunningNode:
    """A node process started by a test, with its repo and API port."""

    proc: subprocess.Popen
    repo: Path
    port: int
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logged(self, needle: str, timeout: float = 10.0) -> bool:
        """Whether a stderr line containing ``needle`` arrives within ``timeout`` (a thread reads stderr, so a
        line the node wrote while failing a request may land after the client saw the failure)."""
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in list(self.stderr_lines)):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.port}/http"

    def client(self) -> ipfshttpclient.Client:
        # Client(addr), never connect(): connect() refuses daemons >= 0.8.
        return ipfshttpclient.Client(self.multiaddr)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the node and wait; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def node_command(repo: Path, *extra: str) -> list[str]:
    return ["node", str(MAIN), "--repo", str(repo), *extra]


def start_node(repo: Path, port: int = 0, *extra: str) -> RunningNode:
    """Start a node and wait for its ready line.

    Raises:
        RuntimeError: the node exited or did not get ready in time; the message holds its stderr.
    """
    proc = subprocess.Popen(
        node_command(repo, "--port", str(port), *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    stderr_lines: list[str] = []
    # Keep draining stderr so a chatty node never blocks on a full pipe.
    threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()
    ready: list[int] = []
    done = threading.Event()

    def read_stdout() -> None:
        for line in proc.stdout:
            match = READY.search(line)
            if match and not ready:
                ready.append(int(match.group(1)))
                done.set()
        done.set()

    threading.Thread(target=read_stdout, daemon=True).start()
    done.wait(START_TIMEOUT_S)
    if not ready:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"IPFS node did not start: {''.join(stderr_lines)}")
    return RunningNode(proc=proc, repo=repo, port=ready[0], stderr_lines=stderr_lines)


@pytest.fixture
def node_factory(tmp_path):
    """Start nodes on demand; every node still running is stopped at teardown."""
    started: list[RunningNode] = []

    def factory(repo: Path | None = None, port: int = 0, *extra: str) -> RunningNode:
        node = start_node(repo or tmp_path / f"repo{len(started)}", port, *extra)
        started.append(node)
        return node

    yield factory
    for node in started:
        if node.proc.poll() is None:
            node.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One node shared by a test module (tests there use content they add themselves)."""
    running = start_node(tmp_path_factory.mktemp("ipfs-repo"))
    yield running
    running.stop()


@pytest.fixture
def client(node):
    with node.client() as c:
        yield c


def block_files(repo: Path) -> list[Path]:
    """All block files of a repo's blockstore."""
    return sorted((repo / "blocks").rglob("*.data"))


@pytest.fixture
def run_node():
    """Run a node command line that is expected to exit on its own (a refused start)."""

    def run(repo: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(node_command(repo, *extra), capture_output=True, text=True,
                              timeout=30, cwd=ROOT)

    return run


@pytest.fixture
def blocks_of():
    return block_files

