"""The store layer against the real IPFS node of the session devnet."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.cid import CidOptions, compute_cid
from registry.devnet import DevnetInfo
from registry.store import ArtifactNotFoundError, ArtifactStore, IntegrityError, StoreRequestError

pytestmark = pytest.mark.integration

FLEP = [sys.executable, "-m", "registry"]


@pytest.fixture(scope="module")
def store(devnet: DevnetInfo) -> ArtifactStore:
    return ArtifactStore(devnet.ipfs_api, timeout=30)


def test_put_get_bytes_kubo_vectors(store: ArtifactStore) -> None:
    stored = store.put_bytes(b"hello world\n")
    assert stored.cid == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert stored.sha256 == hashlib.sha256(b"hello world\n").hexdigest() and stored.size == 12
    assert store.get_bytes(stored.cid, expected_sha256=stored.sha256) == b"hello world\n"
    assert store.put_bytes(b"").cid == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


@pytest.mark.parametrize("options", [CidOptions(0), CidOptions(1), CidOptions(1, None, 100_000)])
def test_multi_chunk_file_roundtrip(devnet: DevnetInfo, tmp_path: Path, options: CidOptions) -> None:
    store = ArtifactStore(devnet.ipfs_api, options=options)
    data = os.urandom(1_300_000)  # several chunks at 256 KiB and at 100 kB
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    stored = store.put_file(source)
    assert stored.cid == compute_cid(data, options)
    out = tmp_path / "out.bin"
    assert store.get_to_file(stored.cid, out, expected_sha256=stored.sha256) == stored
    assert out.read_bytes() == data


def test_wrong_sha256_rejected_nothing_written(store: ArtifactStore, tmp_path: Path) -> None:
    stored = store.put_bytes(b"dataset shard 7")
    out = tmp_path / "shard.bin"
    with pytest.raises(IntegrityError, match="sha256") as info:
        store.get_to_file(stored.cid, out, expected_sha256="ab" * 32)
    assert info.value.actual == stored.sha256
    assert not out.exists()


def test_unknown_cid(store: ArtifactStore) -> None:
    missing = compute_cid(os.urandom(64))
    with pytest.raises(ArtifactNotFoundError, match=missing):
        store.get_bytes(missing)


def test_pins(store: ArtifactStore) -> None:
    stored = store.put_bytes(b"pin me", pin=False)
    assert stored.cid not in store.pins()
    store.pin(stored.cid)
    assert stored.cid in store.pins()
    store.unpin(stored.cid)
    assert stored.cid not in store.pins()
    with pytest.raises(StoreRequestError, match="not pinned"):
        store.unpin(stored.cid)


def test_cli_put_get(devnet_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"cli artifact")
    put = subprocess.run([*FLEP, "store", "put", str(source), "--json"], env=devnet_env, capture_output=True, text=True)
    assert put.returncode == 0, put.stderr
    answer = json.loads(put.stdout)
    assert answer == {"cid": compute_cid(b"cli artifact"), "sha256": hashlib.sha256(b"cli artifact").hexdigest(), "size": 12}
    out = tmp_path / "b.bin"
    get = subprocess.run([*FLEP, "store", "get", answer["cid"], "-o", str(out)], env=devnet_env, capture_output=True, text=True)
    assert get.returncode == 0, get.stderr
    assert out.read_bytes() == b"cli artifact"
    bad = subprocess.run(
        [*FLEP, "store", "get", answer["cid"], "-o", str(tmp_path / "c.bin"), "--sha256", "00" * 32],
        env=devnet_env, capture_output=True, text=True,
    )
    assert bad.returncode == 1 and "integrity check failed" in bad.stderr
    assert not (tmp_path / "c.bin").exists()


@pytest.mark.parametrize("offset", [300_000, 17_000_000])  # before / after the node's 16 MiB pre-check
def test_corrupted_block_on_disk_is_never_served(devnet: DevnetInfo, tmp_path: Path, offset: int) -> None:
    store = ArtifactStore(devnet.ipfs_api)
    marker = os.urandom(64)
    data = os.urandom(offset) + marker + os.urandom(300_000)
    stored = store.put_bytes(data)
    block_files = [p for p in Path(devnet.ipfs_repo).rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert len(block_files) == 1
    block = block_files[0]
    block.write_bytes(block.read_bytes().replace(marker, bytes(64)))
    out = tmp_path / "out.bin"
    with pytest.raises((IntegrityError, StoreRequestError), match=r"corrupted|integrity check failed|aborted the transfer"):
        store.get_to_file(stored.cid, out, expected_sha256=stored.sha256)
    assert not out.exists()


def test_cid_of_the_other_version_is_verified_with_its_own_layout(devnet: DevnetInfo) -> None:
    data = os.urandom(700_000)
    v1_cid = ArtifactStore(devnet.ipfs_api, options=CidOptions(1)).put_bytes(data).cid
    assert v1_cid.startswith("bafy")
    assert ArtifactStore(devnet.ipfs_api).get_bytes(v1_cid) == data  # a CIDv0 store still verifies it


def test_malformed_cid_is_refused_before_any_request(store: ArtifactStore) -> None:
    with pytest.raises(StoreRequestError, match="not a CID"):
        store.get_bytes("not-a-cid")
