"""PaillierFedAvg behind the shared Aggregator interface, against PlaintextFedAvg."""

import numpy as np
import pytest

from clients.aggregation import Aggregator, ClientUpdate, PlaintextFedAvg
from clients.he import EncodingParams, InvalidParametersError, PaillierFedAvg, UpdateContext, simulated_address


def _round(seed: int, clients: int, length: int = 200):
    rng = np.random.default_rng(seed)
    return [
        ClientUpdate(f"analyst-{i}", rng.normal(0, 0.2, length).astype(np.float32), int(rng.integers(10, 500)))
        for i in range(clients)
    ]


def test_matches_plaintext_fedavg_within_quantization_bound(keys, params):
    paillier: Aggregator = PaillierFedAvg(keys, params, workers=1)
    results = _round(3, 4)
    encrypted, failures = paillier.aggregate_fit(1, results)
    plain, _ = PlaintextFedAvg().aggregate_fit(1, results)
    assert failures == []
    assert encrypted.dtype == np.float32
    # float32 output rounding adds at most one ulp of |x| <= 1 on top of the quantization bound.
    assert np.abs(encrypted.astype(np.float64) - plain.astype(np.float64)).max() <= params.quantization_bound + 1e-7
    record = paillier.last_round
    assert set(record.update_digests) == {u.client_id for u in results}
    assert len(record.aggregate_digest) == 32


def test_refuses_non_finite_and_overweight_updates_individually(keys, params):
    results = _round(4, 3)
    bad = np.array(results[0].parameters)
    bad[5] = np.nan
    results[0] = ClientUpdate("nan-client", bad, 10)
    results[1] = ClientUpdate("heavy-client", results[1].parameters, params.max_weight + 1)
    mean, failures = PaillierFedAvg(keys, params, workers=1).aggregate_fit(2, results)
    assert {f.client_id for f in failures} == {"nan-client", "heavy-client"}
    assert any("max_weight" in f.reason for f in failures)
    np.testing.assert_allclose(mean, results[2].parameters, atol=params.quantization_bound + 1e-7)


def test_round_beyond_max_clients_aggregates_nothing(keys):
    params = EncodingParams(1.0, 16, 2, 1024)
    mean, failures = PaillierFedAvg(keys, params, workers=1).aggregate_fit(3, _round(5, 3, length=10))
    assert mean is None
    assert len(failures) == 3 and all("headroom allows 2" in f.reason for f in failures)


def test_updates_are_bound_to_the_round_and_a_stable_address_per_client(keys, params):
    assert simulated_address("analyst-0") == simulated_address("analyst-0") != simulated_address("analyst-1")
    assert UpdateContext(1, 1, 1, simulated_address("analyst-0")).submitter == simulated_address("analyst-0")
    aggregator = PaillierFedAvg(keys, params, workers=1, federation_id=7, key_epoch=3)
    results = _round(6, 2, length=20)
    mean, failures = aggregator.aggregate_fit(4, results)
    assert failures == [] and mean is not None
    with pytest.raises(InvalidParametersError, match="round"):
        aggregator.aggregate_fit(0, results)
    with pytest.raises(InvalidParametersError, match="federation_id"):
        PaillierFedAvg(keys, params, federation_id=0)


def test_second_update_of_a_client_is_refused_individually(keys, params):
    first, other = _round(7, 2, length=20)
    again = ClientUpdate(first.client_id, other.parameters, 5)
    mean, failures = PaillierFedAvg(keys, params, workers=1).aggregate_fit(1, [first, again])
    assert [f.client_id for f in failures] == [first.client_id] and "already has an update" in failures[0].reason
    np.testing.assert_allclose(mean, first.parameters, atol=params.quantization_bound + 1e-7)
