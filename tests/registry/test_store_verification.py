"""The store never trusts its node: a node serving wrong bytes is caught.

A real node never lies, so this unit test of the verification logic puts a
tiny HTTP server that answers like Kubo but tampers with content in front of
the store. Integration tests against the real node are in test_store_node.py.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from registry.cid import compute_cid
from registry.store import ArtifactStore, IntegrityError, StoreUnavailableError

GENUINE = b"model weights v1\n"
GENUINE_CID = compute_cid(GENUINE)


class _LyingNode(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        elif self.headers.get("Transfer-Encoding") == "chunked":
            while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                self.rfile.read(size + 2)
            self.rfile.readline()
        if self.path.startswith("/api/v0/cat"):
            body = b"model weights v2\n"  # tampered content under the genuine CID
        elif self.path.startswith("/api/v0/add"):
            body = json.dumps({"Name": "f", "Hash": "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", "Size": "6"}).encode()
        else:
            body = json.dumps({"Version": "0.0.0-liar"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def lying_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_tampered_content_is_rejected_and_nothing_written(lying_node: str, tmp_path: Path) -> None:
    store = ArtifactStore(lying_node, timeout=5)
    with pytest.raises(IntegrityError, match="CID recomputed") as info:
        store.get_bytes(GENUINE_CID)
    assert info.value.expected == GENUINE_CID
    out = tmp_path / "model.bin"
    out.write_bytes(b"previous content")
    with pytest.raises(IntegrityError):
        store.get_to_file(GENUINE_CID, out)
    assert out.read_bytes() == b"previous content"
    assert list(tmp_path.iterdir()) == [out]  # no partial file left behind


def test_wrong_cid_on_add_is_rejected(lying_node: str) -> None:
    with pytest.raises(IntegrityError, match="CID reported by the node on add"):
        ArtifactStore(lying_node, timeout=5).put_bytes(GENUINE)


def test_node_down_names_url_and_remedy() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ArtifactStore(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(StoreUnavailableError) as info:
        store.put_bytes(b"x")
    assert f"http://127.0.0.1:{port}" in str(info.value)
    assert "flep devnet up" in str(info.value)
