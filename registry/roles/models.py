"""Global models encrypted under the federation's model key (AES-256-GCM) before they go to IPFS.

The associated data binds the federation, round and key epoch, so a model blob cannot be passed off as
another round's. Only members granted the epoch's model key can read a model; the registry records only
the ciphertext's hash.
"""

from __future__ import annotations

import io
import os
from typing import Callable

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.roles.context import FederationContext
from registry.roles.errors import RoleError

MODEL_KEY_BYTES = 32
_MAGIC = b"FLGM\x01"
_NONCE = 12


class ModelSealError(RoleError):
    """A sealed model does not open: wrong model key, another round's blob, or tampered bytes."""


def new_model_key() -> bytes:
    """A fresh 256-bit model key (kept in the key holder's keystore, granted sealed to members)."""
    return AESGCM.generate_key(bit_length=8 * MODEL_KEY_BYTES)


def _aad(federation_id: int, round_: int, epoch: int) -> bytes:
    return f"FLEP-model-v1|federation={federation_id}|round={round_}|epoch={epoch}".encode()


def seal_under_model_key(key: bytes, magic: bytes, payload: bytes, aad: bytes) -> bytes:
    """``magic | nonce | AES-256-GCM(payload)`` with associated data ``aad`` (models and partial decryptions)."""
    nonce = os.urandom(_NONCE)
    return magic + nonce + AESGCM(key).encrypt(nonce, payload, aad)


def open_under_model_key(key: bytes, magic: bytes, blob: bytes, aad: bytes) -> bytes | None:
    """The payload of a blob of :func:`seal_under_model_key`, or ``None`` if it does not open under ``key`` with
    ``aad`` (another key, other associated data, tampered bytes).

    Raises:
        ValueError: If the blob does not start with ``magic`` or is too short to hold a nonce and a tag.
    """
    if not blob.startswith(magic) or len(blob) < len(magic) + _NONCE + 16:
        raise ValueError("wrong magic or truncated")
    nonce = blob[len(magic):len(magic) + _NONCE]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(magic) + _NONCE:], aad)
    except InvalidTag:
        return None


def seal_model(key: bytes, payload: bytes, federation_id: int, round_: int, epoch: int) -> bytes:
    """``FLGM 1 | nonce | AES-256-GCM(payload)`` bound to (federation, round, epoch)."""
    return seal_under_model_key(key, _MAGIC, payload, _aad(federation_id, round_, epoch))


def open_model(key: bytes, blob: bytes, federation_id: int, round_: int, epoch: int) -> bytes:
    """The payload of a sealed model.

    Raises:
        ModelSealError: If the blob is not a sealed model, or does not open under ``key`` for that round.
    """
    try:
        payload = open_under_model_key(key, _MAGIC, blob, _aad(federation_id, round_, epoch))
    except ValueError:
        raise ModelSealError("not a sealed global model (magic FLGM v1); fetch the registered artifact again") from None
    if payload is None:
        raise ModelSealError(
            f"the global model of round {round_} (federation {federation_id}, key epoch {epoch}) does not open "
            "under this model key: the key is another epoch's, the blob another round's, or it was tampered"
        )
    return payload


def model_params(context: FederationContext, version: int, model_key_for: Callable[[int], bytes]) -> np.ndarray:
    """The flat parameters of model ``version``, fetched, verified and opened with its epoch's model key
    (``model_key_for(epoch)``).

    Raises:
        ModelSealError: If the key does not open the model.
        StoreError: If the sealed model cannot be fetched or fails verification.
    """
    registry, fid = context.registry, context.federation_id
    stored = registry.model_version(fid, version)
    epoch = registry.round(fid, stored.round).key_epoch
    record = registry.artifact(stored.global_model_artifact, from_block=context.from_block)
    payload = open_model(model_key_for(epoch), context.fetch_verified(record), fid, stored.round, epoch)
    return np.load(io.BytesIO(payload), allow_pickle=False).astype(np.float64)
