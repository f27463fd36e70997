"""`flep he ...` and `flep bench he` through the real CLI."""

import json
import stat
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from registry.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    public, private = folder / "fed.pub", folder / "fed.key"
    result = runner.invoke(app, ["he", "keygen", "--bits", "2048", "--public-out", str(public),
                                 "--private-out", str(private), "--json"])
    assert result.exit_code == 0, result.output
    return public, private, {**json.loads(result.stdout), "stderr": result.stderr}


def test_keygen_writes_private_key_only_with_mode_0600(key_files):
    public, private, info = key_files
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "NOT encrypted" in info["stderr"]
    assert len(info["fingerprint"]) == 64 and info["bits"] == 2048
    assert public.read_bytes()[:5] == b"FLPK\x02" and info["djn_exponent_bits"] == 1024


def test_keygen_refuses_to_overwrite(key_files):
    public, private, _ = key_files
    result = runner.invoke(app, ["he", "keygen", "--bits", "2048", "--public-out", str(public),
                                 "--private-out", str(private)])
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_encrypt_aggregate_verify_decrypt_round_trip(key_files, tmp_path):
    public, private, _ = key_files
    rng = np.random.default_rng(0)
    vectors, weights, files = [rng.uniform(-1, 1, 100) for _ in range(3)], [4, 10, 7], []
    for i, (vector, weight) in enumerate(zip(vectors, weights)):
        np.save(tmp_path / f"u{i}.npy", vector)
        files.append(str(tmp_path / f"u{i}.bin"))
        result = runner.invoke(app, ["he", "encrypt", str(tmp_path / f"u{i}.npy"), "--public-key", str(public),
                                     "--weight", str(weight), *_round_options(i), "--out", files[-1],
                                     "--workers", "1", "--json"])
        assert result.exit_code == 0, result.output
        encrypted = json.loads(result.stdout)
        assert (encrypted["submitter"], encrypted["round"]) == (f"0x{i + 1:040x}", 4)
    agg = str(tmp_path / "agg.bin")
    result = runner.invoke(app, ["he", "aggregate", *files, "--public-key", str(public), "--out", agg, "--json"])
    assert result.exit_code == 0, result.output
    inspected = runner.invoke(app, ["he", "inspect", agg, "--public-key", str(public), "--json"])
    assert inspected.exit_code == 0, inspected.output
    header = json.loads(inspected.stdout)
    assert header["kind"] == "EncryptedAggregate" and header["weights_total"] == 21
    assert (header["federation_id"], header["round"], header["key_epoch"]) == (2, 4, 1)
    assert "submitter" not in header and len(header["encoding_digest"]) == 64
    assert len(header["input_digests"]) == 3
    verified = runner.invoke(app, ["he", "verify", agg, *files[::-1], "--public-key", str(public), "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["match"] is True
    partial = runner.invoke(app, ["he", "verify", agg, *files[:2], "--public-key", str(public), "--json"])
    assert partial.exit_code == 1
    out = tmp_path / "mean.npy"
    result = runner.invoke(app, ["he", "decrypt", agg, "--private-key", str(private), "--out", str(out),
                                 "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    bound = json.loads(result.stdout)["quantization_bound"]
    reference = sum(w * v for w, v in zip(weights, vectors)) / sum(weights)
    assert np.abs(np.load(out) - reference).max() <= bound


def _round_options(index: int, round_: int = 4) -> list[str]:
    return ["--federation-id", "2", "--round", str(round_), "--key-epoch", "1", "--submitter", f"0x{index + 1:040x}"]


def test_aggregate_of_two_rounds_is_refused_and_inspect_prints_the_submitter(key_files, tmp_path):
    public, _, _ = key_files
    np.save(tmp_path / "u.npy", np.zeros(10))
    files = [str(tmp_path / "a.bin"), str(tmp_path / "b.bin")]
    for index, (file, round_) in enumerate(zip(files, (4, 5))):
        result = runner.invoke(app, ["he", "encrypt", str(tmp_path / "u.npy"), "--public-key", str(public),
                                     "--weight", "3", *_round_options(index, round_), "--out", file,
                                     "--workers", "1"])
        assert result.exit_code == 0, result.output
    inspected = runner.invoke(app, ["he", "inspect", files[1], "--public-key", str(public)])
    assert inspected.exit_code == 0, inspected.output
    assert "submitter: 0x0000000000000000000000000000000000000002" in inspected.stdout
    assert "round: 5" in inspected.stdout and "weight: 3" in inspected.stdout
    result = runner.invoke(app, ["he", "aggregate", *files, "--public-key", str(public),
                                 "--out", str(tmp_path / "agg.bin")])
    assert result.exit_code != 0
    assert "round: expected 4, found 5" in str(result.exception)


def test_encrypt_refuses_a_malformed_submitter(key_files, tmp_path):
    public, _, _ = key_files
    np.save(tmp_path / "u.npy", np.zeros(10))
    result = runner.invoke(app, ["he", "encrypt", str(tmp_path / "u.npy"), "--public-key", str(public),
                                 "--weight", "3", "--federation-id", "1", "--round", "1", "--key-epoch", "1",
                                 "--submitter", "[red]alice", "--out", str(tmp_path / "u.bin")])
    assert result.exit_code != 0 and "not a 0x-prefixed 20-byte hex address" in str(result.exception)
    assert not (tmp_path / "u.bin").exists()


def test_bench_he_json_is_clean_and_reports_all_schemes():
    # A subprocess, so native output of TenSEAL's C++ core (a warning for vectors
    # longer than one CKKS ciphertext) would land in the captured stdout too.
    completed = subprocess.run(
        [sys.executable, "-m", "registry", "bench", "he", "--params", "5000", "--clients", "2", "--bits", "1024",
         "--sample", "10", "--workers", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    schemes = [row["scheme"] for row in report["rows"]]
    assert schemes == ["phe per-value", "packed Paillier (DJN)", "packed Paillier (r^n)", "TenSEAL CKKS"]
    for packed in report["rows"][1:3]:
        assert packed["max_abs_error"] <= packed["error_bound"]
        assert packed["upload_bytes_per_client"] < report["rows"][0]["upload_bytes_per_client"]
    assert report["rows"][3]["max_abs_error"] < 1e-4
    assert set(report["speedup_packed_vs_per_value"]["1024"]) == {"packed Paillier (DJN)", "packed Paillier (r^n)"}
