"""Packed-Paillier FedAvg behind the shared :class:`clients.aggregation.Aggregator` interface.

For simulations and tests it plays all three roles in one process, through
the same bytes the real parties exchange: each client's update is encrypted
(analyst) and serialized, the serialized updates are summed without the key
(aggregator), and the aggregate is decrypted (key holder).

Every update is bound to the round (:mod:`clients.he.context`): federation
and key epoch fixed per aggregator, the round the caller passes, and as
submitter a simulated address derived from the client id
(:func:`simulated_address`), since simulated clients have no chain account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from clients.aggregation import AggregationFailure, ClientUpdate, validate_updates
from clients.he.context import RoundContext, UpdateContext, check_aggregate_context, encoding_digest
from clients.he.decryption import decrypt_aggregate
from clients.he.encoding import EncodingParams
from clients.he.encryption import encrypt_update
from clients.he.errors import HEError
from clients.he.homomorphic_sum import aggregate_update_bytes
from clients.he.keys import KeyPair
from clients.he.serialization import EncryptedAggregate, digest


def simulated_address(client_id: str) -> str:
    """A stable stand-in chain address for a simulated client: ``0x`` + sha256(tag | client id)[:20]."""
    return "0x" + hashlib.sha256(b"FLEP-simulated-client\0" + client_id.encode("utf-8")).digest()[:20].hex()


@dataclass
class RoundRecord:
    """What the last round produced, for logs and verification.

    Attributes:
        server_round: The round number.
        update_digests: sha256 of each accepted client's encrypted update, by client id.
        aggregate_digest: sha256 of the encrypted aggregate bytes.
        upload_bytes: Size of each encrypted update, by client id.
        clipped_values: Values clipped to ``[-B, B]``, by client id.
    """

    server_round: int
    update_digests: dict[str, bytes] = field(default_factory=dict)
    aggregate_digest: bytes = b""
    upload_bytes: dict[str, int] = field(default_factory=dict)
    clipped_values: dict[str, int] = field(default_factory=dict)


class PaillierFedAvg:
    """FedAvg whose client updates are only ever summed encrypted."""

    def __init__(self, keys: KeyPair, params: EncodingParams, workers: int | None = None,
                 federation_id: int = 1, key_epoch: int = 1) -> None:
        """Create the aggregator.

        Args:
            keys: The federation key pair (the private key plays the key holder).
            params: Encoding parameters; ``max_weight`` must cover every
                client's sample count and ``max_clients`` the round size.
            workers: Worker processes for encryption/decryption; default one per core.
            federation_id: Federation recorded in every update and aggregate.
            key_epoch: Key epoch recorded in every update and aggregate.

        Raises:
            InvalidParametersError: If ``federation_id`` or ``key_epoch`` is out of range.
        """
        RoundContext(federation_id, 1, key_epoch)  # refuse bad ids now, not at the first round
        self._keys = keys
        self._params = params
        self._workers = workers
        self._federation_id = federation_id
        self._key_epoch = key_epoch
        self.last_round: RoundRecord | None = None

    def aggregate_fit(
        self, server_round: int, results: Sequence[ClientUpdate]
    ) -> tuple[np.ndarray | None, list[AggregationFailure]]:
        """Encrypt, sum without the key, decrypt; see :meth:`Aggregator.aggregate_fit`.

        Updates with NaN/Inf, a wrong length, a sample count beyond
        ``params.max_weight`` or a client id seen before in the round are
        refused individually. A round with more valid updates than
        ``params.max_clients`` cannot be summed without overflow: nothing is
        aggregated and every update is listed as failed.

        Raises:
            InvalidParametersError: If ``server_round`` is below 1.
        """
        context = RoundContext(self._federation_id, server_round, self._key_epoch)
        accepted, failures = validate_updates(results)
        usable: list[ClientUpdate] = []
        for update in accepted:
            reason = self._refusal(update, usable)
            if reason:
                failures.append(AggregationFailure(update.client_id, reason))
            else:
                usable.append(update)
        if len(usable) > self._params.max_clients:
            reason = (f"round {server_round} has {len(usable)} valid updates, the slot headroom allows "
                      f"{self._params.max_clients}; raise max_clients")
            return None, failures + [AggregationFailure(u.client_id, reason) for u in usable]
        if not usable:
            return None, failures
        record = RoundRecord(server_round)
        public_key = self._keys.public_key
        blobs = []
        for update in usable:
            params = np.asarray(update.parameters, dtype=np.float64)
            record.clipped_values[update.client_id] = int(np.count_nonzero(np.abs(params) > self._params.clip_bound))
            try:
                encrypted = encrypt_update(public_key, params, update.num_examples, self._params,
                                           UpdateContext.for_round(context, simulated_address(update.client_id)),
                                           workers=self._workers)
            except HEError as exc:
                failures.append(AggregationFailure(update.client_id, str(exc)))
                continue
            blob = encrypted.to_bytes(public_key)
            record.update_digests[update.client_id] = digest(blob)
            record.upload_bytes[update.client_id] = len(blob)
            blobs.append(blob)
        if not blobs:
            return None, failures
        aggregate_bytes = aggregate_update_bytes(blobs, public_key)
        record.aggregate_digest = digest(aggregate_bytes)
        aggregate = EncryptedAggregate.from_bytes(aggregate_bytes, public_key)
        check_aggregate_context(aggregate, context, encoding_digest(self._params))
        mean = decrypt_aggregate(self._keys.private_key, aggregate, self._workers)
        self.last_round = record
        return mean.astype(np.asarray(usable[0].parameters).dtype), failures

    def _refusal(self, update: ClientUpdate, usable: list[ClientUpdate]) -> str | None:
        """Why ``update`` cannot join the round's usable updates, or None."""
        if update.num_examples > self._params.max_weight:
            return f"num_examples {update.num_examples} exceeds the encoding's max_weight {self._params.max_weight}"
        if any(other.client_id == update.client_id for other in usable):
            return f"client id {update.client_id!r} already has an update in this round; one update per client"
        return None
