"""The step cache: model answers by content address, in SQLite in the user data directory.

A run asks it through ``chainstudio.core.run.cache.StepCache`` (``get``/``put`` by the key
``cache_key`` computes). Each entry is one step's answer with what making it cost (``StoredStep``).

Why SQLite in WAL mode rather than a folder of atomically renamed files: a write is one transaction, and a
transaction is all or nothing whatever kills the process (a SIGKILL mid-write leaves the last committed
state; ``tests/core/storage/test_step_cache_kill.py`` kills real writers). The least-recently-used order,
the size bound and ``info`` are one indexed query instead of a directory walk with a stat per entry;
several processes (the app and a CLI run) share it under SQLite's locking; and the run history already
lives in the same kind of file. ``synchronous=NORMAL`` with WAL means no fsync per commit: a crash of the
process loses nothing committed, a power cut may lose the last few entries but never corrupts the file.

The size bound (``max_bytes``, default 256 MiB, ``$CHAINSTUDIO_CACHE_MAX_MB``) counts each entry's text;
when a write takes the cache over it, the least recently used entries go until it is at 90 % of the bound.
A hit updates the entry's last use. Simulated answers are entries like any other, but their keys include
the simulated endpoint and seed, and they carry ``simulated``: a real run never replays one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chainstudio.core.run.cache import StoredStep
from chainstudio.paths import user_data_dir

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
LOW_WATER = 0.9  # eviction stops at this fraction of the bound
SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    key TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    last_used REAL NOT NULL,
    size INTEGER NOT NULL,
    simulated INTEGER NOT NULL,
    model TEXT,
    output TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS steps_by_use ON steps (last_used);
"""
_META_FIELDS = tuple(f for f in StoredStep.__dataclass_fields__ if f not in ("output", "model", "simulated"))


MAX_BOUND_MB = 1_000_000_000  # a petabyte: any real disk is smaller


