"""The node's Kubo RPC API: cat ranges, pins, identity, and Kubo's error shapes."""

from __future__ import annotations

import io
import random

import ipfshttpclient
import pytest
import requests

HELLO_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
# A well-formed CIDv0 that no test ever adds.
UNKNOWN_CID = "QmcRD4wkPPi6dig81r5sLj9Zm1gDCL4zgpEj9CfuRrGbzF"


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="module")
def big(node):
    """A 5-chunk file (default chunker) added once for the range tests."""
    data = _data(4 * 262144 + 5000, seed=1)
    with node.client() as c:
        return c.add(io.BytesIO(data))["Hash"], data


@pytest.mark.parametrize("offset,length", [
    (0, None), (1, 10), (262143, 2), (262144, 262144), (300000, 10 ** 9),
    (4 * 262144 + 4999, None), (4 * 262144 + 5000, None), (10 ** 9, None), (5, 0),
])
def test_cat_offset_and_length(client, big, offset, length):
    cid, data = big
    end = len(data) if length is None else offset + length
    assert client.cat(cid, offset=offset, length=length) == data[offset:end]


def test_cat_negative_offset_is_refused(client, big):
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="negative offset"):
        client.cat(big[0], offset=-1)


def test_cat_ipfs_path_form(client):
    client.add_bytes(b"hello world\n")
    assert client.cat(f"/ipfs/{HELLO_CID}") == b"hello world\n"


def test_add_reports_the_file_name(client, tmp_path):
    path = tmp_path / "report v1.txt"
    path.write_bytes(b"named")
    response = client.add(str(path))
    assert response["Name"] == "report v1.txt"
    assert set(response) == {"Name", "Hash", "Size"}
    # Unnamed content is reported under its CID, as Kubo does.
    response = client.add(io.BytesIO(b"x"))
    assert response["Name"] == response["Hash"]


def test_pin_add_rm_ls(client):
    cid = client.add_bytes(b"pin me", opts={"pin": False})
    assert cid not in client.pin.ls(type="all")["Keys"]
    assert client.pin.add(cid)["Pins"] == [cid]
    assert client.pin.ls(cid)["Keys"] == {cid: {"Type": "recursive"}}
    assert client.pin.ls(type="recursive")["Keys"][cid] == {"Type": "recursive"}
    assert client.pin.rm(cid)["Pins"] == [cid]
    assert cid not in client.pin.ls(type="all")["Keys"]
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not pinned"):
        client.pin.rm(cid)
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="is not pinned"):
        client.pin.ls(cid)
    # Content stays readable after unpinning (no GC).
    assert client.cat(cid) == b"pin me"


def test_direct_and_indirect_pins(client, big):
    cid = client.add_bytes(b"direct", opts={"pin": False})
    client.pin.add(cid, recursive=False)
    assert client.pin.ls(cid)["Keys"][cid]["Type"] == "direct"
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="is pinned recursively"):
        client.pin.rm(big[0], recursive=False)
    indirect = client.pin.ls(type="indirect")["Keys"]
    # The big file's 5 leaves sit below its recursive pin.
    assert len([k for k in indirect if indirect[k] == {"Type": "indirect"}]) >= 5
    leaf = next(iter(indirect))
    assert client.pin.ls(leaf)["Keys"][leaf]["Type"].startswith("indirect through ")
    client.pin.rm(cid)


def test_pin_add_unknown_cid_fails(client):
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not found"):
        client.pin.add(UNKNOWN_CID)


def test_pin_ls_rejects_unknown_type(client):
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="invalid type"):
        client.pin.ls(type="sideways")


def test_id_and_version(client):
    ident = client.id()
    assert ident["ID"].startswith("12D3KooW")
    assert ident["Addresses"] == []
    assert client.id()["ID"] == ident["ID"]
    assert set(client.version()) >= {"Version", "Commit", "Repo", "System", "Golang"}


def test_unknown_cid_gives_kubo_error_shape(node):
    response = requests.post(f"{node.url}/api/v0/cat", params={"arg": UNKNOWN_CID}, timeout=10)
    assert response.status_code == 500
    body = response.json()
    assert body["Code"] == 0 and body["Type"] == "error"
    assert "not found" in body["Message"] and UNKNOWN_CID in body["Message"]


@pytest.mark.parametrize("arg", ["not-a-cid", "/ipns/example.com", "/ipfs/"])
def test_invalid_path(node, arg):
    response = requests.post(f"{node.url}/api/v0/cat", params={"arg": arg}, timeout=10)
    assert response.status_code == 500
    assert response.json()["Message"].startswith(f'invalid path "{arg}"')


def test_missing_argument_is_a_client_error(node):
    response = requests.post(f"{node.url}/api/v0/cat", timeout=10)
    assert response.status_code == 400
    assert response.json() == {"Message": 'argument "ipfs-path" is required', "Code": 1, "Type": "error"}


def test_get_is_not_allowed(node):
    response = requests.get(f"{node.url}/api/v0/version", timeout=10)
    assert response.status_code == 405


def test_unknown_endpoint_is_404(node):
    assert requests.post(f"{node.url}/api/v0/swarm/connect", timeout=10).status_code == 404
    assert requests.post(f"{node.url}/elsewhere", timeout=10).status_code == 404


def test_browser_origin_is_forbidden(node):
    response = requests.post(f"{node.url}/api/v0/version", headers={"Origin": "http://evil.example"},
                             timeout=10)
    assert response.status_code == 403


@pytest.mark.parametrize("kwargs,message", [
    ({"trickle": True}, "not supported"),
    ({"chunker": "rabin-1-2-3"}, "not supported"),
    ({"chunker": "size-0"}, "greater than 0"),
    ({"cid_version": 2}, "unknown CID version"),
    ({"opts": {"hash": "blake2b-256"}}, "sha2-256 only"),
])
def test_add_refuses_options_it_cannot_honour(client, kwargs, message):
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match=message):
        client.add(io.BytesIO(b"data"), **kwargs)
    assert client.add_bytes(b"hello world\n") == HELLO_CID


def test_add_without_multipart_body_is_a_client_error(node):
    response = requests.post(f"{node.url}/api/v0/add", data=b"raw", timeout=10)
    assert response.status_code == 400
    assert "multipart" in response.json()["Message"]


def test_directory_paths(client, tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.txt").write_bytes(b"a")
    root = client.add(str(tmp_path / "d"), recursive=True)[-1]
    assert root["Name"] == "d"
    assert client.cat(f"{root['Hash']}/sub/a.txt") == b"a"
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="this dag node is a directory"):
        client.cat(root["Hash"])
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse,
                       match=f'no link named "nope" under {root["Hash"]}'):
        client.cat(f"{root['Hash']}/nope")
