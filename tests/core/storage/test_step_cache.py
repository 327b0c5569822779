"""The SQLite step cache: entries, least-recently-used eviction under a size bound, clear, info, threads."""

import sqlite3
import threading

import pytest

from chainstudio.core.run.cache import StoredStep
from chainstudio.core.storage.step_cache import PeekingCache, StepCacheStore, default_max_bytes


def entry(text: str, **kw) -> StoredStep:
    return StoredStep(text, 12, 34, 0.0125, 1, 0.4, 2.5, "gpt-4o", "run-1", prompt="p", system="s", **kw)


def test_an_entry_comes_back_as_it_went_in(tmp_path):
    store = StepCacheStore(tmp_path / "c.sqlite3")
    assert store.get("k") is None
    store.put("k", entry("hello ✓"))
    assert store.get("k") == entry("hello ✓")
    again = StepCacheStore(tmp_path / "c.sqlite3")  # another process, say
    assert again.get("k") == entry("hello ✓")
    store.put("k", entry("replaced"))
    assert again.get("k").output == "replaced"
    assert store.check() == "ok"


def test_least_recently_used_entries_go_first_when_over_the_bound(tmp_path, monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr("chainstudio.core.storage.step_cache.time.time", lambda: float(next(clock)))
    store = StepCacheStore(tmp_path / "c.sqlite3", max_bytes=9_000)
    for i in range(5):
        store.put(f"k{i}", entry("x" * 1500))
    assert store.info().entries == 5
    store.get("k0")  # used: now the most recent
    store.put("k5", entry("x" * 1500))  # over 9,000 bytes: evict down to 8,100
    kept = {k for k in (f"k{i}" for i in range(6)) if store.peek(k) is not None}
    assert "k0" in kept and "k5" in kept and "k1" not in kept
    assert store.info().bytes <= 8_100


def test_peeking_does_not_count_as_a_use_and_never_writes(tmp_path, monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr("chainstudio.core.storage.step_cache.time.time", lambda: float(next(clock)))
    store = StepCacheStore(tmp_path / "c.sqlite3", max_bytes=4_000)
    store.put("old", entry("x" * 1500))
    store.put("new", entry("x" * 1500))
    view = PeekingCache(store)
    assert view.get("old") is not None
    view.put("other", entry("y"))
    assert store.peek("other") is None
    store.put("newest", entry("x" * 1500))
    assert store.peek("old") is None and store.peek("new") is not None


def test_a_peeking_view_sees_only_what_the_store_held_when_it_was_made(tmp_path):
    """An estimate asked for before a run (and paused while it runs) must not count the run's own answers
    as hits: the window compared such an estimate with the run and showed est 7.4 s → 12.6 s."""
    store = StepCacheStore(tmp_path / "c.sqlite3", max_bytes=1_000_000)
    store.put("before", entry("a"))
    view = PeekingCache(store)
    store.put("during", entry("b"))
    assert view.get("before") is not None and view.get("during") is None
    assert store.peek("during") is not None and PeekingCache(store).get("during") is not None


def test_clear_and_info(tmp_path):
    store = StepCacheStore(tmp_path / "c.sqlite3", max_bytes=1_000_000)
    store.put("a", entry("a"))
    store.put("b", entry("b", simulated=True))
    info = store.info()
    assert (info.entries, info.simulated, info.max_bytes) == (2, 1, 1_000_000)
    assert info.bytes > 0 and info.file_bytes > 0 and info.oldest <= info.newest
    assert store.clear() == 2
    assert store.info().entries == 0 and store.get("a") is None


def test_clear_deletes_a_damaged_file(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = StepCacheStore(path)
    with pytest.raises(sqlite3.DatabaseError):
        store.get("a")
    assert store.clear() == 0
    store.put("a", entry("a"))
    assert store.get("a").output == "a"


def test_threads_share_a_store(tmp_path):
    store = StepCacheStore(tmp_path / "c.sqlite3")
    errors = []

    def work(n: int) -> None:
        try:
            for i in range(30):
                store.put(f"{n}-{i}", entry(f"{n}-{i}"))
                assert store.get(f"{n}-{i}").output == f"{n}-{i}"
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and store.info().entries == 120


def test_the_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_CACHE_MAX_MB", "2")
    assert default_max_bytes() == 2 * 1024 * 1024
    monkeypatch.setenv("CHAINSTUDIO_CACHE_MAX_MB", "lots")
    assert default_max_bytes() == 256 * 1024 * 1024
