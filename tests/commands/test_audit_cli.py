"""`flep audit model | round | access` on a real federation (see conftest): lineage with updates, exclusions,
datasets, key holders and DP; a round's timeline in chain order; grants and revocations per account; chain
text printed literally; a damaged artifact marked MISMATCH (last: it damages the module's federation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from registry.chain.errors import UnknownModelVersionError, UnknownRoundError
from registry.cli import app
from registry.commands.output import console
from registry.config import ConfigError
from registry.devnet import dev_account

HOSTILE = "[red]x[/red][link=https://evil.example]y[/link]"  # the aborted round's reason (conftest)


def _audit(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["audit", *args], env=env)


def _json(env: dict[str, str], *args: str) -> Any:
    result = _audit(env, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture()
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Print tables wide enough that no value is folded across lines."""
    monkeypatch.setattr(console, "width", 400)


def test_model_lineage_lists_updates_exclusions_datasets_and_dp(audited, cli_env, registry) -> None:
    lineage = _json(cli_env, "model", "2", "--federation", str(audited.federation_id))
    assert lineage["ok"] is True and lineage["version"] == 2 and lineage["federation"] == audited.federation_id
    v2, v1 = lineage["rounds"]
    assert [(r["version"], r["parent_version"], r["round"]) for r in (v2, v1)] == [(2, 1, 2), (1, 0, 1)]
    for r in (v2, v1):
        assert (r["key_epoch"], r["aggregator"], r["key_holder"]) == (1, audited.aggregator, audited.key_holder)
        assert r["opened"]["block"] < r["aggregated"]["block"] < r["finalized"]["block"]
        assert [c["check"] for c in r["round_checks"]] == ["weights"] and r["round_checks"][0]["ok"]
        assert r["global_model"]["kind"] == "global_model" and r["metrics"]["kind"] == "metrics"
    a1, a2, a3 = audited.analysts

    assert [(u["artifact_id"], u["analyst"], u["weight"]) for u in v2["included"]] == [
        (audited.round2_included[0], a1, 60), (audited.round2_included[1], a2, 60)]
    assert [(u["artifact_id"], u["analyst"], u["reason"]) for u in v2["excluded"]] == [
        (audited.round2_excluded, a3, "wrong_context")]
    assert [c["check"] for c in v2["excluded"][0]["checks"]] == ["content", "exclusion justified"]
    assert all(c["ok"] for c in v2["excluded"][0]["checks"])
    assert {c["check"] for u in v2["included"] for c in u["checks"]} == {"content", "inclusion valid"}
    assert [(d["artifact_id"], d["owner"], d["sample_count"]) for d in v2["datasets"]] == [
        (audited.datasets[a1], audited.owner, 100), (audited.datasets[a2], audited.owner, 100)]
    assert [u["artifact_id"] for u in v1["included"]] == list(audited.round1_updates) and v1["excluded"] == []
    assert [d["artifact_id"] for d in v1["datasets"]] == [audited.datasets[a] for a in audited.analysts]

    assert v2["dp"] == {"enabled": True, "epsilon": 3.0, "delta": 1e-5, "noise_multiplier": 1.1, "clip_norm": 1.0,
                        "accountant": "rdp"}
    assert v1["dp"]["enabled"] is False and (v1["cumulative_epsilon"], v2["cumulative_epsilon"]) == (0.0, 3.0)
    assert lineage["dp_composition"]["epsilon"] == 3.0 and lineage["dp_composition"]["delta"] == 1e-5
    assert lineage["dp_composition"]["rounds_without_dp"] == [1]
    assert "basic composition" in lineage["dp_composition"]["method"]

    finalized = v2["finalized"]
    assert finalized["block_time"] == registry.w3.eth.get_block(finalized["block"])["timestamp"]
    receipt = registry.w3.eth.get_transaction_receipt(finalized["transaction_hash"])
    assert receipt["blockNumber"] == finalized["block"]


def test_model_text_says_how_epsilon_is_composed(audited, cli_env, wide_console) -> None:
    result = _audit(cli_env, "model", "2")  # the last federation created by default
    assert result.exit_code == 0, result.output
    assert "every artifact verified" in result.output and "MISMATCH" not in result.output
    assert "cumulative ε = 3, δ = 1e-05 (basic composition" in result.output
    assert "round(s) 1 recorded no DP" in result.output
    assert "excluded: wrong_context" in result.output and f"by key holder {audited.key_holder}" in result.output


