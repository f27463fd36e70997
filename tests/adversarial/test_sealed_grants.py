"""Sealed key custody on the real devnet: grants open only for their grantee and purpose, and a revoked
analyst cannot read the models of rounds after its revocation."""

from __future__ import annotations

import io

import numpy as np
import pytest

from clients.he import encoding_digest, generate_keypair, public_key_to_bytes
from registry.chain import DpParameters, KeyKind, Role
from registry.keystore import Keystore, SealedBlobError, grant_info, seal_for
from registry.roles import (
    GrantError,
    ModelSealError,
    grant_sealed,
    new_model_key,
    open_grant,
    open_model,
    publish_encryption_key,
    seal_model,
)

PASSPHRASE = "sealed-grants-test"


@pytest.fixture()
def keystores(federation, tmp_path) -> dict[str, Keystore]:
    """A keystore for each analyst and the key holder (their own chain keys), encryption keys registered."""
    parties = {f"analyst-{i + 1}": a for i, a in enumerate(federation.analysts)}
    parties["key holder"] = federation.key_holder
    stores = {}
    for name, party in parties.items():
        stores[name] = Keystore.create(tmp_path / name.replace(" ", "-"), PASSPHRASE,
                                       private_key=party.sender.key, scrypt_n=2**10)
        publish_encryption_key(party, stores[name])
    return stores


def _finalize_sealed(federation, round_: int, model_key: bytes, epoch: int) -> bytes:
    """Review, decrypt and finalize the round with its model sealed under ``model_key``; returns the payload."""
    holder = federation.key_holder_role()
    _, mean = holder.decrypt_round(round_, workers=1)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(mean, dtype=np.float32), allow_pickle=False)
    payload = buffer.getvalue()
    sealed = federation.put(seal_model(model_key, payload, federation.federation_id, round_, epoch))
    metrics = federation.put(b'{"round": %d}' % round_)
    parent = federation.versions()
    holder.finalize(round_, sealed, metrics, DpParameters.none(), parent)
    return payload


def _read_model(federation, keystore: Keystore, party, version: int, epoch: int) -> bytes:
    context = federation.context(party)
    model_key = open_grant(context, keystore, KeyKind.MODEL_KEY)
    stored = party.model_version(federation.federation_id, version)
    blob = federation.blob(stored.global_model_artifact)
    return open_model(model_key, blob, federation.federation_id, stored.round, epoch)


def test_revoked_analyst_cannot_read_the_next_rounds_model(federation, keystores) -> None:
    fid, holder_ctx = federation.federation_id, federation.context(federation.key_holder)
    key1 = new_model_key()
    for a in federation.analysts:
        grant_sealed(holder_ctx, KeyKind.MODEL_KEY, a.account, key1, epoch=1)
    round1, _ = federation.honest_round(3)
    federation.aggregator_role().aggregate_round(round1)
    payload1 = _finalize_sealed(federation, round1, key1, epoch=1)
    for i, a in enumerate(federation.analysts):
        assert _read_model(federation, keystores[f"analyst-{i + 1}"], a, 1, 1) == payload1

    # Revoke analyst-3: its role and model key; rotate the key epoch; a new model key for the others only.
    revoked = federation.analysts[2]
    federation.admin.revoke_role(fid, Role.ANALYST, revoked.account)
    federation.admin.revoke_key(fid, KeyKind.MODEL_KEY, revoked.account)
    new_keys = generate_keypair(1024)
    public = federation.put(public_key_to_bytes(new_keys.public_key))
    federation.admin.start_key_epoch(fid, public, encoding_digest(federation.encoding))
    federation.admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, federation.key_holder.account, public.cid,
                               public.sha256)
    federation.keys, federation.epoch = new_keys, 2
    key2 = new_model_key()
    for a in federation.analysts[:2]:
        grant_sealed(holder_ctx, KeyKind.MODEL_KEY, a.account, key2, epoch=2)
    round2, _ = federation.honest_round(2)
    federation.aggregator_role().aggregate_round(round2)
    payload2 = _finalize_sealed(federation, round2, key2, epoch=2)

    for i, a in enumerate(federation.analysts[:2]):
        assert _read_model(federation, keystores[f"analyst-{i + 1}"], a, 2, 2) == payload2
    with pytest.raises(GrantError, match="was revoked"):
        _read_model(federation, keystores["analyst-3"], revoked, 2, 2)
    # Nor does the epoch-1 key it still remembers open round 2's model.
    stored = federation.admin.model_version(fid, 2)
    with pytest.raises(ModelSealError, match="does not open"):
        open_model(key1, federation.blob(stored.global_model_artifact), fid, stored.round, 2)


def test_a_grant_opens_only_for_its_grantee_and_purpose(federation, keystores) -> None:
    fid = federation.federation_id
    a1, a2 = federation.analysts[:2]
    secret = new_model_key()
    grant = grant_sealed(federation.context(federation.key_holder), KeyKind.MODEL_KEY, a1.account, secret, epoch=1)
    blob = federation.store.get_bytes(grant.cid, expected_sha256=grant.sha256)
    assert secret not in blob  # sealed, not in clear on IPFS
    assert keystores["analyst-1"].open_sealed(blob, grant_info(fid, "model_key", a1.account, 1)) == secret
    with pytest.raises(SealedBlobError):  # another analyst cannot open it
        keystores["analyst-2"].open_sealed(blob, grant_info(fid, "model_key", a2.account, 1))
    for info in (grant_info(fid, "codec_key", a1.account, 1), grant_info(fid + 1, "model_key", a1.account, 1),
                 grant_info(fid, "model_key", a1.account, 2)):
        with pytest.raises(SealedBlobError):  # nor does it open as another grant of the same grantee
            keystores["analyst-1"].open_sealed(blob, info)
    # A key holder re-recording analyst-1's blob as analyst-2's grant gives analyst-2 nothing it can open.
    federation.key_holder.grant_key(fid, KeyKind.MODEL_KEY, a2.account, grant.cid, bytes.fromhex(grant.sha256))
    with pytest.raises(SealedBlobError):
        open_grant(federation.context(a2), keystores["analyst-2"], KeyKind.MODEL_KEY)


def test_grant_to_an_account_without_an_encryption_key_is_refused(federation, keystores) -> None:
    stranger = federation.stranger
    with pytest.raises(GrantError, match="registered no encryption key"):
        grant_sealed(federation.context(federation.key_holder), KeyKind.MODEL_KEY, stranger.account,
                     new_model_key(), epoch=1)
    assert not federation.admin.key_grant(federation.federation_id, KeyKind.MODEL_KEY, stranger.account).granted_at


def test_blob_sealed_for_an_unregistered_key_does_not_open(federation, keystores) -> None:
    impostor = Keystore.create(keystores["analyst-1"].directory.parent / "impostor", PASSPHRASE, scrypt_n=2**10)
    a1 = federation.analysts[0]
    info = grant_info(federation.federation_id, "model_key", a1.account, 1)
    # A grantor that seals for a key it was handed (not the one registered on chain) leaves the grantee unable
    # to open it: only the registered key's holder can.
    blob = seal_for(impostor.hpke_public_key_bytes, impostor.suite, b"model key", info)
    with pytest.raises(SealedBlobError):
        keystores["analyst-1"].open_sealed(blob, info)
