"""Throughput and memory of the project's IPFS node, measured from outside.

Starts a node on a fresh repo, then for 1, 10 and 100 MB of random bytes:
adds them through ipfshttpclient (streamed from a file on disk) and cats them
back (streamed to a file), reporting MB/s both ways and the node's peak RSS
growth over its idle RSS (sampled every 10 ms with psutil).

    .venv/bin/python scripts/ipfs-node/bench.py [--sizes 1 10 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import ipfshttpclient
import psutil

MAIN = Path(__file__).resolve().with_name("main.mjs")
MB = 1_000_000


class PeakRss:
    """Samples a process's RSS in a thread and keeps the maximum."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.peak = self.proc.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="sizes in MB")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(["node", str(MAIN), "--repo", f"{tmp}/repo", "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
        port = int(re.search(r"/tcp/(\d+)", proc.stdout.readline()).group(1))
        try:
            client = ipfshttpclient.Client(f"/ip4/127.0.0.1/tcp/{port}/http")
            idle = psutil.Process(proc.pid).memory_info().rss
            monitor = PeakRss(proc.pid)
            rows = []
            for size in args.sizes:
                src, dst = Path(tmp, f"in-{size}"), Path(tmp, f"out-{size}")
                with src.open("wb") as f:
                    for _ in range(size):
                        f.write(os.urandom(MB))
                start = time.perf_counter()
                cid = client.add(str(src))["Hash"]
                add_s = time.perf_counter() - start
                start = time.perf_counter()
                with dst.open("wb") as f:
                    for chunk in client.cat(cid, stream=True):
                        f.write(chunk)
                cat_s = time.perf_counter() - start
                if dst.read_bytes() != src.read_bytes():
                    raise SystemExit(f"cat of {cid} returned different bytes")
                rows.append({"size_mb": size, "cid": cid, "add_mb_s": round(size / add_s, 1),
                             "cat_mb_s": round(size / cat_s, 1)})
                src.unlink()
                dst.unlink()
            peak = monitor.stop()
        finally:
            proc.terminate()
            proc.wait()
    result = {"runs": rows, "node_idle_rss_mb": round(idle / MB, 1),
              "node_peak_rss_growth_mb": round((peak - idle) / MB, 1)}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for row in rows:
        print(f"{row['size_mb']:>5} MB  add {row['add_mb_s']:>7} MB/s  cat {row['cat_mb_s']:>7} MB/s")
    print(f"node RSS: idle {result['node_idle_rss_mb']} MB, peak growth {result['node_peak_rss_growth_mb']} MB")


if __name__ == "__main__":
    main()