def default_max_bytes() -> int:
    """The size bound: ``$CHAINSTUDIO_CACHE_MAX_MB`` megabytes when set, else 256 MiB."""
    value = os.environ.get("CHAINSTUDIO_CACHE_MAX_MB")
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = math.nan
    if not 0 <= megabytes <= MAX_BOUND_MB:  # NaN, negative, 1e400: not a bound ("internal error" at 1e400)
        log.warning(
            "CHAINSTUDIO_CACHE_MAX_MB=%r is not a number of megabytes from 0 to %s; using the default",
            value,
            f"{MAX_BOUND_MB:,}",
        )
        return DEFAULT_MAX_BYTES
    return int(megabytes * 1024 * 1024)


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    simulated: int  # entries made by a simulated provider
    bytes: int  # the entries' text, as the size bound counts it
    file_bytes: int  # the database files on disk
    max_bytes: int
    oldest: float | None  # last use, seconds since the epoch
    newest: float | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode. Switching takes the file's lock without waiting on the busy timeout, so two
    connections switching a new file at once failed with "database is locked" (4 times in 150, four threads):
    the switch is made only when needed, and tried again for a while (another process may be switching)."""
    for attempt in range(50):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.02)


class StepCacheStore:
    """The SQLite step cache (``StepCache`` for runs), safe to share between threads and processes."""

    def __init__(self, path: str | Path | None = None, *, max_bytes: int | None = None):
        self.path = Path(path) if path else user_data_dir() / "step_cache.sqlite3"
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        self._local = threading.local()  # one connection per thread (the estimate runs in a helper thread)
        self._approx_bytes: int | None = None  # this process's running idea of the total: evict when over
        self._lock = threading.Lock()
        self._setup = threading.Lock()  # one connection set up at a time

    # --- connections ----------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)  # autocommit; BEGIN explicitly
            try:
                with self._setup:  # threads opening a new file at once: see _wal
                    _wal(db)
                    db.execute("PRAGMA synchronous=NORMAL")
                    db.executescript(SCHEMA)
            except sqlite3.DatabaseError as exc:
                db.close()
                if type(exc) is sqlite3.DatabaseError:  # not a database, or a damaged one
                    raise sqlite3.DatabaseError(
                        f"the step cache {self.path} cannot be read ({exc}): rename or delete it to start a new one"
                    ) from None
                raise
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- the StepCache protocol -------------------------------------------------------------------------
    def get(self, key: str) -> StoredStep | None:
        """The entry for ``key`` (its last use becomes now), or None."""
        db = self._db()
        row = db.execute("SELECT output, model, simulated, meta FROM steps WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        db.execute("UPDATE steps SET last_used = ? WHERE key = ?", (time.time(), key))
        return _entry(row)

    def peek(self, key: str, written_by: float | None = None) -> StoredStep | None:
        """The entry for ``key`` without counting it as a use (for estimates); with ``written_by`` (a
        ``time.time()``), only an entry written by then."""
        query = "SELECT output, model, simulated, meta FROM steps WHERE key = ?"
        row = (
            self._db().execute(query, (key,)).fetchone()
            if written_by is None
            else self._db().execute(query + " AND created_at <= ?", (key, written_by)).fetchone()
        )
        return None if row is None else _entry(row)

    def put(self, key: str, step: StoredStep) -> None:
        """Keep ``step`` under ``key`` (replacing any entry), then evict down to the bound if over it."""
        meta = json.dumps({name: getattr(step, name) for name in _META_FIELDS}, ensure_ascii=False)
        size = len(step.output.encode("utf-8")) + len(meta.encode("utf-8")) + len(key)
        now = time.time()
        db = self._db()
        db.execute(
            "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, now, now, size, int(step.simulated), step.model, step.output, meta),
        )
        with self._lock:
            if self._approx_bytes is None:
                self._approx_bytes = self._total(db)
            else:
                self._approx_bytes += size
            over = self._approx_bytes > self.max_bytes
        if over:
            self.evict()

    # --- housekeeping -----------------------------------------------------------------------------------
    def _total(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM steps").fetchone()[0])

    def evict(self, max_bytes: int | None = None) -> int:
        """Drop least-recently-used entries until the total is at most 90 % of the bound (or of
        ``max_bytes``); returns how many went."""
        bound = self.max_bytes if max_bytes is None else max_bytes
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            total = self._total(db)
            removed = 0
            if total > bound:
                target = int(bound * LOW_WATER)
                doomed = []
                for key, size in db.execute("SELECT key, size FROM steps ORDER BY last_used, created_at"):
                    if total <= target:
                        break
                    doomed.append((key,))
                    total -= size
                db.executemany("DELETE FROM steps WHERE key = ?", doomed)
                removed = len(doomed)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        with self._lock:
            self._approx_bytes = total
        return removed

    def info(self) -> CacheInfo:
        db = self._db()
        entries, simulated, size, oldest, newest = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(simulated), 0), COALESCE(SUM(size), 0), MIN(last_used), MAX(last_used)"
            " FROM steps"
        ).fetchone()
        files = sum(p.stat().st_size for p in _files(self.path) if p.exists())
        return CacheInfo(self.path, entries, simulated, size, files, self.max_bytes, oldest, newest)

    def clear(self) -> int:
        """Remove every entry; returns how many there were. A damaged file is deleted and started afresh."""
        try:
            db = self._db()
            count = int(db.execute("SELECT COUNT(*) FROM steps").fetchone()[0])
            db.execute("DELETE FROM steps")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
        except sqlite3.DatabaseError as exc:
            log.warning("the step cache at %s was unreadable (%s): deleting it", self.path, exc)
            self.close()
            for path in _files(self.path):
                path.unlink(missing_ok=True)
            count = 0
        with self._lock:
            self._approx_bytes = 0
        return count

    def check(self) -> str:
        """SQLite's integrity check: ``"ok"`` for a sound file."""
        return str(self._db().execute("PRAGMA integrity_check").fetchone()[0])


class PeekingCache:
    """A read-only view of a store for estimates: lookups do not count as uses, nothing is written, and
    only what the store held when the view was made is seen. An estimate asked for before a run predicts
    that run, even when it is computed (or resumed, after waiting for the run) once the run filled the cache."""

    def __init__(self, store: StepCacheStore, as_of: float | None = None):
        self.store = store
        self.as_of = time.time() if as_of is None else as_of

    def get(self, key: str) -> StoredStep | None:
        return self.store.peek(key, written_by=self.as_of)

    def put(self, key: str, step: StoredStep) -> None:
        return None


def _files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _entry(row: tuple[Any, ...]) -> StoredStep:
    output, model, simulated, meta = row
    values = json.loads(meta)
    known = {k: v for k, v in values.items() if k in _META_FIELDS}
    return StoredStep(output=output, model=model, simulated=bool(simulated), **known)