def test_round_timeline_is_in_chain_order_with_gas(audited, cli_env, registry) -> None:
    timeline = _json(cli_env, "round", "2", "--federation", str(audited.federation_id))
    entries = timeline["events"]
    assert [e["event"] for e in entries] == [
        "RoundOpened", "UpdateSubmitted", "UpdateSubmitted", "UpdateSubmitted", "RoundClosed",
        "ArtifactRegistered", "AggregatePosted", "UpdateExcluded", "ArtifactRegistered", "ArtifactRegistered",
        "RoundFinalized"]
    positions = [(e["block"], e["log_index"]) for e in entries]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert [e["args"]["kind"] for e in entries if e["event"] == "ArtifactRegistered"] == [
        "encrypted_aggregate", "global_model", "metrics"]
    excluded = next(e for e in entries if e["event"] == "UpdateExcluded")
    assert (excluded["args"]["update_artifact_id"], excluded["args"]["reason"]) == (audited.round2_excluded,
                                                                                     "wrong_context")
    assert entries[-1]["args"]["dp"]["epsilon"] == 3.0 and entries[-1]["args"]["key_holder"] == audited.key_holder
    for entry in entries:
        receipt = registry.w3.eth.get_transaction_receipt(entry["transaction_hash"])
        assert entry["gas_used"] == receipt["gasUsed"] > 0 and entry["block"] == receipt["blockNumber"]
        assert entry["block_time"] == registry.w3.eth.get_block(entry["block"])["timestamp"]


def test_aborted_round_reason_is_printed_literally(audited, cli_env, wide_console) -> None:
    timeline = _json(cli_env, "round", str(audited.aborted_round))
    assert [e["event"] for e in timeline["events"]] == ["RoundOpened", "RoundAborted"]
    assert timeline["events"][1]["args"]["reason"] == HOSTILE
    result = _audit(cli_env, "round", str(audited.aborted_round))
    assert result.exit_code == 0, result.output
    assert f"reason={HOSTILE}" in result.output


def test_access_lists_grants_and_revocations_per_account(audited, cli_env) -> None:
    report = _json(cli_env, "access")  # the last federation created by default
    assert report["federation"] == audited.federation_id and report["account"] is None
    entries = report["entries"]
    seen = {(e["account"], e["kind"], e["action"], e["actor"]) for e in entries}
    assert (audited.admin, "role:federation_admin", "granted", dev_account(0).address) in seen
    assert (audited.key_holder, "paillier_private_key", "granted", audited.admin) in seen
    for analyst in audited.analysts:
        assert (analyst, "role:analyst", "granted", audited.admin) in seen
        assert (analyst, "codec_key", "granted", audited.owner) in seen
    accounts = [e["account"].lower() for e in entries]
    assert accounts == sorted(accounts)
    assert not any(e["action"] == "revoked" for e in entries if e["account"] != audited.revoked_analyst)

    mine = _json(cli_env, "access", "--account", audited.revoked_analyst.lower())
    assert {e["account"] for e in mine["entries"]} == {audited.revoked_analyst}
    codec = [e for e in mine["entries"] if e["kind"] == "codec_key"]
    assert [(e["action"], e["actor"], e["event"]) for e in codec] == [
        ("granted", audited.owner, "KeyGranted"), ("revoked", audited.owner, "KeyRevoked")]
    assert codec[0]["block"] < codec[1]["block"] and codec[1]["args"]["key_owner"] == audited.owner
    [key] = [e for e in mine["entries"] if e["kind"] == "encryption_key"]
    assert key["action"] == "registered" and key["args"]["suite"] == "dhkem_x25519"
    assert [e for e in entries if e["kind"] == "encryption_key"] == [key]


def test_unknown_targets_and_bad_input_are_refused(audited, cli_env) -> None:
    unknown = _audit(cli_env, "model", "9")
    assert unknown.exit_code == 1 and isinstance(unknown.exception, UnknownModelVersionError)
    no_round = _audit(cli_env, "round", "99")
    assert no_round.exit_code == 1 and isinstance(no_round.exception, UnknownRoundError)
    bad = _audit(cli_env, "access", "--account", "0x1234")
    assert bad.exit_code == 1 and isinstance(bad.exception, ConfigError) and "is not an address" in str(bad.exception)


def test_damaged_artifact_is_marked_mismatch(audited, cli_env, devnet, wide_console) -> None:
    """Runs last: it damages round 1's metrics on the IPFS node's disk (their bytes are unique to this module)."""
    lineage = _json(cli_env, "model", "2")
    metrics = lineage["rounds"][1]["metrics"]
    marker = json.dumps({"round": 1, "federation": audited.federation_id,
                         "registry": audited.registry_address}).encode()
    blocks = [p for p in Path(devnet.ipfs_repo).rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert len(blocks) == 1
    blocks[0].write_bytes(blocks[0].read_bytes().replace(marker, bytes(len(marker))))

    result = _audit(cli_env, "model", "2", "--json")
    assert result.exit_code == 1
    damaged = json.loads(result.output)
    assert damaged["ok"] is False and damaged["rounds"][0]["ok"] is True
    found = damaged["rounds"][1]["metrics"]
    assert found["artifact_id"] == metrics["artifact_id"] and found["ok"] is False
    assert [c["check"] for c in found["checks"] if not c["ok"]] == ["content"]
    assert all(u["ok"] for u in damaged["rounds"][1]["included"])
    text = _audit(cli_env, "model", "2")
    assert text.exit_code == 1
    assert "MISMATCH found" in text.output and f"MISMATCH metrics #{metrics['artifact_id']}, content" in text.output
