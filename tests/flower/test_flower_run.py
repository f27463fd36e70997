"""`flep flower run` on the session devnet: a real flower-superlink, real flower-supernodes (one per analyst
keystore), the key holder agent and `flwr run`, all on loopback; every Flower round is a registry round."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from registry.chain import ModelRegistry, RoundStatus, connect
from registry.devnet import dev_account, free_port
from registry.keystore import Keystore

FLOWER_PROGRAMS = ("flower-superlink", "flower-supernode", "flower-superexec", "flwr-serverapp", "flwr-clientapp")


def _flep(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _flower_processes() -> list[str]:
    """Command lines of every live Flower process on the machine (none run outside these tests)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(
                Path(part).name in FLOWER_PROGRAMS for part in cmdline[:2]):
            found.append(" ".join(cmdline))
    return found


def _programs(process: psutil.Process) -> list[str]:
    try:
        return [Path(part).name for part in process.cmdline()[:2]]
    except psutil.NoSuchProcess:
        return []


def _environ(process: psutil.Process) -> dict[str, str]:
    try:
        return process.environ()
    except psutil.NoSuchProcess:
        return {}


def _processes_with(text: str) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if text in " ".join(p.info["cmdline"] or [])]


def _wait_for(condition, run: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if run.poll() is not None:
            raise AssertionError(f"flep flower run exited before {what}: {run.communicate()[1][-3000:]}")
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.1)


def _wait_for_round_1(registry: ModelRegistry, run: subprocess.Popen) -> None:
    """Until the run's federation (the registry's first) has opened round 1 on chain."""
    _wait_for(lambda: registry.federation_count() == 1 and registry.federation(1).round_count == 1, run, 300,
              "round 1 opened")


def _answered_roll_call(home: Path, since: float, analyst: str) -> bool:
    """Whether the worker of ``analyst`` in a run started after ``since`` answered the roll call."""
    runs = home / "runs"
    for directory in runs.iterdir() if runs.is_dir() else ():
        log = directory / "flower" / f"{analyst}-worker.log"
        if directory.stat().st_mtime >= since and log.exists() and '"ready": {' in log.read_text():
            return True
    return False


def _kill_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in members:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(members, timeout=10)


