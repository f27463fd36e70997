"""Verified artifact storage on any Kubo-compatible IPFS node.

Every read is checked locally: the CID is recomputed from the received bytes
(Kubo's default layout, :mod:`registry.cid`) and, when the caller knows them from
the chain, the sha256 and the size are compared too. A node that serves wrong
bytes is caught here, never trusted. Large artifacts stream in both directions,
and a read stops as soon as more bytes arrive than the registered size (or the
caller's limit) allows, so a huge or endless stream is never buffered.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generator, Iterator

import ipfshttpclient
import requests
import ipfshttpclient.exceptions as ipfs_errors

from registry.cid import CidBuilder, CidOptions, cid_options_for, iter_chunks
from registry.config import to_http_url, to_multiaddr

_READ_PIECE = 1 << 20

# ipfshttpclient 0.7 passes urllib3 2 a deprecated argument on every request; the
# warning is harmless and not ours to fix, so it is silenced here, where the client is used.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


class StoreError(Exception):
    """Base class of artifact store failures."""


class StoreUnavailableError(StoreError):
    """The IPFS node cannot be reached."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(
            f"IPFS node at {url} is not reachable ({detail}). Start the devnet with "
            "`flep devnet up`, or point FLEP_IPFS_API at a running Kubo-compatible node."
        )


class ArtifactNotFoundError(StoreError):
    """The node does not have the requested content."""

    def __init__(self, cid: str, detail: str) -> None:
        self.cid = cid
        super().__init__(
            f"artifact {cid} is not available on the IPFS node ({detail}); check the CID, "
            "or add the artifact to this node first"
        )


class IntegrityError(StoreError):
    """Received content does not match what was expected; nothing was written."""

    def __init__(self, cid: str, what: str, expected: str, actual: str) -> None:
        self.cid = cid
        self.what = what
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"integrity check failed for artifact {cid}: {what} expected {expected}, got {actual}. "
            "The content was rejected; do not use it, and report the node or artifact as tampered."
        )


class SizeMismatchError(IntegrityError):
    """The node streamed more, or fewer, bytes than the registered size; the transfer was stopped."""

    def __init__(self, cid: str, expected_size: int, received: int) -> None:
        self.cid = cid
        self.what = "size"
        self.expected = str(expected_size)
        self.actual = str(received)
        if received > expected_size:
            arrived, stopped = f"more than {expected_size} bytes arrived", "The transfer was aborted and nothing"
        else:
            arrived, stopped = f"the node's stream ended after {received} bytes", "Nothing"
        StoreError.__init__(
            self,
            f"integrity check failed for artifact {cid}: its registered size is {expected_size} bytes, but "
            f"{arrived}; the artifact on IPFS is not the registered one. {stopped} was written; do not use it, "
            "and report the node or artifact as tampered.",
        )


class ArtifactTooLargeError(StoreError):
    """More bytes arrived than the caller's ``max_size`` allows; the transfer was stopped."""

    def __init__(self, cid: str, max_size: int) -> None:
        self.cid = cid
        self.max_size = max_size
        super().__init__(
            f"artifact {cid} is larger than the {max_size}-byte limit: more than {max_size} bytes arrived, so the "
            "transfer was aborted and nothing was written. If it really is that large, fetch it with its "
            "registered size or a larger limit."
        )


class StoreRequestError(StoreError):
    """The node refused a request (its own error message is included)."""


