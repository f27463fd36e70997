"""Local CID recomputation matches Kubo's `ipfs add` (pure logic, no node)."""

import base64
import hashlib

import pytest

from registry.cid import CidBuilder, CidOptions, cid_options_for, compute_cid


def test_kubo_vectors_cidv0() -> None:
    assert compute_cid(b"hello world\n") == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert compute_cid(b"") == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def test_kubo_vectors_cidv1_raw_leaves() -> None:
    # `ipfs add --cid-version 1` of a single chunk is the raw block itself.
    assert compute_cid(b"", CidOptions(1)) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    digest = hashlib.sha256(b"hello world\n").digest()
    assert compute_cid(b"hello world\n", CidOptions(1)).startswith("bafkrei")
    text = compute_cid(b"hello world\n", CidOptions(1))[1:].upper()
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    assert raw[:4] == bytes([0x01, 0x55, 0x12, 0x20])  # CIDv1, raw codec, sha2-256, 32 bytes
    assert raw[4:] == digest


def test_incremental_equals_one_shot() -> None:
    data = bytes(range(256)) * 3000  # 768,000 bytes: 3 chunks
    builder = CidBuilder()
    for start in range(0, len(data), 10_000):
        builder.update(data[start : start + 10_000])
    assert builder.cid() == compute_cid(data)
    assert builder.size == len(data)


def test_multi_chunk_differs_from_single_chunk_layout() -> None:
    data = b"x" * 1000
    assert compute_cid(data, CidOptions(chunk_size=100)) != compute_cid(data)


def test_invalid_options_refused() -> None:
    with pytest.raises(ValueError, match="raw leaves need CIDv1"):
        CidOptions(0, True)
    with pytest.raises(ValueError, match="cid_version"):
        CidOptions(2)
    with pytest.raises(ValueError, match="not a CIDv0"):
        cid_options_for("hello")