def test_two_rounds_through_flower_are_two_registry_rounds(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "flower-run-test"}
    run = _flep(env, "flower", "run", "--analysts", "3", "--rounds", "2", "--model", "logistic",
                "--paillier-bits", "1024", "--round-seconds", "120", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    rounds, fid = result["rounds"], result["federation"]
    assert [(r["round"], r["status"], r["model_version"], r["included"]) for r in rounds] == [
        (1, "finalized", 1, 3), (2, "finalized", 2, 3)]
    assert all(r["submitted"] == ["analyst-1", "analyst-2", "analyst-3"] and r["missing"] == [] for r in rounds)
    assert all(r["accuracy"] > 0.2 and r["gas"] > 0 for r in rounds)  # chance is 0.1
    assert {"train+encrypt+submit", "updates", "aggregate", "decrypt+finalize"} <= set(
        rounds[0]["phase_seconds"])
    assert result["node_errors"] == []
    # Nothing dialled out: every process Flower started was looked at, and no remote address left loopback.
    assert result["connection_samples"] > 0 and result["outside_connections"] == []
    assert result["superlink"].startswith("127.0.0.1:")

    # The chain has it all: three distinct analyst accounts per round, each round finalized from the last model.
    assert [registry.round(fid, n).status for n in (1, 2)] == [RoundStatus.FINALIZED] * 2
    assert [registry.round(fid, n).update_count for n in (1, 2)] == [3, 3]
    directory = Path(result["directory"])
    analysts = {Keystore.open(directory / "keystores" / f"analyst-{i}", "flower-run-test").address
                for i in (1, 2, 3)}
    assert {u.analyst for n in (1, 2) for u in registry.round_updates(fid, n)} == analysts

    # The auditor traces model v2 back through both rounds and re-verifies round 2 from chain and IPFS.
    audit = _flep(env, "audit", "model", "2", "--federation", str(fid), "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    lineage = json.loads(audit.stdout)
    assert lineage["ok"] and [r["round"] for r in lineage["rounds"]] == [2, 1]
    assert all({u["analyst"] for u in r["included"]} == analysts for r in lineage["rounds"])
    verify = _flep(env, "verify", "--round", "2", "--federation", str(fid), "--json")
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"], verify.stdout[-2000:]

    # Every process it started is gone, Flower's detached helpers and the executors included.
    assert _flower_processes() == [] and _processes_with("flower executor") == []
    assert [p for p in psutil.process_iter(["cmdline"])
            if any(str(directory) in part for part in (p.info["cmdline"] or []))] == []


def test_dp_rounds_decrypted_by_custodians_run_through_flower_too(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "flower-dp-test"}
    run = _flep(env, "flower", "run", "--analysts", "2", "--rounds", "2", "--model", "logistic",
                "--paillier-bits", "1024", "--round-seconds", "120", "--dp", "--noise-multiplier", "1.0",
                "--dp-rounds", "2", "--custodians", "3", "--threshold", "2", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    first, second = result["rounds"]
    assert (first["status"], second["status"]) == ("finalized", "finalized")
    # DP only where the plan says, recorded on chain and spent by both analysts; two of three custodians decrypt.
    assert first["dp"] is None and second["dp"]["noise_multiplier"] == 1.0 and second["dp"]["epsilon"] > 0
    assert set(second["analyst_epsilon"]) == {"analyst-1", "analyst-2"}
    assert all(e > 0 for e in second["analyst_epsilon"].values())
    assert all(len(r["custodians"]) == 2 and set(r["custodians"]) <= {"custodian-1", "custodian-2", "custodian-3"}
               for r in result["rounds"])
    fid = result["federation"]
    # Every custodian online may post its partial; the chain holds at least the threshold's worth per round.
    assert all(len(registry.partial_custodians(fid, n)) >= 2 for n in (1, 2))
    assert _flower_processes() == [] and _processes_with("flower executor") == []


def _refusal(worker, instruction, **waiting) -> str:
    from registry.flower.worker_link import NodeRefusal

    try:
        worker.train(instruction, **waiting)
    except NodeRefusal as refusal:
        return str(refusal)
    raise AssertionError(f"{instruction} was not refused")


def test_an_analyst_worker_refuses_instructions_the_chain_does_not_back(devnet, devnet_env, tmp_path,
                                                                       monkeypatch) -> None:
    from registry.flower import analyst_worker
    from registry.flower.analyst_worker import AnalystWorker
    from registry.flower.messages import TrainInstruction
    from registry.store import ArtifactStore

    # A federation through one Flower round, then a third party's view: the ServerApp is the untrusted side.
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "flower-refusal-test"}
    run = _flep(env, "flower", "run", "--analysts", "2", "--rounds", "1", "--model", "logistic",
                "--paillier-bits", "1024", "--round-seconds", "60", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    fid, keystores = result["federation"], Path(result["directory"]) / "keystores"
    keystore = Keystore.open(keystores / "analyst-1", "flower-refusal-test")
    store = ArtifactStore(devnet.ipfs_api)
    worker = AnalystWorker(keystore, registry.as_account(keystore.account), store)
    pinned = AnalystWorker(keystore, registry.as_account(keystore.account), store, fid + 1)
    # Round 1 finalized and nobody opens round 2: an instruction sent ahead for it gives up in time.
    monkeypatch.setattr(analyst_worker, "NEXT_ROUND_SECONDS", 1.0)
    late = _refusal(worker, TrainInstruction(registry.address, fid, 2, 1))
    assert f"round 2 of federation {fid} did not open within 1 s of round 1's end or deadline" in late
    monkeypatch.undo()
    opened = _flep(env, "round", "open", "--keystore", str(keystores / "admin"), "--deadline-seconds", "300")
    assert opened.returncode == 0, opened.stderr[-2000:]
    v1 = registry.model_version(fid, 1).global_model_artifact
    looks = []
    refusals = {
        "stale": _refusal(worker, TrainInstruction(registry.address, fid, 2, 0)),
        "closed": _refusal(worker, TrainInstruction(registry.address, fid, 1, 1)),
        "ahead": _refusal(worker, TrainInstruction(registry.address, fid, 4, 1)),
        "abandoned": _refusal(worker, TrainInstruction(registry.address, fid, 3, 2),
                              abandon=lambda seconds: looks.append(seconds) or len(looks) == 3),
        "registry": _refusal(worker, TrainInstruction("0x" + "11" * 20, fid, 2, 1)),
        "pinned": _refusal(pinned, TrainInstruction(registry.address, fid, 2, 1)),
        "federation": _refusal(worker, TrainInstruction(registry.address, fid + 1, 1, 0)),
    }
    assert "but the chain's latest is v1" in refusals["stale"] and "nothing was trained" in refusals["stale"]
    assert "round 1 of federation" in refusals["closed"] and "is not open for updates" in refusals["closed"]
    assert "round 4 of federation" in refusals["ahead"] and "2 rounds ahead of the chain's latest (2)" in (
        refusals["ahead"])
    # Round 3's instruction, sent ahead while round 2 is open, waits (looking at the chain) until given up.
    assert "the wait for round 3" in refusals["abandoned"] and looks == [analyst_worker.WAIT_POLL_SECONDS] * 3
    assert "check FLEP_REGISTRY_ADDRESS" in refusals["registry"]
    assert f"serves federation {fid + 1} only" in refusals["pinned"]
    assert f"federation {fid + 1} does not exist" in refusals["federation"]

    # A real `flep flower analyst` process: without a passphrase it does not start (nothing to prompt on).
    bare = {k: v for k, v in env.items() if k != "FLEP_PASSPHRASE"}
    socket_path = tmp_path / "analyst.sock"
    started = subprocess.run([sys.executable, "-m", "registry", "flower", "analyst", "--keystore",
                              str(keystores / "analyst-1"), "--socket", str(socket_path)], env=bare,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0 and not socket_path.exists()
    # With it, it answers over its socket what the chain backs, and nothing else.
    from registry.flower.worker_link import NodeConfig, NodeRefusal, ask_worker

    serving = subprocess.Popen([sys.executable, "-m", "registry", "flower", "analyst", "--keystore",
                                str(keystores / "analyst-1"), "--socket", str(socket_path), "--json"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(socket_path.exists, serving, 120, "the analyst worker served")
        with pytest.raises(NodeRefusal, match="but the chain's latest is v1"):
            ask_worker(NodeConfig(socket_path), TrainInstruction(registry.address, fid, 2, 0), timeout=60)
    finally:
        serving.send_signal(signal.SIGTERM)
        stdout, _ = serving.communicate(timeout=30)
    assert serving.returncode == 0 and not socket_path.exists()
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines[0]["action"] == "ready" and "but the chain's latest is v1" in lines[1]["refusal"]
    # None of it reached the chain: the open round 2 holds no update.
    assert registry.round(fid, 2).update_count == 0
    # The instruction the chain backs is trained once; a repeat (a restarted server) gets the same answer.
    backed = TrainInstruction(registry.address, fid, 2, 1)
    first = worker.train(backed)
    assert worker.train(backed).update_id == first.update_id and first.analyst == keystore.address
    assert first.model_artifact == v1  # it says what it trained from: the chain's v1
    assert [u.artifact_id for u in registry.round_updates(fid, 2)] == [first.update_id]
    # Once round 2 is aborted, round 3's instruction is refused at once: round 3 will not open after it.
    admin = Keystore.open(keystores / "admin", "flower-refusal-test")
    registry.as_account(admin.account).abort_round(fid, 2, "test: the run stopped")
    aborted = _refusal(worker, TrainInstruction(registry.address, fid, 3, 1))
    assert f"round 2 of federation {fid} was aborted, so round 3 will not open" in aborted
    assert registry.federation(fid).round_count == 2 and registry.round(fid, 2).update_count == 1


def test_a_killed_supernode_is_a_dropout_and_a_foreign_keystore_is_refused(devnet, devnet_env, tmp_path) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "flower-dropout-test"}
    port, started = free_port(), time.time()
    run = subprocess.Popen([sys.executable, "-m", "registry", "flower", "run", "--analysts", "3", "--rounds", "1",
                            "--model", "logistic", "--paillier-bits", "1024", "--round-seconds", "40",
                            "--port", str(port), "--node-wait-seconds", "30", "--json"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A SuperNode with a keystore nobody admitted joins the SuperLink as soon as it listens.
    rogue_keystore = Keystore.create(tmp_path / "rogue", "rogue-passphrase")
    rogue = rogue_worker = None
    try:
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        _wait_for(listening, run, 300, "the SuperLink listened")
        quiet = {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1",
                 "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
        rogue_socket = tmp_path / "rogue.sock"
        rogue_worker = subprocess.Popen(
            [sys.executable, "-m", "registry", "flower", "analyst", "--keystore", str(rogue_keystore.directory),
             "--socket", str(rogue_socket)], env={**env, "FLEP_PASSPHRASE": "rogue-passphrase"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for(rogue_socket.exists, run, 120, "the rogue analyst worker served")
        rogue = subprocess.Popen(
            [str(Path(sys.executable).with_name("flower-supernode")), "--insecure", "--superlink",
             f"127.0.0.1:{port}", "--host", "127.0.0.1", "--port", str(free_port()),
             "--node-config", f'worker="{rogue_socket}"'],
            env={**quiet, "FLWR_HOME": str(tmp_path / "rogue-flwr")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # analyst-3's host dies (its SuperNode, the executor beside it and its worker) once it answered the
        # roll call: its round 1 instruction is queued or waiting for the round, and it never replies.
        _wait_for(lambda: _answered_roll_call(Path(env["FLEP_HOME"]), started, "analyst-3"), run, 300,
                  "analyst-3 answered the roll call")
        node = [p for p in psutil.process_iter(["cmdline"]) if "flower-supernode" in " ".join(
            p.info["cmdline"] or []) and "/analyst-3" in " ".join(p.info["cmdline"] or [])]
        assert len(node) == 1
        runtime = node[0].cmdline()[node[0].cmdline().index("--port") + 1]
        node += [p for p in _processes_with("flower executor") if p.cmdline()[-2].endswith(f":{runtime}")]
        node += [p for p in _processes_with("flower analyst") if "/analyst-3" in " ".join(p.cmdline())]
        assert len(node) == 3
        for process in node:
            _kill_tree(process.pid)
        stdout, stderr = run.communicate(timeout=400)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            run.communicate(timeout=60)
        for process in (rogue, rogue_worker):
            if process is not None:
                _kill_tree(process.pid)
    assert run.returncode == 0, stderr[-3000:]
    result = json.loads(stdout)
    [round_] = result["rounds"]
    assert (round_["status"], round_["included"], round_["submitted"], round_["missing"]) == (
        "finalized", 2, ["analyst-1", "analyst-2"], ["analyst-3"])

    # The foreign node was told why, and nothing of it reached the chain.
    # The roll call's refusal, then round 1's (its instruction was queued behind the roll call).
    refusals = [e for e in result["node_errors"] if "is not an analyst of federation 1" in e]
    assert len(refusals) == 2 and all(rogue_keystore.address in e for e in refusals), result["node_errors"]
    assert "refused the roll call" in refusals[0]
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    assert w3.eth.get_transaction_count(rogue_keystore.address) == 0
    assert rogue_keystore.address not in {u.analyst for u in registry.round_updates(1, 1)}

    # The audit shows who contributed: the two analysts that replied.
    directory = Path(result["directory"])
    contributors = {Keystore.open(directory / "keystores" / f"analyst-{i}", "flower-dropout-test").address
                    for i in (1, 2)}
    audit = _flep(env, "audit", "model", "1", "--federation", "1", "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    [lineage_round] = json.loads(audit.stdout)["rounds"]
    assert {u["analyst"] for u in lineage_round["included"]} == contributors
    assert _flower_processes() == [] and _processes_with("flower executor") == []


def test_ctrl_c_stops_every_process_it_started(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "flower-interrupt-test"}
    run = subprocess.Popen([sys.executable, "-m", "registry", "flower", "run", "--analysts", "2", "--rounds", "3",
                            "--model", "logistic", "--paillier-bits", "1024", "--round-seconds", "60"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Interrupted mid-round, with the SuperLink, both SuperNodes and their executors running.
    _wait_for_round_1(registry, run)
    # The analysts' passphrase is in their workers only: no SuperNode-side process has it or any FLEP setting
    # in its environment.
    workers = _processes_with("flower analyst")
    assert len(workers) == 2 and all("FLEP_PASSPHRASE" in _environ(w) for w in workers)
    nodes = [p for p in psutil.process_iter(["cmdline"]) if "flower-supernode" in _programs(p)]
    executors = _processes_with("flower executor")
    node_side = nodes + executors + [child for p in nodes + executors for child in p.children(recursive=True)]
    assert len(nodes) == 2 and len(executors) == 2
    assert [_programs(p) for p in node_side if any(key.startswith("FLEP_") for key in _environ(p))] == []
    # The executors answer every message themselves: Flower starts no SuperExec and no ClientApp process.
    assert [p for p in node_side if {"flower-superexec", "flwr-clientapp"} & set(_programs(p))] == []
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    assert run.returncode != 0
    assert _flower_processes() == []
    assert [p for p in psutil.process_iter(["cmdline"]) if "agent" in (p.info["cmdline"] or [])
            and any("keystores/" in part for part in p.info["cmdline"])] == []
    assert _processes_with("flower analyst") == [] and _processes_with("flower executor") == []
