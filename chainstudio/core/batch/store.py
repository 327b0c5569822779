"""A batch's state in SQLite, so that a killed or cancelled batch resumes without repeating a finished row.

The database holds the batch's fingerprint (the graphs, the dataset's digest, the mapping, strategies,
repeats and evaluators: a state file is only ever resumed by the same batch) and one row per finished
cell (its ``RowResult`` as JSON), plus the pairwise judgements. Results are committed in small groups
(``FLUSH_EVERY`` results or ``FLUSH_SECONDS``): a kill loses at most the uncommitted ones, which then
run again; a result is never half written (SQLite's transactions).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chainstudio.core.batch.results import RowResult
from chainstudio.core.errors import Refused

FLUSH_EVERY = 200
FLUSH_SECONDS = 0.25

SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (cell TEXT PRIMARY KEY, n INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pairwise (pair TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class BatchError(Refused):
    """A state file that belongs to another batch (or cannot be read)."""


class BatchStore:
    def __init__(self, path: str | Path, fingerprint: dict[str, Any], *, fresh: bool = False):
        self.path = str(path)
        try:
            if fresh:
                Path(self.path).unlink(missing_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise BatchError(f"{self.path}: the batch state cannot be opened ({exc})") from None
        wanted = json.dumps(fingerprint, sort_keys=True)
        row = self._db.execute("SELECT value FROM batch WHERE key='fingerprint'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO batch VALUES ('fingerprint', ?)", (wanted,))
        elif row[0] != wanted:
            self._db.close()
            raise BatchError(
                f"{self.path} holds another batch (other graphs, dataset, strategies, repeats or checks); "
                "start over with --fresh or give another --state"
            )
        self._pending: list[tuple[str, str]] = []
        self._pending_pairs: list[tuple[str, str]] = []
        self._last_flush = time.monotonic()
        self._n = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM results").fetchone()[0]

    # --- results --------------------------------------------------------------------------------------
    def put(self, result: RowResult) -> None:
        """Keep a final result (a non-final one is not kept: it runs again on resume)."""
        if not result.final:
            return
        self._pending.append((result.cell_key, json.dumps(result.to_json(), ensure_ascii=False)))
        self._maybe_flush()

    def put_pair(self, key: str, data: dict[str, Any]) -> None:
        self._pending_pairs.append((key, json.dumps(data, ensure_ascii=False)))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._pending) >= FLUSH_EVERY or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending and not self._pending_pairs:
            return
        with self._transaction():
            for cell, data in self._pending:
                self._n += 1
                self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (cell, self._n, data))
            self._db.executemany("INSERT OR REPLACE INTO pairwise VALUES (?, ?)", self._pending_pairs)
        self._pending.clear()
        self._pending_pairs.clear()

    def done(self) -> set[str]:
        """The cells whose final result is kept."""
        return {cell for (cell,) in self._db.execute("SELECT cell FROM results")}

    def results(self) -> list[RowResult]:
        """Every kept result, in the order they finished."""
        self.flush()
        return [RowResult.from_json(json.loads(d)) for (d,) in self._db.execute("SELECT data FROM results ORDER BY n")]

    def pairs(self) -> dict[str, dict[str, Any]]:
        self.flush()
        return {key: json.loads(d) for key, d in self._db.execute("SELECT pair, data FROM pairwise")}

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
