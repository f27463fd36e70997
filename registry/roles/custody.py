"""Hand-over of a key epoch's custody to a new key holder, without the key ever leaving a keystore in clear.

1. The epoch's key holder (:func:`hand_over`) seals the Paillier private key for the successor's registered
   encryption key and puts the blob on IPFS; it also grants the successor the epoch's model key, sealed, so
   models the successor finalizes open for the members already holding it.
2. The admin (:func:`record_hand_over`) records the Paillier grant (successor, blob hash) on chain, after checking
   that the blob is on IPFS under that hash: from then on the chain names the successor a key holder.
3. The successor (:func:`take_custody`, run by its agent) opens both grants, checks the private key against the
   epoch's public key on chain, and keeps both in its own keystore.

A hand-over shares the key; it does not take it from the predecessor, which still knows it. To remove a key
holder, revoke its grant: that retires the epoch, and the next epoch starts under a new key pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.he import private_key_from_bytes
from registry.chain import KeyKind, Tx, events
from registry.keystore import Keystore
from registry.roles.context import FederationContext
from registry.roles.errors import RoleError
from registry.roles.grants import MAX_SEALED_GRANT_BYTES, GrantResult, grant_sealed, open_grant, seal_grant
from registry.roles.key_epochs import model_key_secret, paillier_secret
from registry.store import StoredArtifact


class CustodyError(RoleError):
    """A custody hand-over cannot be made, recorded or taken."""


@dataclass(frozen=True)
class HandOver:
    """A hand-over's first step: the sealed Paillier key (for the admin to record) and the model-key grant
    (``None`` when the epoch has no model key yet: the successor makes it)."""

    epoch: int
    successor: str
    sealed_key: StoredArtifact
    model_key_grant: GrantResult | None


def hand_over(holder: FederationContext, keystore: Keystore, successor: str) -> HandOver:
    """Seal the current epoch's Paillier key for ``successor`` and grant it the epoch's model key.

    Raises:
        CustodyError: If ``keystore`` is not a key holder of the current epoch, or does not hold its key.
        GrantError: If the successor registered no encryption key.
    """
    registry, fid = holder.registry, holder.federation_id
    epoch = registry.federation(fid).key_epoch
    if not registry.is_key_holder(fid, keystore.address):
        raise CustodyError(f"{keystore.address} is not a key holder of federation {fid}'s epoch {epoch}: only the "
                           "current key holder can hand its key over")
    if not keystore.has_secret(paillier_secret(epoch)):
        raise CustodyError(f"keystore {keystore.directory} holds no Paillier key of epoch {epoch}")
    sealed = seal_grant(holder, KeyKind.PAILLIER_PRIVATE_KEY, successor, keystore.get_secret(paillier_secret(epoch)),
                        epoch)
    model_key = None
    if keystore.has_secret(model_key_secret(epoch)):
        model_key = grant_sealed(holder, KeyKind.MODEL_KEY, successor, keystore.get_secret(model_key_secret(epoch)),
                                 epoch)
    return HandOver(epoch, successor, sealed, model_key)


def record_hand_over(admin: FederationContext, successor: str, sealed_cid: str, sealed_sha256: str) -> Tx[bool]:
    """Record the sealed Paillier key at ``sealed_cid`` as ``successor``'s grant of the current epoch.

    Raises:
        StoreError: If the blob is not on IPFS under that CID and hash (nothing is recorded).
        ChainError: If the caller is not the admin, or the successor's grant was revoked before.
    """
    admin.store.get_bytes(sealed_cid, expected_sha256=sealed_sha256, max_size=MAX_SEALED_GRANT_BYTES)
    return admin.registry.grant_key(admin.federation_id, KeyKind.PAILLIER_PRIVATE_KEY, successor, sealed_cid,
                                    bytes.fromhex(sealed_sha256))


def take_custody(successor: FederationContext, keystore: Keystore) -> int | None:
    """Open the current epoch's Paillier key (and model key) granted to ``keystore`` and keep them in it;
    returns the epoch, or ``None`` when the keystore already holds its Paillier key.

    Raises:
        CustodyError: If the keystore holds no live Paillier grant of the current epoch, or the key it was
            granted is not the one whose public key the chain registered for the epoch.
        GrantError, SealedBlobError, StoreError: If a grant's blob cannot be fetched or opened.
    """
    registry, fid, me = successor.registry, successor.federation_id, keystore.address
    epoch = registry.federation(fid).key_epoch
    if keystore.has_secret(paillier_secret(epoch)):
        return None
    grant = registry.key_grant(fid, KeyKind.PAILLIER_PRIVATE_KEY, me)
    if not grant.active or grant.key_epoch != epoch:
        raise CustodyError(f"{me} holds no live Paillier key grant of federation {fid}'s epoch {epoch}")
    secret = open_grant(successor, keystore, KeyKind.PAILLIER_PRIVATE_KEY, epoch=epoch)
    if private_key_from_bytes(secret).public_key.n != successor.epoch_keys(epoch).public_key.n:
        raise CustodyError(f"the Paillier key granted to {me} is not epoch {epoch}'s: its public key differs from "
                           "the one registered on chain; ask the key holder for a new hand-over")
    model_grant = registry.key_grant(fid, KeyKind.MODEL_KEY, me)
    if model_grant.active and model_grant.key_epoch == epoch:
        keystore.put_secret(model_key_secret(epoch), open_grant(successor, keystore, KeyKind.MODEL_KEY, epoch=epoch))
    keystore.put_secret(paillier_secret(epoch), secret)
    return epoch


def model_key_made_by_another(holder: FederationContext, keystore: Keystore, epoch: int) -> str | None:
    """The key holder that already granted a model key of ``epoch`` to someone when it was not ``keystore``:
    making a second model key then would leave members unable to read this holder's models."""
    grants = holder.registry.events(events.KeyGranted, holder.from_block, federation_id=holder.federation_id)
    others = [g.grantor for g in grants
              if g.kind == KeyKind.MODEL_KEY and g.key_epoch == epoch and g.grantor.lower() != keystore.address.lower()]
    return others[0] if others else None
