"""The local devnet: one Anvil chain and one IPFS node, on loopback only.

``Devnet.up`` starts both (or recovers from a crashed run), waits for them to
answer within deadlines, and writes the devnet file that every other command
reads; ``Devnet.down`` stops them with their whole process groups. The chain
survives restarts through Anvil's ``--state`` file, the IPFS content through the
node's repo folder. Processes are recorded with their start time, so a stale pid
that the system has since given to another program is never signalled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import requests


from registry.config import PROJECT_ROOT, Settings, read_devnet_file, to_http_url

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 10
LOOPBACK = "127.0.0.1"



class DevnetError(RuntimeError):
    """The devnet could not be started, checked or stopped."""


class PortInUseError(DevnetError):
    """A configured port is taken by another process."""

    def __init__(self, component: str, port: int, env_name: str) -> None:
        self.port = port
        super().__init__(
            f"cannot start {component}: port {port} on {LOOPBACK} is already in use. "
            f"Free it, set {env_name} to another port, or set it to 0 for any free port."
        )


def dev_account(index: int) -> LocalAccount:
    """The ``index``-th account of Anvil's well-known development mnemonic.

    These keys are public knowledge and only ever fund a local devnet; they are
    derived in memory and never written anywhere.
    """
    from eth_account import Account  # imported here: eth_account is slow to import

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def dev_addresses(count: int = DEV_ACCOUNTS) -> list[str]:
    """Checksummed addresses of the first ``count`` development accounts."""
    return [dev_account(i).address for i in range(count)]


def _boot_seconds(pid: int) -> float:
    """When process ``pid`` started, in seconds after boot, exact and unaffected by clock steps.

    Read from the kernel's start ticks (``/proc/PID/stat`` field 22); psutil's public
    ``create_time`` adds the wall-clock boot time, which shifts when the clock is stepped (its own pid-reuse
    check uses these ticks too, through a private API).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as exc:
        raise psutil.NoSuchProcess(pid) from exc
    return int(stat.rpartition(")")[2].split()[19]) / os.sysconf("SC_CLK_TCK")


