"""The federation admin: who is a member, when rounds open, and what a removal needs to take effect.

The admin holds no data key and no Paillier key: it grants and revokes roles, opens rounds with a deadline,
aborts a round that missed it, and (through :mod:`registry.roles.key_epochs`) starts key epochs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from web3.exceptions import Web3Exception

from registry.chain import CodecKeyPolicy, KeyKind, ModelRegistry, Role, RoundStatus, Tx, events
from registry.roles.context import FederationContext
from registry.store import ArtifactStore


def chain_now(registry: ModelRegistry) -> int:
    """The block time the next transaction will see, as far as a party can tell: the latest of the latest block's
    timestamp, the pending block's and the wall clock. An idle chain mines no block, so its latest timestamp
    stands still; the pending block carries the node's own clock, which a devnet may have moved ahead of the
    wall clock (``evm_setNextBlockTimestamp``)."""
    w3 = registry.w3
    try:
        pending = int(w3.eth.get_block("pending")["timestamp"])
    except (ValueError, KeyError, TypeError, Web3Exception):  # a node without a pending block
        pending = 0
    return max(int(w3.eth.get_block("latest")["timestamp"]), pending, int(time.time()))


def current_analysts(context: FederationContext) -> list[str]:
    """Accounts holding the analyst role now (granted and not revoked), sorted."""
    registry = context.registry
    granted = registry.events(events.FederationRoleGranted, context.from_block, federation_id=context.federation_id,
                              role=Role.ANALYST)
    return sorted(a for a in {g.account for g in granted} if registry.has_role(context.federation_id, Role.ANALYST, a))


@dataclass(frozen=True)
class Removal:
    """An analyst removed: its role revocation and, when it held one, its model-key revocation."""

    account: str
    role_revoked: Tx[bool]
    model_key_revoked: Tx[bool] | None

    @property
    def gas_used(self) -> int:
        """Gas of both transactions."""
        return self.role_revoked.gas_used + (self.model_key_revoked.gas_used if self.model_key_revoked else 0)


class Admin:
    """A federation's admin.

    Args:
        context: The federation, seen through the admin's account.
    """

    def __init__(self, context: FederationContext) -> None:
        self.context = context

    @classmethod
    def create_federation(cls, creator: ModelRegistry, store: ArtifactStore, admin: ModelRegistry,
                          min_participants: int, policy: CodecKeyPolicy = CodecKeyPolicy.PER_DATA_OWNER,
                          from_block: int = 0) -> tuple[Admin, Tx[int]]:
        """Create a federation (``creator`` holds the registry's federation-creator role) administered by
        ``admin``'s account; returns the admin and the creation transaction.

        Raises:
            ChainError: If ``creator`` may not create federations, or ``min_participants`` is 0.
        """
        created = creator.create_federation(admin.account, min_participants, policy)
        return cls(FederationContext(admin, store, created.value, from_block)), created

    @property
    def federation_id(self) -> int:
        """The federation."""
        return self.context.federation_id

    def admit(self, role: bytes, account: str) -> Tx[bool]:
        """Grant ``account`` a federation role (idempotent; a revoked analyst can be admitted again, but its
        revoked key grants stay revoked).

        Raises:
            ChainError: If the caller is not the admin.
        """
        return self.context.registry.grant_role(self.federation_id, role, account)

    def remove_analyst(self, account: str) -> Removal:
        """Revoke ``account``'s analyst role and its model-key grant: from the next round it submits nothing and
        gets no model key of a later epoch. Its codec-key grants belong to the data owners, who revoke them.

        What it read before stays read: only a new key epoch (:func:`~registry.roles.key_epochs.
        start_epoch_with_new_key`), whose model key goes to the remaining members only, keeps it out of later
        models.

        Raises:
            ChainError: If the caller is not the admin.
        """
        registry, fid = self.context.registry, self.federation_id
        role = registry.revoke_role(fid, Role.ANALYST, account)
        model_key = None
        if registry.key_grant(fid, KeyKind.MODEL_KEY, account).active:
            model_key = registry.revoke_key(fid, KeyKind.MODEL_KEY, account)
        return Removal(account, role, model_key)

    def open_round(self, seconds: int) -> Tx[int]:
        """Open the next round with a deadline ``seconds`` from now (block time); returns its number.

        Raises:
            ChainError: If the caller is not the admin, a round is live, or no key epoch is live.
        """
        registry = self.context.registry
        return registry.open_round(self.federation_id, chain_now(registry) + seconds)

    def abort_if_expired(self, round_: int, grace_seconds: int) -> Tx[None] | None:
        """Abort round ``round_`` when it is still open ``grace_seconds`` after its deadline (too few updates
        arrived for the aggregator to close it); ``None`` when there is nothing to abort.

        Raises:
            ChainError: If the caller is not the admin.
        """
        registry = self.context.registry
        stored = registry.round(self.federation_id, round_)
        if stored.status != RoundStatus.OPEN or chain_now(registry) <= stored.deadline + grace_seconds:
            return None
        minimum = registry.federation(self.federation_id).min_participants
        return registry.abort_round(self.federation_id, round_,
                                    f"deadline passed with {stored.update_count} of {minimum} required updates")
