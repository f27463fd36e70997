"""`flep bench explorer`'s measurement: page load times of the audit explorer over a scratch federation.

The explorer app serves from a uvicorn server on 127.0.0.1 in this process (a thread), and each page is
fetched over HTTP as a browser would (body read to the end, no rendering). Each page is loaded three ways:

- ``cold``: right after every cache was dropped (as the first load after `flep explorer` starts, without its
  background warm-up): every artifact the page shows is fetched from IPFS and re-hashed;
- ``cached``: the same page again at the same block;
- ``next_block``: the first load after one more block was mined (``evm_mine``): the chain reads are redone,
  the verified contents and block times are kept.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable

import requests
import uvicorn

from registry.explorer.app import create_app
from registry.explorer.data import ExplorerData
from registry.explorer.scratch import ScratchConfig, ScratchFederation
from registry.explorer.server import bind
from registry.store import ArtifactStore

PAGES = ("federation", "lineage", "round", "access")


@dataclass(frozen=True)
class PageTimes:
    """One page's load times (seconds) and size.

    Attributes:
        path: The page's URL path.
        cold, cached, next_block: See the module docstring.
        bytes: Size of the HTML.
    """

    path: str
    cold: float
    cached: float
    next_block: float | None
    bytes: int


@dataclass(frozen=True)
class ExplorerBenchResult:
    """The scratch federation and its pages' load times.

    Attributes:
        registry_address, federation_id: Where the scratch federation lives.
        config: What was built.
        build_seconds: Wall time of the build.
        pages: Load times by page name (``federation``, ``lineage``, ``round``, ``access``).
        lineage_nodes: Nodes of the latest version's lineage graph (versions, rounds, updates, datasets).
    """

    registry_address: str
    federation_id: int
    config: ScratchConfig
    build_seconds: float
    pages: dict[str, PageTimes]
    lineage_nodes: int

    def to_dict(self) -> dict:
        return asdict(self)


class _Server:
    """The explorer app on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self, data: ExplorerData) -> None:
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(data), log_level="warning", access_log=False, lifespan="off",
                                ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="explorer-bench", daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the explorer's server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def measure_pages(federation: ScratchFederation, store: ArtifactStore, config: ScratchConfig,
                  progress: Callable[[str], None] = lambda _: None) -> ExplorerBenchResult:
    """Serve the explorer over ``federation`` and time each page (see the module docstring).

    Args:
        federation: The scratch federation (its registry's web3 client is used for reads and ``evm_mine``).
        store: The :class:`~registry.store.ArtifactStore` the federation's artifacts are on.
        config: What the federation was built with (reported).
        progress: Called with a line per measured page.

    Raises:
        RuntimeError: If a page does not load (any status but 200) or the server does not start.
    """
    registry, fid = federation.registry, federation.federation_id
    data = ExplorerData(registry, store, federation.deploy_block)
    latest_version, latest_round = config.rounds, federation.rounds[-1]
    paths = {"federation": f"/federation/{fid}", "lineage": f"/federation/{fid}/model/{latest_version}",
             "round": f"/federation/{fid}/round/{latest_round}", "access": f"/federation/{fid}/access"}
    pages: dict[str, PageTimes] = {}
    with _Server(data) as server, requests.Session() as session:

        def load(path: str) -> tuple[float, int]:
            started = time.perf_counter()
            response = session.get(server.url + path, timeout=600)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
            return elapsed, len(response.content)

        for name in PAGES:
            path = paths[name]
            data.forget()
            cold, size = load(path)
            cached, _ = load(path)
            next_block = None
            if _mine(registry.w3):
                next_block, _ = load(path)
            pages[name] = PageTimes(path, round(cold, 4), round(cached, 4),
                                    None if next_block is None else round(next_block, 4), size)
            progress(f"{name}: cold {cold:.3f} s, cached {cached:.3f} s, next block "
                     + ("n/a" if next_block is None else f"{next_block:.3f} s"))
    lineage = data.lineage(fid, latest_version)
    nodes = (2 * len(lineage.rounds) + sum(len(r.included) + len(r.excluded) for r in lineage.rounds)
             + len({d.artifact.artifact_id for r in lineage.rounds for d in r.datasets}))
    return ExplorerBenchResult(registry.address, fid, config, round(federation.build_seconds, 2), pages, nodes)


def _mine(w3) -> bool:  # noqa: ANN001 - a Web3 client
    """Mine one block (Anvil's ``evm_mine``); ``False`` when the node has no such method."""
    response = w3.provider.make_request("evm_mine", [])
    return "error" not in response
