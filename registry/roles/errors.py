"""Refusals of the round roles: what a party found that does not match the chain, and what to do."""

from __future__ import annotations

from registry.chain import events


class RoleError(Exception):
    """Base class of every refusal raised by a role."""


class ChainMismatchError(RoleError):
    """An artifact event does not match the digest in contract storage (a lying node or a forged record)."""


class TooFewUsableUpdatesError(RoleError):
    """The aggregator found fewer usable updates than the federation's minimum; nothing was posted."""


class RoundNotReadyError(RoleError):
    """The round is not in the state the call needs (e.g. no aggregate posted yet)."""


class RoundDisputedError(RoleError):
    """The key holder refused the round's aggregate and recorded why on chain; nothing was decrypted.

    Attributes:
        dispute: The ``AggregateDisputed`` event the key holder emitted.
    """

    def __init__(self, message: str, dispute: events.AggregateDisputed) -> None:
        self.dispute = dispute
        super().__init__(message)
