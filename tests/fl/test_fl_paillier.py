"""The simulation takes any Aggregator: packed-Paillier FedAvg gives the plaintext FedAvg model."""

from __future__ import annotations

import numpy as np

from clients.aggregation import PlaintextFedAvg
from clients.fl import LabelledData, SimulationConfig, TrainConfig, run_federated
from clients.he import EncodingParams, PaillierFedAvg, generate_keypair


def test_paillier_aggregation_matches_plaintext(digits_split: tuple[LabelledData, LabelledData]) -> None:
    train, test = digits_split
    config = SimulationConfig(model="logistic", num_clients=2, rounds=1, train=TrainConfig(local_epochs=1))
    params = EncodingParams(clip_bound=4.0, value_bits=16, max_clients=2, max_weight=1024)
    paillier = PaillierFedAvg(generate_keypair(1024), params, workers=1)
    encrypted = run_federated(train, test, config, aggregator=paillier)
    plain = run_federated(train, test, config, aggregator=PlaintextFedAvg())
    assert paillier.last_round is not None and len(paillier.last_round.update_digests) == 2
    # Fixed-point encoding costs at most one quantization step per value.
    np.testing.assert_allclose(encrypted.parameters, plain.parameters, atol=2.0 / params.scale)
    assert abs(encrypted.final.accuracy - plain.final.accuracy) <= 0.01
    assert encrypted.final.accuracy > 0.7
