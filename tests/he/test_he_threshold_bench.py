"""`flep bench threshold` (clients.he.threshold_benchmark): figures, and that it fails loudly when it should."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import clients.he.threshold_benchmark as bench
from clients.he import EncodingParams, InvalidParametersError, InvalidPartialError, SlotLayout
from clients.he.threshold_benchmark import (
    ThresholdBenchmarkMismatchError,
    check_same_result,
    run_threshold_benchmark,
)
from registry.cli import app

BITS = 1024  # the smallest size the public-key format reads (the single key needs it)
PARTIAL_HEADER_BYTES = 63  # FLPD | version | fingerprint | index | count | width | challenge | len(response)


def test_bench_threshold_json_reports_every_custodian_and_matches_single_key():
    result = CliRunner().invoke(app, ["bench", "threshold", "--params", "500", "--bits", str(BITS), "--custodians",
                                      "3", "--threshold", "2", "--clients", "2", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # progress goes nowhere with --json: stdout is the JSON alone

    slots = SlotLayout.for_key_bits(EncodingParams(), BITS).slots_per_ciphertext
    assert (report["params"], report["bits"], report["custodians"], report["threshold"]) == (500, BITS, 3, 2)
    assert (report["clients"], report["workers"], report["slots_per_ciphertext"]) == (2, 1, slots)
    assert report["ciphertexts"] == math.ceil(500 / slots)
    assert report["results_identical"] is True
    assert report["max_abs_error"] <= report["quantization_bound"]
    assert report["combined_custodians"] == [1, 2]

    custodians = report["custodian_figures"]
    assert [item["index"] for item in custodians] == [1, 2, 3]
    width = 2 * BITS // 8  # one N^2-wide value per ciphertext
    max_response = (2 * BITS + 3 + 128 + 128 + 1 + 7) // 8  # |N^2| + |3!| + challenge + hiding bits, + 1
    for item in custodians:
        response = item["partial_bytes"] - PARTIAL_HEADER_BYTES - report["ciphertexts"] * width
        assert 0 < response <= max_response
        assert item["partial_s"] > 0 and item["verify_s"] > 0 and item["parse_s"] >= 0
        assert item["single_key_ratio"] == pytest.approx(item["partial_s"] / report["single_key_decrypt_s"])
        assert item["goal_met"] is (item["partial_s"] <= 30.0)
    assert report["slowest_custodian_s"] == max(item["partial_s"] for item in custodians)
    assert report["combine_single_key_ratio"] == pytest.approx(report["combine_s"] / report["single_key_decrypt_s"])
    assert (report["custodian_goal_s"], report["combine_goal_s"]) == (30.0, 10.0)
    assert report["custodian_goal_met"] is all(item["goal_met"] for item in custodians)
    assert report["combine_goal_met"] is (report["combine_s"] <= 10.0)
    assert report["deal_s"] > 0 and report["wall_s"] >= report["deal_s"]


def test_bench_threshold_table_names_the_single_key_comparison():
    result = CliRunner().invoke(app, ["bench", "threshold", "--params", "100", "--bits", str(BITS), "--custodians",
                                      "2", "--threshold", "2", "--clients", "1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the table wraps its cells at the terminal's width
    assert text.count("partial+proof") == 2 and "combine+verify" in text and "single-key decrypt*" in text
    assert "same updates under a same-size key" in text
    assert "identical to single-key decryption: True" in text


def test_a_corrupted_partial_aborts_the_benchmark_naming_its_custodian(monkeypatch):
    real = bench.partial_decrypt_aggregate

    def corrupt_third(share, public, aggregate, **kwargs):
        partial = real(share, public, aggregate, **kwargs)
        if share.index != 3:
            return partial
        # Still a unit in (0, N^2), so it parses; only the proof can catch it.
        return dataclasses.replace(partial, values=(partial.values[1], *partial.values[1:]))

    monkeypatch.setattr(bench, "partial_decrypt_aggregate", corrupt_third)
    # Custodian 3 is not among the t = 2 combined: only the benchmark's own verification sees it.
    with pytest.raises(InvalidPartialError, match="custodian 3 fails its proof") as caught:
        run_threshold_benchmark(params=200, bits=BITS, custodians=3, threshold=2, clients=2, workers=1)
    assert caught.value.index == 3


def test_a_threshold_result_that_differs_from_single_key_fails_loudly(monkeypatch):
    real = bench.threshold_decrypt_aggregate

    def off_by_one_ulp(*args, **kwargs):
        mean = real(*args, **kwargs).copy()
        mean[7] = np.nextafter(mean[7], np.inf)
        return mean

    monkeypatch.setattr(bench, "threshold_decrypt_aggregate", off_by_one_ulp)
    with pytest.raises(ThresholdBenchmarkMismatchError, match="at 1 of 200 values .first: value 7"):
        run_threshold_benchmark(params=200, bits=BITS, custodians=2, threshold=1, clients=1, workers=1)


def test_check_same_result_accepts_only_identical_vectors():
    values = np.linspace(-1, 1, 11)
    check_same_result(values, values.copy())
    with pytest.raises(ThresholdBenchmarkMismatchError, match="gave \\(11,\\) values"):
        check_same_result(values, values[:10])
    with pytest.raises(ThresholdBenchmarkMismatchError, match="at 2 of 11 values"):
        check_same_result(values, values + np.where(np.arange(11) % 5 == 1, 1e-12, 0.0))


@pytest.mark.parametrize("clients", [0, EncodingParams().max_clients + 1])
def test_clients_outside_the_encoding_are_refused_before_dealing(clients, monkeypatch):
    monkeypatch.setattr(bench, "deal", lambda *_: pytest.fail("dealt before checking the arguments"))
    with pytest.raises(InvalidParametersError, match="clients must be in 1..10"):
        run_threshold_benchmark(params=10, bits=BITS, clients=clients, workers=1)
