"""What every party of a federation shares: the chain, the store, and one verified fetch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from phe import paillier

from clients.he import public_key_from_bytes
from registry.chain import ArtifactInput, ModelRegistry, events
from registry.roles.errors import ChainMismatchError
from registry.roles.verified_cache import VerifiedContents
from registry.store import ArtifactStore, ArtifactTooLargeError, StoreError, StoredArtifact

DEFAULT_MAX_UPDATE_BYTES = 64 << 20
"""Largest encrypted update any party fetches (64 MiB; a 2048-bit update of 1M values is ~7.5 MB)."""

DEFAULT_MAX_ARTIFACT_BYTES = 1 << 30
"""Largest artifact of any kind a party fetches (1 GiB): a registered size is a submitter's claim, so a
record claiming more is refused before a byte is transferred rather than buffered."""


def as_input(stored: StoredArtifact) -> ArtifactInput:
    """The content address of stored bytes as the registry records it (CID, sha256, size)."""
    return ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size)


def fund_accounts(w3, faucet, addresses: list[str], wei: int) -> None:
    """Send ``wei`` from ``faucet`` (a funded ``LocalAccount``, e.g. a devnet's first development account) to
    each address, and wait for every transfer: new parties need gas for their own transactions."""
    nonce = w3.eth.get_transaction_count(faucet.address, "pending")
    hashes = []
    for offset, address in enumerate(addresses):
        tx = {"to": address, "value": wei, "gas": 21_000, "nonce": nonce + offset, "chainId": w3.eth.chain_id,
              "gasPrice": w3.eth.gas_price}
        hashes.append(w3.eth.send_raw_transaction(faucet.sign_transaction(tx).raw_transaction))
    for tx_hash in hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)


@dataclass(frozen=True)
class EpochKeys:
    """A Paillier key epoch as every party reads it from the chain.

    Attributes:
        epoch: The epoch number.
        public_key: The epoch's public key, fetched and verified against the chain.
        public_key_artifact: Its artifact id.
        encoding_digest: The encoding parameters' digest every update header of the epoch must carry.
    """

    epoch: int
    public_key: paillier.PaillierPublicKey
    public_key_artifact: int
    encoding_digest: bytes


@dataclass(frozen=True)
class FederationContext:
    """One federation as seen by one party: the registry (acting as that party), the store and where to read.

    Attributes:
        registry: The registry, acting as the party's account.
        store: The verified IPFS store.
        federation_id: The federation.
        from_block: First block to read events from (the registry's deployment block).
        verified: Verified contents to answer :meth:`fetch_verified` from and record into (a long-lived
            reader's, see :mod:`registry.roles.verified_cache`); ``None`` fetches and checks every time.
    """

    registry: ModelRegistry
    store: ArtifactStore
    federation_id: int
    from_block: int = 0
    verified: VerifiedContents | None = field(default=None, compare=False)

    def fetch_verified(self, record: events.ArtifactRegistered, max_size: int = DEFAULT_MAX_ARTIFACT_BYTES) -> bytes:
        """The artifact's bytes, checked against the chain: event digest vs contract storage, then CID, sha256
        and registered size while streaming (a larger or endless artifact is cut off, never buffered). With
        :attr:`verified`, bytes that verified before under the same record are answered from memory.

        Raises:
            ArtifactTooLargeError: If the registered size exceeds ``max_size`` (nothing is fetched).
            ChainMismatchError: If the event does not match the digest in contract storage.
            IntegrityError: If the bytes do not match the CID, sha256 or size (a ``StoreError``).
            ArtifactNotFoundError, StoreUnavailableError: If the IPFS node lacks the content or is down.
        """
        if record.size > max_size:
            raise ArtifactTooLargeError(record.cid, max_size)
        if self.verified is None:
            return self._fetch_checked(record)
        # The event digest is in the key: a node answering another record for the same id misses.
        key = (self.registry.address, record.artifact_id, record.digest())
        kept = self.verified.get(key)
        if kept is not None:
            return kept
        try:
            data = self._fetch_checked(record)
        except (ChainMismatchError, StoreError):
            self.verified.evict(key)
            raise
        self.verified.put(key, data)
        return data

    def _fetch_checked(self, record: events.ArtifactRegistered) -> bytes:
        """The artifact's bytes, its event checked against contract storage and its bytes against the event."""
        if not self.registry.verify_artifact(record):
            raise ChainMismatchError(
                f"artifact #{record.artifact_id} ({record.kind.name}, CID {record.cid}) does not match the digest "
                f"in contract storage at {self.registry.address}; do not use it, and check the RPC node"
            )
        return self.store.get_bytes(record.cid, expected_sha256=record.sha256.hex(), expected_size=record.size)

    def epoch_keys(self, epoch: int) -> EpochKeys:
        """The public key and encoding digest of key ``epoch``, verified against the chain."""
        stored = self.registry.key_epoch(self.federation_id, epoch)
        record = self.registry.artifact(stored.public_key_artifact, from_block=self.from_block)
        public_key = public_key_from_bytes(self.fetch_verified(record))
        return EpochKeys(epoch, public_key, stored.public_key_artifact, stored.encoding_digest)

    def round_updates(self, round_: int) -> list[events.UpdateSubmitted]:
        """The updates the chain recorded for ``round_``, in artifact-id order."""
        return self.registry.round_updates(self.federation_id, round_, from_block=self.from_block)

    def registered_samples(self, dataset_ids: Sequence[int]) -> int:
        """The samples the data owners registered for ``dataset_ids`` (an update's parents), summed."""
        return sum(self.registry.dataset(i).sample_count for i in dataset_ids)

    def as_account(self, registry: ModelRegistry) -> FederationContext:
        """The same federation seen through another party's registry wrapper."""
        return FederationContext(registry, self.store, self.federation_id, self.from_block, self.verified)

    def refetching(self) -> FederationContext:
        """The same context fetching and checking every artifact anew (an explicit verify), still recording what
        it finds in its verified contents, if any."""
        return replace(self, verified=self.verified.refreshing()) if self.verified is not None else self