@dataclass(frozen=True)
class SizeLimit:
    """How many bytes a fetch of ``cid`` may receive.

    Attributes:
        cid: The artifact being fetched (named in the errors).
        expected_size: Its registered size: more or fewer bytes are refused.
        max_size: An upper bound for artifacts without a registered size.
    """

    cid: str
    expected_size: int | None = None
    max_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("expected_size", "max_size"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be a byte count >= 0, got {value}")

    def check_received(self, received: int) -> None:
        """Refuse as soon as ``received`` bytes exceed a bound.

        Raises:
            SizeMismatchError: If more than ``expected_size`` bytes arrived.
            ArtifactTooLargeError: If more than ``max_size`` bytes arrived.
        """
        if self.expected_size is not None and received > self.expected_size:
            raise SizeMismatchError(self.cid, self.expected_size, received)
        if self.max_size is not None and received > self.max_size:
            raise ArtifactTooLargeError(self.cid, self.max_size)

    def check_complete(self, received: int) -> None:
        """Refuse a stream that ended short of ``expected_size``.

        Raises:
            SizeMismatchError: If fewer than ``expected_size`` bytes arrived.
        """
        if self.expected_size is not None and received != self.expected_size:
            raise SizeMismatchError(self.cid, self.expected_size, received)


def bounded(pieces: Generator[bytes, None, None], limit: SizeLimit) -> Iterator[bytes]:
    """Pass ``pieces`` through until they exceed ``limit``; then close the source and raise.

    The piece that crosses the bound is never yielded, and the source generator
    is closed before the error propagates, so the transfer stops right there.

    Raises:
        SizeMismatchError: If more (or, at the end, fewer) bytes arrive than ``limit.expected_size``.
        ArtifactTooLargeError: If more than ``limit.max_size`` bytes arrive.
    """
    received = 0
    with closing(pieces):
        for piece in pieces:
            received += len(piece)
            limit.check_received(received)
            yield piece
    limit.check_complete(received)


@dataclass(frozen=True)
class StoredArtifact:
    """What identifies stored content: CID, sha256 (hex) and size in bytes."""

    cid: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


class _Digest:
    """sha256 + CID over one pass of the bytes."""

    def __init__(self, options: CidOptions) -> None:
        self._sha = hashlib.sha256()
        self._cid = CidBuilder(options)

    def update(self, data: bytes) -> None:
        self._sha.update(data)
        self._cid.update(data)

    def result(self) -> StoredArtifact:
        return StoredArtifact(self._cid.cid(), self._sha.hexdigest(), self._cid.size)


class ArtifactStore:
    """Put and get artifacts on a Kubo RPC node, verifying everything.

    Args:
        api: Node API address, multiaddr (``/ip4/127.0.0.1/tcp/5001/http``) or ``http://host:port``.
        timeout: Seconds to wait for the node on each request.
        options: CID layout used for adding and for recomputing CIDs on read.
    """

    def __init__(self, api: str, *, timeout: float = 120.0, options: CidOptions | None = None) -> None:
        self.api = to_multiaddr(api)
        self.url = to_http_url(api)
        self.options = options or CidOptions()
        self._client = ipfshttpclient.Client(self.api, timeout=timeout, chunk_size=_READ_PIECE)

    def _add_opts(self, pin: bool) -> dict[str, str]:
        # Every layout option is sent explicitly, so the node's defaults never matter.
        return {
            "cid-version": str(self.options.cid_version),
            "raw-leaves": str(self.options.use_raw_leaves).lower(),
            "chunker": f"size-{self.options.chunk_size}",
            "pin": str(pin).lower(),
        }

    def _call(self, what: str, cid: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ipfs_errors.ProtocolError as exc:
            if cid is None:
                raise StoreUnavailableError(self.url, f"{what}: {exc.__class__.__name__}") from exc
            # The node answered, then dropped the connection: how it refuses a bad block it finds early.
            raise StoreRequestError(
                f"IPFS node at {self.url} dropped the connection during {what} of {cid} "
                f"({exc.__class__.__name__}): a corrupted block or a node failure; nothing was used"
            ) from exc
        except (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError) as exc:
            raise StoreUnavailableError(self.url, f"{what}: {exc.__class__.__name__}") from exc
        except ipfs_errors.ErrorResponse as exc:
            message = str(exc)
            if cid is not None and ("not found" in message or "no link named" in message):
                raise ArtifactNotFoundError(cid, message) from exc
            raise StoreRequestError(f"IPFS node at {self.url} refused {what}: {message}") from exc

    def _check_added(self, cid: str, expected: StoredArtifact) -> StoredArtifact:
        if cid != expected.cid:
            raise IntegrityError(expected.cid, "CID reported by the node on add", expected.cid, cid)
        return expected

    def version(self) -> dict[str, Any]:
        """The node's ``version`` answer (also a health check).

        Raises:
            StoreUnavailableError: If the node cannot be reached.
        """
        return dict(self._call("version", None, self._client.version))

    def put_bytes(self, data: bytes, *, pin: bool = True) -> StoredArtifact:
        """Add bytes and return their CID, sha256 and size.

        The CID is computed locally too, and a node reporting another one is refused.

        Raises:
            StoreUnavailableError: If the node cannot be reached.
            IntegrityError: If the node's CID differs from the local one.
        """
        digest = _Digest(self.options)
        digest.update(data)
        cid = self._call("add", None, self._client.add_bytes, data, opts=self._add_opts(pin))
        return self._check_added(cid, digest.result())

    def put_file(self, path: str | os.PathLike[str], *, pin: bool = True) -> StoredArtifact:
        """Add a file by streaming it; never reads it whole into memory.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            StoreUnavailableError: If the node cannot be reached.
            IntegrityError: If the node's CID differs from the local one.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is not a file; give the path of the artifact to store")
        digest = _Digest(self.options)

        def pieces(handle: BinaryIO) -> Iterator[bytes]:
            # One pass: the digest is computed while the bytes stream to the node.
            for piece in iter_chunks(handle, _READ_PIECE):
                digest.update(piece)
                yield piece

        with path.open("rb") as handle:
            # add_bytes streams a generator as the multipart body.
            cid = self._call("add", None, self._client.add_bytes, pieces(handle), opts=self._add_opts(pin))
        return self._check_added(cid, digest.result())

    def _stream(self, cid: str) -> Generator[bytes, None, None]:
        stream = self._call("cat", cid, self._client.cat, cid, stream=True)
        received = 0
        try:
            while True:
                try:
                    piece = self._call("cat", cid, next, stream, None)
                except requests.RequestException as exc:
                    # A node that finds a bad block mid-transfer cuts the connection.
                    raise StoreRequestError(
                        f"IPFS node at {self.url} aborted the transfer of {cid} after {received} bytes "
                        f"({exc.__class__.__name__}): a corrupted block or a node failure; nothing was used"
                    ) from exc
                if piece is None:
                    return
                received += len(piece)
                yield piece
        finally:
            stream.close()

    def _options_for(self, cid: str) -> CidOptions:
        """Layout to recompute ``cid`` with: ours for our CID version, Kubo's defaults otherwise."""
        try:
            guessed = cid_options_for(cid, self.options.chunk_size)
        except ValueError as exc:
            raise StoreRequestError(f"{cid!r} is not a CID this store can verify: {exc}") from exc
        return self.options if guessed.cid_version == self.options.cid_version else guessed

    def _verified(self, cid: str, digest: _Digest, expected_sha256: str | None) -> StoredArtifact:
        got = digest.result()
        if got.cid != cid:
            raise IntegrityError(cid, "CID recomputed from the received bytes", cid, got.cid)
        if expected_sha256 is not None and got.sha256 != expected_sha256.lower().removeprefix("0x"):
            raise IntegrityError(cid, "sha256", expected_sha256, got.sha256)
        return got

    def get_bytes(
        self,
        cid: str,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        max_size: int | None = None,
    ) -> bytes:
        """Fetch content and verify it before returning it.

        Args:
            cid: The content to fetch.
            expected_sha256: Hex sha256 the content must have (e.g. from the chain).
            expected_size: Size in bytes the content must have (e.g. from the chain); the transfer is
                aborted as soon as more bytes arrive.
            max_size: Refuse content larger than this (for artifacts without a registered size).

        Raises:
            StoreUnavailableError: If the node cannot be reached.
            ArtifactNotFoundError: If the node does not have ``cid``.
            IntegrityError: If the recomputed CID, the sha256 or the size differ
                (:class:`SizeMismatchError` for the size).
            ArtifactTooLargeError: If more than ``max_size`` bytes arrive.
        """
        digest = _Digest(self._options_for(cid))
        pieces = []
        for piece in bounded(self._stream(cid), SizeLimit(cid, expected_size, max_size)):
            digest.update(piece)
            pieces.append(piece)
        self._verified(cid, digest, expected_sha256)
        return b"".join(pieces)

    def get_to_file(
        self,
        cid: str,
        out: str | os.PathLike[str],
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        max_size: int | None = None,
    ) -> StoredArtifact:
        """Stream content to ``out``, writing it only once it is verified.

        The bytes go to a temporary file beside ``out`` and are moved into place
        after the checks pass; on any failure ``out`` is left as it was and the
        temporary file is removed.

        Args:
            cid: The content to fetch.
            out: Where the verified content goes.
            expected_sha256: Hex sha256 the content must have (e.g. from the chain).
            expected_size: Size in bytes the content must have (e.g. from the chain); the transfer is
                aborted as soon as more bytes arrive.
            max_size: Refuse content larger than this (for artifacts without a registered size).

        Raises:
            StoreUnavailableError: If the node cannot be reached.
            ArtifactNotFoundError: If the node does not have ``cid``.
            IntegrityError: If the recomputed CID, the sha256 or the size differ
                (:class:`SizeMismatchError` for the size).
            ArtifactTooLargeError: If more than ``max_size`` bytes arrive.
        """
        out = Path(out)
        limit = SizeLimit(cid, expected_size, max_size)
        out.parent.mkdir(parents=True, exist_ok=True)
        digest = _Digest(self._options_for(cid))
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as tmp:
                for piece in bounded(self._stream(cid), limit):
                    digest.update(piece)
                    tmp.write(piece)
            result = self._verified(cid, digest, expected_sha256)
            os.replace(tmp_name, out)
            return result
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    def pin(self, cid: str) -> None:
        """Pin content so the node keeps it.

        Raises:
            ArtifactNotFoundError: If the node does not have ``cid``.
        """
        self._call("pin/add", cid, self._client.pin.add, cid)

    def unpin(self, cid: str) -> None:
        """Remove a pin (the content may then be garbage-collected).

        Raises:
            StoreRequestError: If ``cid`` is not pinned.
        """
        self._call("pin/rm", cid, self._client.pin.rm, cid)

    def pins(self) -> set[str]:
        """CIDs pinned recursively on the node."""
        answer = self._call("pin/ls", None, self._client.pin.ls, type="recursive")
        return set(answer["Keys"])
