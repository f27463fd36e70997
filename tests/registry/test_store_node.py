"""The store layer against the real IPFS node of the session devnet."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Generator

import pytest
from typer.testing import CliRunner

from registry.cid import CidOptions, compute_cid
from registry.cli import app
from registry.devnet import Devnet, DevnetInfo
from registry.store import (
    ArtifactNotFoundError,
    ArtifactStore,
    ArtifactTooLargeError,
    IntegrityError,
    SizeMismatchError,
    StoreRequestError,
)

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


@pytest.fixture(scope="module")
def big(store: ArtifactStore) -> tuple[str, bytes]:
    data = os.urandom(8_000_000)  # 31 chunks, delivered by the node in pieces of up to 1 MiB
    return store.put_bytes(data).cid, data


def _count_pulled(store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every piece the store pulls from the node's HTTP stream."""
    pulled: list[int] = []
    real_stream = store._stream

    def counting(cid: str) -> Generator[bytes, None, None]:
        with closing(real_stream(cid)) as pieces:
            for piece in pieces:
                pulled.append(len(piece))
                yield piece

    monkeypatch.setattr(store, "_stream", counting)
    return pulled


def test_artifact_bigger_than_registered_is_aborted_early_nothing_written(
    store: ArtifactStore, big: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, data = big
    pulled = _count_pulled(store, monkeypatch)
    out = tmp_path / "model.bin"
    with pytest.raises(SizeMismatchError) as info:
        store.get_to_file(cid, out, expected_size=100_000)
    message = str(info.value)
    assert cid in message and "registered size is 100000 bytes" in message
    assert "more than 100000 bytes arrived; the artifact on IPFS is not the registered one" in message
    assert sum(pulled) <= 100_000 + (1 << 20) < len(data)  # stopped within one piece of the bound
    assert list(tmp_path.iterdir()) == []  # neither the output nor a partial file
    pulled.clear()
    with pytest.raises(SizeMismatchError, match="more than 100000 bytes arrived"):
        store.get_bytes(cid, expected_size=100_000)
    assert sum(pulled) <= 100_000 + (1 << 20)
    assert store.get_bytes(cid, expected_size=len(data)) == data  # the aborted transfers left the node healthy


def test_artifact_shorter_than_registered_is_refused(store: ArtifactStore, tmp_path: Path) -> None:
    stored = store.put_bytes(b"short artifact")
    out = tmp_path / "short.bin"
    with pytest.raises(SizeMismatchError, match=f"{stored.cid}: its registered size is 15 bytes, but the node's stream "
                                                 "ended after 14 bytes"):
        store.get_to_file(stored.cid, out, expected_sha256=stored.sha256, expected_size=stored.size + 1)
    assert list(tmp_path.iterdir()) == []
    assert store.get_to_file(stored.cid, out, expected_size=stored.size) == stored


def test_max_size_bounds_an_unregistered_fetch(
    store: ArtifactStore, big: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, data = big
    pulled = _count_pulled(store, monkeypatch)
    with pytest.raises(ArtifactTooLargeError, match=f"artifact {cid} is larger than the 2000000-byte limit"):
        store.get_to_file(cid, tmp_path / "x.bin", max_size=2_000_000)
    assert sum(pulled) <= 2_000_000 + (1 << 20) < len(data)
    assert list(tmp_path.iterdir()) == []
    assert store.get_bytes(cid, max_size=len(data)) == data


def test_cli_get_size(devnet_env: dict[str, str], store: ArtifactStore, tmp_path: Path) -> None:
    stored = store.put_bytes(b"registered artifact")
    out = tmp_path / "a.bin"
    base = [*FLEP, "store", "get", stored.cid, "-o", str(out)]
    bad = subprocess.run([*base, "--size", str(stored.size - 1)], env=devnet_env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"more than {stored.size - 1} bytes arrived" in bad.stderr and stored.cid in bad.stderr
    assert not out.exists()
    ok = subprocess.run([*base, "--size", str(stored.size), "--json"], env=devnet_env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["size"] == stored.size and out.read_bytes() == b"registered artifact"


def test_cli_prints_cid_and_hostile_out_path_literally(
    devnet_manager: Devnet, store: ArtifactStore, tmp_path: Path
) -> None:
    stored = store.put_bytes(b"artifact with a hostile output name")
    out = tmp_path / "[red]x[/red][link=https://evil.example]y[/link]:warning:.bin"
    env = {"FLEP_HOME": str(devnet_manager.home)}
    result = CliRunner().invoke(app, ["store", "get", stored.cid, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    printed = "".join(result.output.split())  # rich folds the long line; the path has no spaces
    assert f"verified{stored.cid}" in printed and f"->{out}" in printed
    assert out.read_bytes() == b"artifact with a hostile output name"
