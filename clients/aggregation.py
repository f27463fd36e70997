"""The aggregator interface shared by federated training and the model tier.

Shaped like a Flower strategy's ``aggregate_fit``: client results go in, the
aggregate (or ``None``) and the list of refused results come out, so a caller
never has to guess why a round produced nothing. Federated learning code
(``clients.fl``) only depends on :class:`Aggregator`; the plaintext FedAvg here
and the packed-Paillier aggregator in ``clients.he`` both implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class ClientUpdate:
    """One client's contribution to a round.

    Attributes:
        client_id: Stable identifier of the client (analyst account, index, ...).
        parameters: The client's model as one flat float vector.
        num_examples: Number of local training samples (the FedAvg weight).
    """

    client_id: str
    parameters: np.ndarray
    num_examples: int


@dataclass(frozen=True)
class AggregationFailure:
    """A client result refused before aggregation, with the reason."""

    client_id: str
    reason: str


class Aggregator(Protocol):
    """Combines client updates into the next global parameter vector."""

    def aggregate_fit(
        self, server_round: int, results: Sequence[ClientUpdate]
    ) -> tuple[np.ndarray | None, list[AggregationFailure]]:
        """Aggregate one round.

        Args:
            server_round: 1-based round number (for messages and logs).
            results: The client updates of this round.

        Returns:
            The aggregated flat parameter vector, or ``None`` when no valid
            update remained, and the list of refused updates with reasons.
        """
        ...


def validate_updates(
    results: Sequence[ClientUpdate],
) -> tuple[list[ClientUpdate], list[AggregationFailure]]:
    """Split updates into usable ones and refused ones.

    An update is refused when it is not a 1-D finite float vector, when its
    length differs from the first valid update's, or when its sample count is
    not positive.

    Args:
        results: The client updates to check.

    Returns:
        The accepted updates and the failures, in input order.
    """
    accepted: list[ClientUpdate] = []
    failures: list[AggregationFailure] = []
    expected: int | None = None
    for update in results:
        params = np.asarray(update.parameters)
        if params.ndim != 1:
            reason = f"parameters must be a flat vector, got shape {params.shape}"
        elif not np.issubdtype(params.dtype, np.floating):
            reason = f"parameters must be floats, got dtype {params.dtype}"
        elif not np.all(np.isfinite(params)):
            bad = int(np.count_nonzero(~np.isfinite(params)))
            reason = f"update contains {bad} NaN/Inf values; refused before aggregation"
        elif update.num_examples <= 0:
            reason = f"num_examples must be positive, got {update.num_examples}"
        elif expected is not None and params.shape[0] != expected:
            reason = f"parameter vector has length {params.shape[0]}, expected {expected}"
        else:
            expected = params.shape[0] if expected is None else expected
            accepted.append(update)
            continue
        failures.append(AggregationFailure(update.client_id, reason))
    return accepted, failures


class PlaintextFedAvg:
    """FedAvg over clear-text updates, weighted by sample counts."""

    def aggregate_fit(
        self, server_round: int, results: Sequence[ClientUpdate]
    ) -> tuple[np.ndarray | None, list[AggregationFailure]]:
        """Weighted mean of the valid updates; see :meth:`Aggregator.aggregate_fit`."""
        accepted, failures = validate_updates(results)
        if not accepted:
            return None, failures
        weights = np.array([u.num_examples for u in accepted], dtype=np.float64)
        stacked = np.stack([np.asarray(u.parameters, dtype=np.float64) for u in accepted])
        aggregate = (weights[:, None] * stacked).sum(axis=0) / weights.sum()
        return aggregate.astype(np.asarray(accepted[0].parameters).dtype), failures
