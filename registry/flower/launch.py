"""`flep flower run`: a federation on Flower's Deployment Engine, every process on loopback.

Sets up keystores and a federation as `flep round run` does (:func:`~registry.roles.runner.prepare_run`), then
starts the key holder agent (or the custodians), a ``flower-superlink`` (insecure, 127.0.0.1, a free port or
``port``), per analyst an analyst worker (``flep flower analyst``: the keystore, its passphrase and the
training), a ``flower-supernode`` (``--isolation process``) and the FLEP executor running its ClientApp
(``flep flower executor``), which forwards to the worker over a Unix socket (neither the SuperNode's nor the
executor's environment holds a FLEP setting or secret), and ``flwr run`` of the app in the checkout's
``pyproject.toml``; it reads each round back from the chain, and stops every process it started (whole
process groups, so Flower's own ServerApp children too), also on failure and Ctrl-C.

Nothing dials out: Flower's telemetry and update check are off, runtime dependency installation is disabled,
and the connections of every process started are sampled while the run lasts (any remote address outside
loopback is reported in :attr:`FlowerRun.outside_connections`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from registry.chain import ModelRegistry
from registry.devnet import free_port
from registry.keystore import PASSPHRASE_ENV
from registry.roles.errors import RoleError
from registry.roles.runner import (
    AGENT_START_SECONDS,
    RoundReport,
    RunConfig,
    RunResult,
    prepare_run,
    round_report,
    start_agents,
)
from registry.store import ArtifactStore

CONNECTION = "flep"  # the SuperLink connection's name in the run's Flower config
QUIET_FLOWER = {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"}


class FlowerLaunchError(RoleError):
    """The Flower run could not be started, or it stopped before its rounds finished."""


@dataclass(frozen=True)
class FlowerRun:
    """A whole Flower run: what `flep round run` reports, plus where the SuperLink listened, what the
    SuperNodes refused or failed (``node_errors``), and the connection check (``connection_samples`` looks
    at every started process; ``outside_connections`` lists any non-loopback remote address seen)."""

    result: RunResult
    superlink: str
    node_errors: tuple[str, ...] = ()
    connection_samples: int = 0
    outside_connections: tuple[str, ...] = ()


def app_directory() -> Path:
    """The checkout whose ``pyproject.toml`` holds the Flower app (``[tool.flwr.app]``).

    Raises:
        FlowerLaunchError: If the installed package is not a checkout.
    """
    root = Path(__file__).resolve().parents[2]
    project = root / "pyproject.toml"
    if not project.is_file() or "[tool.flwr.app]" not in project.read_text(encoding="utf-8"):
        raise FlowerLaunchError(f"no Flower app config ([tool.flwr.app] in pyproject.toml) under {root}: run from "
                                "a checkout of FLEP Registry installed with `pip install -e .`")
    return root


def run_flower(registry_address: str, rpc: ModelRegistry, store: ArtifactStore, home: Path, faucet,
               config: RunConfig, port: int = 0, node_wait_seconds: int = 120,
               progress=lambda line: None) -> FlowerRun:
    """Run ``config.rounds`` registry rounds through Flower, every party its own process.

    Args:
        registry_address: The deployed registry.
        rpc: The registry acting as its operator.
        store: The verified IPFS store.
        home: The devnet home (the run's directory is created under ``home/runs``).
        faucet: A funded account (the devnet's first development account).
        config: What to run (``revoke_after_round`` is not supported here).
        port: The SuperLink's port on 127.0.0.1 (0: a free one).
        node_wait_seconds: How long the ServerApp waits for every analyst's SuperNode before round 1.
        progress: Called with each party's JSON line.

    Raises:
        FlowerLaunchError: If a Flower process fails to start, or the ServerApp stops before the last round
            (a round aborted with too few updates, the key holder gone, ...).
    """
    if config.revoke_after_round:
        raise FlowerLaunchError("--revoke-after-round is not supported through Flower; use `flep round run`")
    app = app_directory()
    prepared = prepare_run(rpc, store, home, faucet, config, progress)
    setup, keystores, directory = prepared.setup, prepared.keystores, prepared.directory
    names = dict(setup.names)
    flower = directory / "flower"
    flower.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEP_", "FLWR_"))}
    # Flower's processes start their helpers (flower-superexec) by name: this environment's scripts come first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update({"FLEP_HOME": str(home), "FLEP_REGISTRY_ADDRESS": registry_address,
                PASSPHRASE_ENV: prepared.passphrase, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                **QUIET_FLOWER})
    processes = _Processes(flower)
    agents = start_agents(registry_address, home, directory, {n: keystores[n] for n in config.decryptors},
                          setup.federation_id, prepared.passphrase, progress)
    agents.threshold = config.threshold
    events = flower / "events.jsonl"
    events.touch()
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    # A short private directory: a Unix socket's path holds at most 107 bytes, a run directory may not.
    sockets = Path(tempfile.mkdtemp(prefix="flep-flower-"))
    try:
        processes.start("superlink", [_bin("flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port",
                                      str(port), "--disable-runtime-dependency-installation"],
                        {**env, "FLWR_HOME": str(flower / "superlink")})
        _wait_listening(port, processes, "superlink")
        progress({"party": "runner", "action": f"superlink listening on {address}"})
        analysts = [n for n in keystores if n.startswith("analyst-")]
        # The analysts' passphrase stays in their workers: a SuperNode runs whatever app code the SuperLink ships.
        node_env = {k: v for k, v in env.items() if not k.startswith("FLEP_")}
        for name in analysts:
            processes.start(f"{name}-worker", [sys.executable, "-m", "registry", "flower", "analyst", "--keystore",
                                               str(keystores[name].directory), "--socket", str(sockets / name),
                                               "--federation", str(setup.federation_id), "--json"], env)
        for name in analysts:
            _wait_serving(sockets / name, processes, f"{name}-worker")
            runtime_port = free_port()
            processes.start(name, [_bin("flower-supernode"), "--insecure", "--superlink", address, "--host",
                                   "127.0.0.1", "--port", str(runtime_port), "--isolation", "process",
                                   "--node-config", f'worker="{sockets / name}"'],
                            {**node_env, "FLWR_HOME": str(flower / name)})
            processes.start(f"{name}-executor", [sys.executable, "-m", "registry", "flower", "executor",
                                                 "--supernode", f"127.0.0.1:{runtime_port}", "--json"], node_env)
        agents.wait_ready(AGENT_START_SECONDS)
        run_home = flower / "flwr-cli"
        run_home.mkdir()
        (run_home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\naddress = "{address}"\n'
            "insecure = true\n", encoding="utf-8")
        run_config = " ".join([
            f"federation={setup.federation_id}", f"rounds={config.rounds}", f"round-seconds={config.round_seconds}",
            f"nodes={len(analysts)}", f"node-wait-seconds={node_wait_seconds}",
            f"admin-keystore={json.dumps(str(keystores['admin'].directory))}",
            f"aggregator-keystore={json.dumps(str(keystores['aggregator'].directory))}",
            f"events={json.dumps(str(events))}"])
        tail = _Tail(events, names, agents.record, progress)
        started = time.monotonic()
        runner = processes.start("flwr-run", [_bin("flwr"), "run", str(app), CONNECTION, "--run-config", run_config,
                                              "--stream"], {**env, "FLWR_HOME": str(run_home)}, cwd=app)
        limit = node_wait_seconds + config.rounds * (config.round_seconds + 120) + 120
        while runner.poll() is None and not tail.finished():
            processes.sample_connections()
            tail.read()
            if time.monotonic() - started > limit:
                raise FlowerLaunchError(f"the Flower run did not finish in {limit} s; see the logs in {flower}")
            time.sleep(0.5)
        time.sleep(0.5)
        tail.read()
        if tail.error:
            raise FlowerLaunchError(f"the ServerApp stopped: {tail.error}; see the logs in {flower}")
        if not tail.done:
            raise FlowerLaunchError(f"flwr run exited (code {runner.returncode}) before the ServerApp finished; "
                                    f"see the logs in {flower}")
        reports = _reports(setup, rpc, store, tail, agents)
    finally:
        processes.stop()
        agents.stop()
        shutil.rmtree(sockets, ignore_errors=True)
    result = RunResult(registry_address, setup.federation_id, str(directory), tuple(reports), dp=setup.plan.dp,
                       exited=dict(agents.exited))
    return FlowerRun(result, address, tuple(tail.node_errors), processes.samples, tuple(sorted(processes.outside)))


def _bin(name: str) -> str:
    """A Flower console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name(name))


def _wait_listening(port: int, processes: _Processes, name: str, timeout: float = 60) -> None:
    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    _wait_started(listening, processes, name, f"listen on 127.0.0.1:{port}", timeout, 0.2)


def _wait_serving(path: Path, processes: _Processes, name: str, timeout: float = AGENT_START_SECONDS) -> None:
    """Until the analyst worker's socket exists (it appears listening)."""
    _wait_started(path.exists, processes, name, f"serve on {path}", timeout, 0.1)


def _wait_started(ready: Callable[[], bool], processes: _Processes, name: str, doing: str, timeout: float,
                  poll: float) -> None:
    """Until ``ready()``; the process ``name`` exiting first or ``timeout`` passing is a launch failure."""
    deadline = time.monotonic() + timeout
    while not ready():
        if processes.exited(name):
            raise FlowerLaunchError(f"the {name} exited at start; see {processes.log(name)}")
        if time.monotonic() > deadline:
            raise FlowerLaunchError(f"the {name} did not {doing} in {timeout} s; see {processes.log(name)}")
        time.sleep(poll)


def _reports(setup, rpc: ModelRegistry, store: ArtifactStore, tail: _Tail, agents) -> list[RoundReport]:
    """Each finished round read back from the chain; its phases from the replies, the aggregate and the key
    holder's (or custodians') lines, its gas from those and the server's opening."""
    reports = []
    for round_, seconds in tail.rounds.items():
        lines = [a for a in tail.actions if a.get("round") == round_ and "error" not in a]
        opening = sum(int(a.get("gas_used", 0)) for a in lines if a["party"] == "server")
        actions = [a for a in lines if a["party"] != "server"]
        actions += [a for a in agents.since(0) if a.get("round") == round_]
        reports.append(round_report(setup, rpc, store, round_, actions, opening, seconds))
    return reports


class _Tail:
    """Reads the ServerApp's JSON lines as they are appended: party names for accounts, node errors, rounds."""

    def __init__(self, path: Path, names: dict[str, str], record, progress) -> None:
        self.path, self.names, self.record, self.progress = path, names, record, progress
        self.offset = 0
        self.actions: list[dict] = []
        self.node_errors: list[str] = []
        self.rounds: dict[int, float] = {}  # round -> seconds from opening to finalized (as the server saw it)
        self.error = ""
        self.done = False

    def finished(self) -> bool:
        return self.done or bool(self.error)

    def read(self) -> None:
        with self.path.open("rb") as source:
            source.seek(self.offset)
            data = source.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for raw in complete.splitlines():
            line = json.loads(raw)
            if line.get("party") == "analyst":
                line["party"] = self.names.get(line.get("account", ""), "analyst")
            if "node" in line and "error" in line:
                self.node_errors.append(line["error"])
            elif "error" in line:
                self.error = line["error"]
            if line.get("action") == "done":
                self.done = True
            if line.get("status") == "finalized":
                self.rounds[line["round"]] = float(line["seconds"])
            self.actions.append(line)
            self.progress(line)


@dataclass
class _Processes:
    """The Flower processes started, each in its own process group with a log file; the connection check."""

    directory: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    samples: int = 0
    outside: set[str] = field(default_factory=set)
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.log(name), "wb")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
        self.running[name] = process
        self._tree()
        return process

    def exited(self, name: str) -> bool:
        return self.running[name].poll() is not None

    def _tree(self) -> list[psutil.Process]:
        """Every started process and its descendants; each is remembered, so that one Flower detached into
        a session of its own (flower-superexec) is still stopped after its parent is gone."""
        for process in list(self.running.values()):
            try:
                root = psutil.Process(process.pid)
                for member in [root, *root.children(recursive=True)]:
                    self.seen.setdefault(member.pid, member)
            except psutil.NoSuchProcess:
                continue
        return [member for member in self.seen.values() if member.is_running()]

    def sample_connections(self) -> None:
        """Every remote address of every started process and its children; non-loopback ones are kept."""
        for member in self._tree():
            try:
                connections = member.net_connections(kind="inet")
                for connection in connections:
                    if connection.raddr and not ipaddress.ip_address(connection.raddr.ip).is_loopback:
                        self.outside.add(f"{' '.join(member.cmdline()[:2])} -> {connection.raddr.ip}:"
                                         f"{connection.raddr.port}")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self.samples += 1

    def stop(self) -> None:
        """SIGTERM to every started process, its group and every descendant seen, SIGKILL after 15 s."""
        members = self._tree()
        for process in self.running.values():
            _signal_group(process, signal.SIGTERM)
        for member in members:
            try:
                member.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(members, timeout=15)
        for process in self.running.values():
            _signal_group(process, signal.SIGKILL)  # children that outlived their parent too
        for member in alive:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        for process in self.running.values():
            process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
