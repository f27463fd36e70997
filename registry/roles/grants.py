"""Sealed key grants: a secret sealed (HPKE, RFC 9180) for the grantee's registered encryption key, the
sealed blob on IPFS, the grant (grantee, blob sha256) on chain.

A grantor never trusts a key it is handed: it reads the grantee's key from the chain's
``EncryptionKeyRegistered`` event and checks it against the digest in contract storage. The seal's ``info``
binds the federation, key kind, grantee and key epoch (:func:`registry.keystore.grant_info`), so a blob
sealed for one grant does not open as another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from registry.chain import ZERO_ADDRESS, HpkeSuite, KeyKind, ModelRegistry, Tx, events
from registry.keystore import Keystore, grant_info, seal_for
from registry.roles.context import FederationContext
from registry.roles.errors import RoleError
from registry.store import StoredArtifact

SUITES = {"x25519": HpkeSuite.DHKEM_X25519, "mlkem768-x25519": HpkeSuite.MLKEM768_X25519}
"""Keystore suite name -> on-chain suite."""

MAX_SEALED_GRANT_BYTES = 64 << 10
"""Largest sealed grant blob fetched (a grant records its hash, not its size)."""


class GrantError(RoleError):
    """A grant cannot be made or opened: no registered key, no live grant, or a blob that does not match."""


@dataclass(frozen=True)
class GrantResult:
    """A sealed grant as recorded: where the blob is, its hash, and the grant transaction (whose value says
    whether the chain recorded a change)."""

    kind: KeyKind
    grantee: str
    cid: str
    sha256: str
    transaction: Tx[bool]


def publish_encryption_key(registry: ModelRegistry, keystore: Keystore) -> Tx[events.EncryptionKeyRegistered]:
    """Register the keystore's HPKE public key on chain (``registry`` acts as the keystore's account).

    Raises:
        GrantError: If ``registry`` acts as another account than the keystore's.
    """
    if registry.account.lower() != keystore.address.lower():
        raise GrantError(f"keystore {keystore.address} cannot register its key through account {registry.account}")
    return registry.register_encryption_key(SUITES[keystore.suite], keystore.hpke_public_key_bytes)


def registered_encryption_key(registry: ModelRegistry, account: str, from_block: int = 0) -> tuple[str, bytes]:
    """The suite name and public key ``account`` registered, checked against contract storage.

    Raises:
        GrantError: If the account registered none, or the event does not match storage.
    """
    stored = registry.encryption_key(account)
    if not stored.registered_at:
        raise GrantError(f"account {account} has registered no encryption key; it must run `flep keys init` first")
    found = registry.events(events.EncryptionKeyRegistered, from_block, account=account)
    matching = [e for e in found if hashlib.sha256(e.public_key).digest() == stored.public_key_sha256]
    if not matching or matching[-1].suite != stored.suite:
        raise GrantError(
            f"the encryption key events of {account} do not match the key in contract storage at "
            f"{registry.address}; check the RPC node"
        )
    names = {v: k for k, v in SUITES.items()}
    return names[stored.suite], matching[-1].public_key


def seal_grant(context: FederationContext, kind: KeyKind, grantee: str, secret: bytes,
               epoch: int = 0) -> StoredArtifact:
    """Seal ``secret`` for ``grantee``'s registered key and put the blob on IPFS (the grant is not recorded:
    :func:`grant_sealed` does both, a hand-over leaves the recording to the admin).

    Raises:
        GrantError: If the grantee registered no encryption key.
    """
    suite, public_key = registered_encryption_key(context.registry, grantee, context.from_block)
    info = grant_info(context.federation_id, kind.name.lower(), grantee, epoch)
    return context.store.put_bytes(seal_for(public_key, suite, secret, info))


def grant_sealed(context: FederationContext, kind: KeyKind, grantee: str, secret: bytes,
                 epoch: int = 0) -> GrantResult:
    """Seal ``secret`` for ``grantee``'s registered key, put the blob on IPFS and grant it on chain.

    ``epoch`` is the key epoch the secret belongs to (the chain records the current one for epoch keys).

    Raises:
        GrantError: If the grantee registered no encryption key.
        ChainError: If the chain refuses the grant (caller not allowed, grant revoked, ...).
    """
    stored = seal_grant(context, kind, grantee, secret, epoch)
    granted = context.registry.grant_key(context.federation_id, kind, grantee, stored.cid, bytes.fromhex(stored.sha256))
    return GrantResult(kind, grantee, stored.cid, stored.sha256, granted)


def open_grant(context: FederationContext, keystore: Keystore, kind: KeyKind, key_owner: str = ZERO_ADDRESS,
               epoch: int | None = None) -> bytes:
    """The secret of the keystore's live grant of ``kind`` (owned by ``key_owner``), fetched and opened.

    With ``epoch``, the key of that key epoch (granted earlier and still sealed for this keystore), e.g. to read
    the last model of the previous epoch; the grant itself must still be live.

    Raises:
        GrantError: If there is no live grant, or its blob cannot be found among the grant events.
        StoreError: If the blob cannot be fetched or does not match its recorded hash.
        SealedBlobError: If the blob was not sealed for this keystore and this grant (a ``KeystoreError``).
    """
    registry, fid = context.registry, context.federation_id
    grant = registry.key_grant(fid, kind, keystore.address, key_owner)
    if not grant.active:
        state = "was revoked" if grant.revoked_at else "does not exist"
        raise GrantError(f"the {kind.name.lower()} grant to {keystore.address} in federation {fid} {state}")
    granted = registry.events(events.KeyGranted, context.from_block, federation_id=fid, account=keystore.address,
                              key_owner=key_owner)
    if epoch is None or epoch == grant.key_epoch:
        epoch = grant.key_epoch
        matching = [g for g in granted if g.kind == kind and g.wrapped_key_sha256 == grant.wrapped_key_sha256]
    else:
        matching = [g for g in granted if g.kind == kind and g.key_epoch == epoch]
    if not matching:
        raise GrantError(f"no KeyGranted event holds the epoch-{epoch} {kind.name.lower()} of {keystore.address}")
    event = matching[-1]
    blob = context.store.get_bytes(event.wrapped_key_cid, expected_sha256=event.wrapped_key_sha256.hex(),
                                   max_size=MAX_SEALED_GRANT_BYTES)
    return keystore.open_sealed(blob, grant_info(fid, kind.name.lower(), keystore.address, epoch))
