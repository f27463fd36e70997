"""`flep round run` on the session devnet: every party a real OS process with its own keystore and account."""

from __future__ import annotations

import json
import os
import subprocess
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
