"""Recompute IPFS CIDs locally, the way Kubo's ``ipfs add`` builds them.

Whoever downloads an artifact must not trust the node that served it: the
content identifier is recomputed here from the bytes alone and compared with
the one asked for. The layout is Kubo's default importer: fixed-size chunks
(256 KiB), UnixFS ``File`` leaves (or raw leaves), a balanced DAG with at most
174 links per node, and a single chunk reduced to its own leaf. Streaming: only
the per-block digests are kept, never the content.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_LINKS_PER_NODE = 174

_SHA2_256 = 0x12
_CODEC_RAW = 0x55
_CODEC_DAG_PB = 0x70
_UNIXFS_FILE = 2
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class CidOptions:
    """The ``ipfs add`` options that change a CID.

    Attributes:
        cid_version: 0 (Kubo's default) or 1.
        raw_leaves: Leaves as raw blocks; ``None`` means Kubo's default
            (false for CIDv0, true for CIDv1).
        chunk_size: Fixed chunk size in bytes (``--chunker=size-N``).
    """

    cid_version: int = 0
    raw_leaves: bool | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {self.cid_version}")
        if self.chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {self.chunk_size}")
        if self.cid_version == 0 and self.raw_leaves:
            raise ValueError("raw leaves need CIDv1 (a CIDv0 can only name dag-pb blocks)")

    @property
    def use_raw_leaves(self) -> bool:
        """Whether leaves are raw blocks after applying Kubo's default."""
        return self.raw_leaves if self.raw_leaves is not None else self.cid_version == 1


@dataclass(frozen=True)
class _Node:
    cid: bytes  # binary CID (v0: the multihash; v1: version + codec + multihash)
    tsize: int  # cumulative size of the encoded blocks below and including this one
    filesize: int  # file bytes under this node


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _uint_field(number: int, value: int) -> bytes:
    return _field(number, 0) + _varint(value)


def _unixfs_file(data: bytes | None, filesize: int, blocksizes: Iterable[int] = ()) -> bytes:
    out = _uint_field(1, _UNIXFS_FILE)
    if data:
        out += _bytes_field(2, data)
    out += _uint_field(3, filesize)
    for size in blocksizes:
        out += _uint_field(4, size)
    return out


def _dag_pb(links: list[_Node], data: bytes) -> bytes:
    # dag-pb canonical form: links (field 2) before data (field 1); Kubo writes an empty Name.
    out = b""
    for link in links:
        out += _bytes_field(2, _bytes_field(1, link.cid) + _bytes_field(2, b"") + _uint_field(3, link.tsize))
    return out + _bytes_field(1, data)


def _cid_bytes(block: bytes, codec: int, version: int) -> bytes:
    return _wrap_digest(hashlib.sha256(block).digest(), codec, version)


def _wrap_digest(digest: bytes, codec: int, version: int) -> bytes:
    multihash = bytes([_SHA2_256, 32]) + digest
    if version == 0:
        return multihash
    return _varint(1) + _varint(codec) + multihash


def _leaf(chunk: bytes | memoryview, options: CidOptions) -> _Node:
    size = len(chunk)
    if options.use_raw_leaves:
        digest = hashlib.sha256(chunk).digest()
        return _Node(_wrap_digest(digest, _CODEC_RAW, 1), size, size)
    # The dag-pb leaf is header + chunk + trailer; hash it without building the block.
    unixfs_head = _uint_field(1, _UNIXFS_FILE) + (_field(2, 2) + _varint(size) if size else b"")
    unixfs_tail = _uint_field(3, size)
    unixfs_len = len(unixfs_head) + size + len(unixfs_tail)
    block_head = _field(1, 2) + _varint(unixfs_len) + unixfs_head
    hasher = hashlib.sha256(block_head)
    hasher.update(chunk)
    hasher.update(unixfs_tail)
    block_len = len(block_head) + size + len(unixfs_tail)
    return _Node(_wrap_digest(hasher.digest(), _CODEC_DAG_PB, options.cid_version), block_len, size)


def _parent(children: list[_Node], options: CidOptions) -> _Node:
    filesize = sum(child.filesize for child in children)
    block = _dag_pb(children, _unixfs_file(None, filesize, (c.filesize for c in children)))
    tsize = len(block) + sum(child.tsize for child in children)
    return _Node(_cid_bytes(block, _CODEC_DAG_PB, options.cid_version), tsize, filesize)


def encode_cid(cid: bytes) -> str:
    """Render a binary CID as text: base58btc for v0, base32 (``b...``) for v1."""
    if cid[0] == _SHA2_256:
        number = int.from_bytes(cid, "big")
        text = ""
        while number:
            number, rem = divmod(number, 58)
            text = _BASE58_ALPHABET[rem] + text
        return text
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


class CidBuilder:
    """Incremental CID computation: feed bytes, then read :meth:`cid`.

    Example:
        >>> builder = CidBuilder()
        >>> builder.update(b"hello world\\n")
        >>> builder.cid()
        'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
    """

    def __init__(self, options: CidOptions | None = None) -> None:
        self._options = options or CidOptions()
        self._pending = bytearray()
        self._leaves: list[_Node] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, data: bytes) -> None:
        """Feed the next bytes of the file."""
        self._size += len(data)
        step = self._options.chunk_size
        view = memoryview(data)
        if self._pending:
            take = min(step - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < step:
                return
            self._leaves.append(_leaf(bytes(self._pending), self._options))
            self._pending = bytearray()
        whole = len(view) - len(view) % step
        for start in range(0, whole, step):
            self._leaves.append(_leaf(view[start : start + step], self._options))
        self._pending += view[whole:]

    def cid(self) -> str:
        """The CID of everything fed so far (the builder stays usable)."""
        leaves = list(self._leaves)
        if self._pending or not leaves:
            leaves.append(_leaf(bytes(self._pending), self._options))
        level = leaves
        while len(level) > 1:
            level = [
                _parent(level[i : i + MAX_LINKS_PER_NODE], self._options)
                for i in range(0, len(level), MAX_LINKS_PER_NODE)
            ]
        return encode_cid(level[0].cid)


def iter_chunks(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """Yield a binary stream in pieces of at most ``size`` bytes."""
    while chunk := stream.read(size):
        yield chunk


def compute_cid(data: bytes, options: CidOptions | None = None) -> str:
    """CID of ``data`` as Kubo's ``ipfs add`` with ``options`` would give it."""
    builder = CidBuilder(options)
    builder.update(data)
    return builder.cid()


def cid_options_for(cid: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> CidOptions:
    """The add options a CID was most likely made with (v0 -> dag-pb leaves, v1 -> raw leaves).

    Raises:
        ValueError: If ``cid`` is neither a base58 CIDv0 nor a base32 CIDv1.
    """
    if cid.startswith("Qm") and len(cid) == 46:
        return CidOptions(0, False, chunk_size)
    if cid.startswith("b") and len(cid) > 50:
        return CidOptions(1, True, chunk_size)
    raise ValueError(f"{cid!r} is not a CIDv0 (Qm...) or base32 CIDv1 (b...)")
