"""Throughput and memory of the artifact store against a running IPFS node.

Measures, through the same Python store layer every party uses (including its
local CID recomputation and sha256), how fast artifacts go in and come out,
and how much the node's resident memory grows while it streams them.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from registry.store import ArtifactStore

MB = 1_000_000


@dataclass(frozen=True)
class StoreBenchRow:
    """One artifact size: throughput both ways and the node's memory growth."""

    size_mb: int
    add_s: float
    add_mb_s: float
    cat_s: float
    cat_mb_s: float
    node_rss_growth_mb: float | None


class _RssSampler:
    """Peak resident memory of a process (and its children) sampled in a thread."""

    def __init__(self, pid: int | None, interval: float = 0.02) -> None:
        self._proc = psutil.Process(pid) if pid else None
        self._interval = interval
        self._stop = threading.Event()
        self.baseline = self._rss()
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        if self._proc is None:
            return 0
        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left:
            piece = min(left, 4 * MB)
            handle.write(os.urandom(piece))
            left -= piece


def run_store_bench(store: ArtifactStore, sizes_mb: list[int], node_pid: int | None) -> list[StoreBenchRow]:
    """Add and cat one random artifact per size; unpin each afterwards.

    Args:
        store: Store bound to the node under test.
        sizes_mb: Artifact sizes in MB (10^6 bytes).
        node_pid: The node's pid for RSS sampling, or ``None`` for a remote node.
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="flep-bench-") as tmp:
        for size_mb in sizes_mb:
            source, target = Path(tmp) / f"in-{size_mb}", Path(tmp) / f"out-{size_mb}"
            _write_random(source, size_mb * MB)
            with _RssSampler(node_pid) as rss:
                start = time.perf_counter()
                stored = store.put_file(source)
                add_s = time.perf_counter() - start
                start = time.perf_counter()
                store.get_to_file(stored.cid, target, expected_sha256=stored.sha256, expected_size=stored.size)
                cat_s = time.perf_counter() - start
            store.unpin(stored.cid)
            growth = (rss.peak - rss.baseline) / MB if node_pid else None
            rows.append(
                StoreBenchRow(size_mb, round(add_s, 3), round(size_mb / add_s, 1), round(cat_s, 3),
                              round(size_mb / cat_s, 1), None if growth is None else round(growth, 1))
            )
            source.unlink()
            target.unlink()
    return rows


def rows_to_dicts(rows: list[StoreBenchRow]) -> list[dict[str, object]]:
    """Rows as plain dicts for JSON output."""
    return [asdict(row) for row in rows]