def _boot_id() -> str:
    """This boot's id: boot-relative start times are only comparable within one boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


@dataclass
class ProcessRecord:
    """A started server process, identified by pid and start time.

    The start time is kept relative to boot (``boot_seconds``), never as wall-clock time:
    the wall-clock start psutil derives moves whenever the system clock is stepped, and a
    live server would then look like a reused pid and be lost to ``down``.
    """

    name: str
    pid: int
    boot_seconds: float
    port: int
    log: str
    boot_id: str = ""

    @classmethod
    def of(cls, name: str, pid: int, port: int, log: str) -> ProcessRecord:
        """The record of a process that was just started."""
        return cls(name, pid, _boot_seconds(pid), port, log, _boot_id())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessRecord:
        """Read a record; one written before boot-relative times (``create_time``) never matches a live process."""
        if "boot_seconds" not in data:
            return cls(data["name"], data["pid"], -1.0, data["port"], data["log"], "")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def process(self) -> psutil.Process | None:
        """The live process, or ``None`` when it exited or the pid was reused."""
        try:
            proc = psutil.Process(self.pid)
            if (self.boot_id != _boot_id() or _boot_seconds(proc.pid) != self.boot_seconds
                    or proc.status() == psutil.STATUS_ZOMBIE):
                return None
            return proc
        except psutil.Error:
            return None


@dataclass
class DevnetInfo:
    """The content of the devnet file."""

    rpc_url: str
    ipfs_api: str
    chain_id: int
    accounts: list[str]
    state_file: str
    ipfs_repo: str
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    started_at: float = 0.0
    registry_address: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DevnetInfo:
        procs = {k: ProcessRecord.from_dict(v) for k, v in data.get("processes", {}).items()}
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "processes"}
        return cls(processes=procs, **fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ComponentStatus:
    """Health of one devnet process."""

    name: str
    pid: int | None
    alive: bool
    healthy: bool
    url: str | None


@dataclass(frozen=True)
class DevnetStatus:
    """What ``flep devnet status`` reports."""

    running: bool
    rpc_url: str | None
    ipfs_api: str | None
    chain_id: int | None
    components: list[ComponentStatus]
    accounts: list[str]
    registry_address: str | None
    devnet_file: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers bind: connections of a just-stopped server in TIME_WAIT do not block a restart.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _choose_port(configured: int, component: str, env_name: str) -> int:
    if configured == 0:
        return free_port()
    if not _port_free(configured):
        raise PortInUseError(component, configured, env_name)
    return configured


def chain_healthy(rpc_url: str, timeout: float = 2.0) -> int | None:
    """Chain id answered by the JSON-RPC endpoint, or ``None`` when it does not answer."""
    try:
        reply = requests.post(
            rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return int(reply.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError):
        return None


def ipfs_healthy(ipfs_api: str, timeout: float = 2.0) -> bool:
    """Whether the Kubo RPC endpoint answers ``version``."""
    try:
        reply = requests.post(f"{to_http_url(ipfs_api)}/api/v0/version", timeout=timeout)
        return reply.status_code == 200 and "Version" in reply.json()
    except (requests.RequestException, ValueError):
        return False


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Devnet:
    """Start, inspect and stop the local devnet described by ``settings``.

    Args:
        settings: Resolved configuration (state directory, ports, chain id).
        project_root: Where ``node_modules`` and ``scripts/ipfs-node`` live.
    """

    def __init__(self, settings: Settings, project_root: Path = PROJECT_ROOT) -> None:
        self.settings = settings
        self.home = settings.home
        self.file = settings.devnet_file
        self.anvil_bin = os.environ.get("FLEP_ANVIL_BIN", str(project_root / "node_modules" / ".bin" / "anvil"))
        self.node_bin = os.environ.get("FLEP_NODE_BIN", shutil.which("node") or "node")
        self.ipfs_script = project_root / "scripts" / "ipfs-node" / "main.mjs"

    def load(self) -> DevnetInfo | None:
        """The recorded devnet, or ``None`` when none was ever started here."""
        data = read_devnet_file(self.file)
        return DevnetInfo.from_dict(data) if data.get("rpc_url") else None

    def _save(self, info: DevnetInfo) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info.to_dict(), indent=2))
        os.replace(tmp, self.file)

    def record(self, **fields: Any) -> None:
        """Update fields of the devnet file (e.g. ``registry_address`` after a deploy).

        Raises:
            DevnetError: If no devnet file exists yet, or a field is unknown.
        """
        info = self.load()
        if info is None:
            raise DevnetError(f"no devnet file at {self.file}; run `flep devnet up` first")
        for key, value in fields.items():
            if key not in DevnetInfo.__dataclass_fields__ or key == "processes":
                raise DevnetError(f"{key!r} is not a field of the devnet file")
            setattr(info, key, value)
        self._save(info)

    def status(self) -> DevnetStatus:
        """Check every recorded process and endpoint."""
        return self._status_of(self.load())

    def _status_of(self, info: DevnetInfo | None) -> DevnetStatus:
        if info is None:
            return DevnetStatus(False, None, None, None, [], [], None, str(self.file))
        components = []
        for name, url, check in (
            ("anvil", info.rpc_url, lambda: chain_healthy(info.rpc_url) == info.chain_id),
            ("ipfs", info.ipfs_api, lambda: ipfs_healthy(info.ipfs_api)),
        ):
            record = info.processes.get(name)
            alive = record is not None and record.process() is not None
            components.append(ComponentStatus(name, record.pid if record else None, alive, alive and check(), url))
        running = bool(components) and all(c.healthy for c in components)
        return DevnetStatus(
            running, info.rpc_url, info.ipfs_api, info.chain_id, components, info.accounts,
            info.registry_address, str(self.file),
        )

    def _spawn(self, name: str, argv: list[str], port: int) -> ProcessRecord:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{name}.log"
        with log_path.open("ab") as log:
            # Own session = own process group, so `down` can stop children too.
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        return ProcessRecord.of(name, proc.pid, port, str(log_path))

    def _wait(self, record: ProcessRecord, check: Any, deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if record.process() is None:
                raise DevnetError(
                    f"{what} exited during start-up; last lines of {record.log}:\n{_log_tail(record.log)}"
                )
            if check():
                return
            time.sleep(0.1)
        raise DevnetError(
            f"{what} did not become healthy in time; last lines of {record.log}:\n{_log_tail(record.log)}"
        )

    def up(self, timeout: float = 60.0) -> DevnetInfo:
        """Start the devnet, or return the running one.

        A devnet file left by a crashed run (dead or reused pids) is recovered:
        survivors are stopped and both servers restarted on the same state.

        Args:
            timeout: Seconds allowed for both servers to become healthy.

        Raises:
            PortInUseError: If a configured port is taken.
            DevnetError: If a server fails to start or to answer in time (its log tail is included).
        """
        previous = self.load()
        if previous is not None and self._status_of(previous).running:
            return previous
        if previous is not None:
            self._stop_processes(previous)
        for path, what, remedy in (
            (self.anvil_bin, "anvil", "run `make setup` (npm ci) or set FLEP_ANVIL_BIN"),
            (self.node_bin, "node", "install Node.js 20 or set FLEP_NODE_BIN"),
            (str(self.ipfs_script), "IPFS node script", "the checkout is incomplete; restore scripts/ipfs-node"),
        ):
            if not Path(path).exists() and shutil.which(path) is None:
                raise DevnetError(f"{what} not found at {path}: {remedy}")
        self.home.mkdir(parents=True, exist_ok=True)
        anvil_port = _choose_port(self.settings.anvil_port, "anvil", "FLEP_ANVIL_PORT")
        ipfs_port = _choose_port(self.settings.ipfs_port, "the IPFS node", "FLEP_IPFS_PORT")
        state_file = self.home / "anvil-state.json"
        ipfs_repo = self.home / "ipfs"
        info = DevnetInfo(
            rpc_url=f"http://{LOOPBACK}:{anvil_port}",
            ipfs_api=f"/ip4/{LOOPBACK}/tcp/{ipfs_port}/http",
            chain_id=self.settings.chain_id,
            accounts=dev_addresses(),
            state_file=str(state_file),
            ipfs_repo=str(ipfs_repo),
            started_at=time.time(),
            registry_address=previous.registry_address if previous else None,
        )
        deadline = time.monotonic() + timeout
        anvil = self._spawn(
            "anvil",
            [
                self.anvil_bin, "--host", LOOPBACK, "--port", str(anvil_port),
                "--chain-id", str(info.chain_id), "--mnemonic", DEV_MNEMONIC, "--accounts", str(DEV_ACCOUNTS),
                "--state", str(state_file), "--state-interval", "2",
                "--silent",  # the banner lists private keys: keep them out of logs (errors still print)
            ],
            anvil_port,
        )
        info.processes["anvil"] = anvil
        self._save(info)  # recorded at once, so a failure below can still be cleaned up
        try:
            self._wait(anvil, lambda: chain_healthy(info.rpc_url) == info.chain_id, deadline, "anvil")
            ipfs = self._spawn(
                "ipfs",
                [self.node_bin, str(self.ipfs_script), "--repo", str(ipfs_repo),
                 "--host", LOOPBACK, "--port", str(ipfs_port)],
                ipfs_port,
            )
            info.processes["ipfs"] = ipfs
            self._save(info)
            self._wait(ipfs, lambda: ipfs_healthy(info.ipfs_api), deadline, "IPFS node")
        except DevnetError:
            self._stop_processes(info)
            raise
        return info

    def _stop_processes(self, info: DevnetInfo, timeout: float = 15.0) -> list[str]:
        stopped = []
        for name, record in list(info.processes.items()):
            proc = record.process()
            if proc is not None:
                self._terminate_group(proc, timeout)
                stopped.append(name)
            del info.processes[name]
        self._save(info)
        return stopped

    @staticmethod
    def _terminate_group(proc: psutil.Process, timeout: float) -> None:
        try:
            members = [proc, *proc.children(recursive=True)]
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, psutil.Error):
            return
        _, alive = psutil.wait_procs(members, timeout=timeout)
        for member in alive:  # did not stop in time: no orphans left behind
            try:
                member.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)

    def down(self, timeout: float = 15.0) -> list[str]:
        """Stop every recorded process (SIGTERM, then SIGKILL after ``timeout``).

        The devnet file stays (without processes) so the registry address and
        state paths survive; the chain state is dumped by Anvil on SIGTERM.

        Returns:
            Names of the processes that were running and are now stopped.
        """
        info = self.load()
        if info is None:
            return []
        return self._stop_processes(info, timeout)
