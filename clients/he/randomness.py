"""Precomputed Paillier randomness: move the costly ``r^n mod n^2`` offline.

A Paillier ciphertext is ``g^m * r^n mod n^2``; almost all of its cost is the
obfuscator ``r^n``, which does not depend on the message. An analyst can fill
a :class:`RandomnessPool` while it trains (before its update exists) and then
encrypt the update with one multiplication per ciphertext.

Security argument. Each obfuscator is ``r^n`` for a fresh uniform unit ``r``
drawn from the OS CSPRNG, exactly the value a fresh encryption would compute,
so its distribution is unchanged; it is generated before the update is known,
so it is independent of the message; semantic security (DCR) therefore holds
as for an online encryption. Two rules keep it so:

* Used once: :meth:`RandomnessPool.take` removes what it returns. Reusing an
  obfuscator for ``m1`` and ``m2`` would reveal ``g^(m1 - m2)`` and so
  ``m1 - m2`` to anyone holding both ciphertexts.
* Kept secret: whoever knows the obfuscator of a ciphertext computes
  ``g^m = c / r^n`` and so ``m``, without the private key. The pool therefore
  lives only in the analyst's process memory, is never serialized, logged or
  shared, and is bound to one public key.
"""

from __future__ import annotations

from collections import deque

from phe import paillier

from clients.he.errors import InvalidParametersError, KeyMismatchError
from clients.he.keys import key_fingerprint
from clients.he.parallel import fresh_obfuscators, run_chunked


class RandomnessPool:
    """Single-use obfuscators ``r^n mod n^2`` for one public key, in memory only."""

    def __init__(self, public_key: paillier.PaillierPublicKey) -> None:
        """Create an empty pool for ``public_key``."""
        self._n = public_key.n
        self._fingerprint = key_fingerprint(public_key)
        self._values: deque[int] = deque()

    @property
    def key_fingerprint(self) -> bytes:
        """Fingerprint of the key the obfuscators belong to."""
        return self._fingerprint

    def __len__(self) -> int:
        """Number of unused obfuscators."""
        return len(self._values)

    def __repr__(self) -> str:
        # Never print the secret values themselves.
        return f"RandomnessPool(key={self._fingerprint.hex()[:16]}…, available={len(self)})"

    def fill(self, count: int, workers: int | None = None) -> None:
        """Precompute ``count`` more obfuscators (the offline phase).

        Args:
            count: How many to add (one per ciphertext to be encrypted).
            workers: Worker processes; default one per core.

        Raises:
            InvalidParametersError: If ``count`` is negative.
        """
        if count < 0:
            raise InvalidParametersError(f"cannot add {count} obfuscators")
        self._values.extend(run_chunked(fresh_obfuscators, (self._n,), range(count), workers))

    def take(self, count: int, public_key: paillier.PaillierPublicKey) -> list[int]:
        """Remove and return up to ``count`` obfuscators (fewer if the pool runs low).

        Raises:
            KeyMismatchError: If the pool was filled for another key.
        """
        if key_fingerprint(public_key) != self._fingerprint:
            raise KeyMismatchError(
                f"randomness pool belongs to key {self._fingerprint.hex()[:16]}…, "
                f"encryption uses key {key_fingerprint(public_key).hex()[:16]}…: fill a pool for this key"
            )
        return [self._values.popleft() for _ in range(min(count, len(self._values)))]
