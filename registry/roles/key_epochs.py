"""A new Paillier key epoch: the key holder makes the key pair and keeps the private key in its keystore; the
admin registers the public key with the encoding digest and grants the key holder the epoch's key.

The grant points at a custody record (no secret inside): the key holder generated the key, so there is
nothing to hand over. A later successor gets the key sealed (:mod:`registry.roles.custody`).
"""

from __future__ import annotations

import json

from clients.he import EncodingParams, encoding_digest, generate_keypair, private_key_to_bytes, public_key_to_bytes
from registry.chain import KeyKind
from registry.keystore import Keystore
from registry.roles.context import FederationContext, as_input


def paillier_secret(epoch: int) -> str:
    """Name of epoch ``epoch``'s Paillier private key in a key holder's keystore."""
    return f"paillier-epoch-{epoch}"


def model_key_secret(epoch: int) -> str:
    """Name of epoch ``epoch``'s model key in a key holder's keystore."""
    return f"model-key-epoch-{epoch}"


def start_epoch_with_new_key(admin: FederationContext, key_holder: Keystore, encoding: EncodingParams,
                             paillier_bits: int) -> int:
    """Start the federation's next key epoch under a key pair the key holder makes; returns the epoch.

    The private key goes to ``key_holder`` as the secret :func:`paillier_secret` before the epoch starts (a
    running key holder agent reads its secrets from disk, so it sees the key at once).

    Raises:
        ChainError: If the caller is not the admin, or a round is live.
    """
    registry, store, fid = admin.registry, admin.store, admin.federation_id
    epoch = registry.federation(fid).key_epoch + 1
    keys = generate_keypair(paillier_bits)
    key_holder.put_secret(paillier_secret(epoch), private_key_to_bytes(keys.private_key))
    public = store.put_bytes(public_key_to_bytes(keys.public_key))
    registry.start_key_epoch(fid, as_input(public), encoding_digest(encoding))
    custody = store.put_bytes(json.dumps({"kind": "paillier-private-key-custody", "federation_id": fid,
                                          "epoch": epoch, "key_holder": key_holder.address, "wrapped_key": None},
                                         sort_keys=True).encode())
    registry.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, key_holder.address, custody.cid,
                       bytes.fromhex(custody.sha256))
    return epoch
