"""Verified contents kept by content: an LRU within a byte budget, and the refreshing view an explicit verify
uses (never answers from memory, records what verified, forgets what failed)."""

from __future__ import annotations

from registry.roles import VerifiedContents


def test_least_recently_used_contents_go_first_beyond_the_budget() -> None:
    kept = VerifiedContents(max_bytes=10)
    kept.put("a", b"1234")
    kept.put("b", b"5678")
    assert kept.get("a") == b"1234"  # now b is the least recently used
    kept.put("c", b"90ab")
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (b"1234", None, b"90ab")
    kept.put("huge", bytes(11))  # larger than the whole budget: never kept, nothing dropped for it
    assert kept.get("huge") is None and len(kept) == 2
    assert repr(kept) == "VerifiedContents(2 artifacts, 8 of 10 B)"


def test_the_refreshing_view_misses_records_and_forgets() -> None:
    kept = VerifiedContents()
    kept.put("a", b"old")
    fresh = kept.refreshing()
    assert fresh.get("a") is None and fresh.refreshing() is fresh
    fresh.put("b", b"new")
    fresh.evict("a")
    assert kept.get("a") is None and kept.get("b") == b"new"
