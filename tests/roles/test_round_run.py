"""`flep round run` on the session devnet: every party a real OS process with its own keystore and account."""

from __future__ import annotations

import json
import os
import subprocess
import time
import sys
from pathlib import Path

import psutil

from registry.chain import ModelRegistry, RoundStatus, connect
from registry.devnet import dev_account


def _flep(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "registry", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_two_rounds_with_every_party_its_own_process(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "round-run-test"}
    run = _flep(env, "round", "run", "--analysts", "3", "--rounds", "2", "--model", "logistic",
                "--paillier-bits", "1024", "--round-seconds", "120", "--revoke-after-round", "1", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    rounds = result["rounds"]
    # analyst-3 is revoked after round 1 (and the key epoch rotated): round 2 runs with the other two.
    assert [(r["round"], r["status"], r["model_version"], r["included"]) for r in rounds] == [
        (1, "finalized", 1, 3), (2, "finalized", 2, 2)]
    assert result["revoked"] == "analyst-3"
    assert result["revoked_reads_latest_model"].startswith("refused:")
    assert all(r["accuracy"] > 0.2 and r["gas"] > 0 and r["model_cid"] for r in rounds)  # chance is 0.1
    assert set(rounds[0]["phase_seconds"]) == {"train+encrypt+submit", "aggregate", "decrypt+finalize"}

    # The chain agrees, the parties were distinct accounts, and every agent process was stopped.
    fid = result["federation"]
    assert [registry.round(fid, r["round"]).key_epoch for r in rounds] == [1, 2]
    assert all(registry.round(fid, r["round"]).status == RoundStatus.FINALIZED for r in rounds)
    analysts = {u.analyst for r in rounds for u in registry.round_updates(fid, r["round"])}
    assert len(analysts) == 3 and not analysts & {dev_account(i).address for i in range(10)}
    directory = Path(result["directory"])
    assert {p.name for p in (directory / "keystores").iterdir()} == {
        "admin", "owner", "aggregator", "key-holder", "analyst-1", "analyst-2", "analyst-3"}
    leftover = [p for p in psutil.process_iter(["cmdline"])
                if any(str(directory) in part for part in (p.info["cmdline"] or []))]
    assert leftover == []

    # The audit side re-verifies the whole lineage from chain and IPFS.
    verify = _flep(env, "verify", "--model", "2", "--federation", str(fid), "--json")
    assert verify.returncode == 0, verify.stdout[-2000:]
    assert json.loads(verify.stdout)["ok"]
    assert os.stat(directory / "keystores" / "analyst-1").st_mode & 0o777 == 0o700


def _run_in_background(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "registry", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _agent_process(keystore_name: str, timeout: float = 120) -> psutil.Process:
    """The `flep agent` process whose keystore directory is ``keystores/<keystore_name>``, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if "agent" in cmdline and any(part.endswith(f"keystores/{keystore_name}") for part in cmdline):
                return process
        time.sleep(0.05)
    raise AssertionError(f"no agent process with keystore {keystore_name} appeared in {timeout} s")


def _agent_processes() -> list[psutil.Process]:
    """Live `flep agent` processes of any run."""
    return [p for p in psutil.process_iter(["cmdline"])
            if "agent" in (p.info["cmdline"] or []) and any("keystores/" in part for part in p.info["cmdline"])]


def test_a_killed_analyst_process_is_a_dropout(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "round-run-kill-test"}
    run = _run_in_background(env, "round", "run", "--analysts", "3", "--rounds", "2", "--model", "logistic",
                             "--paillier-bits", "1024", "--round-seconds", "20", "--json")
    # analyst-3 dies as it starts (an agent needs seconds to load torch before it can submit anything).
    _agent_process("analyst-3").kill()
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr[-3000:]
    result = json.loads(stdout)
    assert result["exited"] == {"analyst-3": -9}
    # Each round waits for it until its deadline, then finalizes with the two others (the minimum).
    assert [(r["status"], r["included"], r["submitted"], r["missing"]) for r in result["rounds"]] == [
        ("finalized", 2, ["analyst-1", "analyst-2"], ["analyst-3"])] * 2
    fid = result["federation"]
    assert all(registry.round(fid, n).update_count == 2 for n in (1, 2))
    audit = _flep(env, "audit", "model", "2", "--federation", str(fid), "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    assert len({u["analyst"] for r in json.loads(audit.stdout)["rounds"] for u in r["included"]}) == 2


def test_a_dead_aggregator_aborts_the_round_at_its_deadline(devnet, devnet_env) -> None:
    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "round-run-kill-test"}
    run = _run_in_background(env, "round", "run", "--analysts", "2", "--rounds", "2", "--model", "logistic",
                             "--paillier-bits", "1024", "--round-seconds", "10")
    _agent_process("aggregator").kill()
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 1 and "aggregator exited" in stderr and "aborted" in stderr, stderr[-3000:]
    fid = registry.federation_count()
    assert registry.federation(fid).round_count == 1  # no second round was opened
    assert registry.round(fid, 1).status == RoundStatus.ABORTED and registry.federation(fid).model_version_count == 0
    assert _agent_processes() == []  # the runner stopped the other agents on its way out


def test_accuracy_matches_the_plaintext_simulation_of_the_same_partitions(devnet, devnet_env) -> None:
    from clients.fl import SimulationConfig, TrainConfig, load_digits_data, run_federated, split_train_test

    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "round-run-sim-test"}
    run = _flep(env, "round", "run", "--analysts", "3", "--rounds", "3", "--model", "logistic",
                "--paillier-bits", "1024", "--seed", "4", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    accuracies = [r["accuracy"] for r in json.loads(run.stdout)["rounds"]]
    train, test = split_train_test(load_digits_data(), 0.2, seed=4)
    simulated = run_federated(train, test, SimulationConfig(
        model="logistic", num_clients=3, rounds=3, train=TrainConfig(local_epochs=1, lr=0.05, batch_size=32),
        seed=4, device="cpu"))
    expected = [r.accuracy for r in simulated.history]
    assert expected[-1] > 0.5  # it learned something, so agreement is not two models at chance
    # Paillier's fixed-point encoding (16 bits per value) is the only difference: within a point every round.
    assert all(abs(a - e) <= 0.01 for a, e in zip(accuracies, expected, strict=True)), (accuracies, expected)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_devnet_restarted_mid_run_loses_nothing(devnet_factory, tmp_path) -> None:
    # A devnet of its own on fixed ports, so that the restarted nodes answer where the parties look.
    manager = devnet_factory(tmp_path / "home", FLEP_ANVIL_PORT=str(_free_port()), FLEP_IPFS_PORT=str(_free_port()))
    info = manager.up()
    try:
        registry, _ = ModelRegistry.deploy(connect(info.rpc_url, info.chain_id), dev_account(0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEP_")}
        env.update({"FLEP_HOME": str(manager.home), "FLEP_REGISTRY_ADDRESS": registry.address,
                    "FLEP_PASSPHRASE": "round-run-restart-test", "FLEP_ANVIL_PORT": str(manager.settings.anvil_port),
                    "FLEP_IPFS_PORT": str(manager.settings.ipfs_port)})
        run = _run_in_background(env, "round", "run", "--analysts", "2", "--rounds", "2", "--model", "logistic",
                                 "--paillier-bits", "1024", "--round-seconds", "120", "--json")
        deadline = time.monotonic() + 180
        while registry.federation_count() == 0 or registry.federation(1).round_count == 0:
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()[1][-3000:]
            time.sleep(0.2)
        # Round 1 is open and the analysts are at work: both nodes go down and come back on the same state.
        assert sorted(manager.down()) == ["anvil", "ipfs"]
        time.sleep(3)
        manager.up()
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
        rounds = json.loads(stdout)["rounds"]
        assert [(r["status"], r["included"]) for r in rounds] == [("finalized", 2), ("finalized", 2)]
        # Nothing recorded twice, and the lineage still verifies from the chain and the node's content.
        assert [registry.round(1, n).update_count for n in (1, 2)] == [2, 2]
        verify = _flep(env, "verify", "--model", "2", "--federation", "1", "--json")
        assert verify.returncode == 0 and json.loads(verify.stdout)["ok"], verify.stdout[-2000:]
    finally:
        manager.down()


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    """Files under ``root`` that contain any of ``needles``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [str(path) for needle in needles if needle in data]
    return found


def test_threshold_custody_with_custodians_going_offline_and_a_dealer_that_keeps_nothing(devnet,
                                                                                         devnet_env) -> None:
    from registry.keystore import Keystore
    from registry.roles import Custodian, FederationContext
    from registry.store import ArtifactStore

    registry, _ = ModelRegistry.deploy(connect(devnet.rpc_url, devnet.chain_id), dev_account(0))
    env = {**devnet_env, "FLEP_REGISTRY_ADDRESS": registry.address, "FLEP_PASSPHRASE": "threshold-run-test"}
    run = _run_in_background(env, "round", "run", "--analysts", "2", "--rounds", "2", "--model", "logistic",
                             "--paillier-bits", "1024", "--round-seconds", "45", "--custodians", "3",
                             "--threshold", "2", "--json")
    _agent_process("custodian-1").kill()  # offline from the start: two of three still decrypt round 1
    deadline = time.monotonic() + 400
    while not registry.federation_count() or registry.federation(1).model_version_count == 0:
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[1][-3000:]
        time.sleep(0.2)
    _agent_process("custodian-2").kill()  # now one of three is left: round 2 waits, then aborts at its deadline
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 1 and "custodian-1, custodian-2 exited" in stderr and "aborted" in stderr, stderr[-3000:]
    fid = 1
    assert registry.round(fid, 1).status == RoundStatus.FINALIZED
    assert registry.round(fid, 2).status == RoundStatus.ABORTED and registry.federation(fid).model_version_count == 1
    assert registry.partial_custodians(fid, 1) == (2, 3) and registry.partial_custodians(fid, 2) == (3,)
    assert registry.epoch_custody(fid, 1).threshold == 2 and not registry.key_epoch(fid, 1).revoked_at
    assert _agent_processes() == []

    # A member re-checks every proof and the combination; the audit names the custodians used.
    directory = max((Path(env["FLEP_HOME"]) / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    keystores = directory / "keystores"
    verify = _flep(env, "verify", "--round", "1", "--federation", str(fid), "--keystore",
                   str(keystores / "analyst-1"), "--json")
    assert verify.returncode == 0, verify.stdout[-3000:]
    checks = json.loads(verify.stdout)["checks"]
    assert [c["check"] for c in checks].count("proof") == 2 and any(c["check"] == "combination" for c in checks)
    audit = _flep(env, "audit", "model", "1", "--federation", str(fid), "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    custodians = {k.name: Keystore.open(keystores / k.name, "threshold-run-test").address
                  for k in keystores.iterdir() if k.name.startswith("custodian-")}
    assert [(r["threshold"], r["custodians"]) for r in json.loads(audit.stdout)["rounds"]] == [
        (2, [custodians["custodian-2"], custodians["custodian-3"]])]

    # Nothing of any share is on disk anywhere (keystores, logs, the devnet's chain and IPFS repository).
    context = FederationContext(registry, ArtifactStore(devnet.ipfs_api), fid)
    shares = [Custodian(context, Keystore.open(keystores / name, "threshold-run-test"), 0).holding(1).share.value
              for name in ("custodian-2", "custodian-3")]
    needles = [s.to_bytes((s.bit_length() + 7) // 8, "big") for s in shares]
    needles += [format(s, "x").encode() for s in shares] + [str(s).encode() for s in shares]
    assert _files_holding(Path(env["FLEP_HOME"]), needles) == []
