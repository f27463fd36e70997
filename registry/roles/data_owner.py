"""The data owner: an image encrypted under a fresh codec key, on IPFS, registered with its sample count, and
the key granted sealed to each analyst it is meant for (and to nobody else)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clients.codec import CodecKey, encrypt
from registry.chain import KeyKind
from registry.roles.context import FederationContext, as_input
from registry.roles.grants import GrantResult, grant_sealed


@dataclass(frozen=True)
class PublishedDataset:
    """A registered dataset and the sealed grants of its codec key."""

    dataset_id: int
    cid: str
    sha256: str
    size: int
    grants: tuple[GrantResult, ...]


def publish_dataset(owner: FederationContext, image: np.ndarray, samples: int, grantees: list[str],
                    key: CodecKey | None = None) -> PublishedDataset:
    """Encrypt ``image`` under ``key`` (a fresh one by default), upload and register it with ``samples``, and
    grant the key sealed for each of ``grantees``' registered encryption keys.

    Raises:
        GrantError: If a grantee registered no encryption key (the dataset stays registered).
        ChainError: If the caller is not a data owner of the federation.
    """
    key = key or CodecKey.generate()
    stored = owner.store.put_bytes(encrypt(image, key))
    dataset = owner.registry.register_dataset(owner.federation_id, as_input(stored), samples).value
    grants = tuple(grant_sealed(owner, KeyKind.CODEC_KEY, grantee, key.to_bytes()) for grantee in grantees)
    return PublishedDataset(dataset, stored.cid, stored.sha256, stored.size, grants)
