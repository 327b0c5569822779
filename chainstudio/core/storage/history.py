"""Run history: every run (GUI or CLI) in a SQLite database in the user data directory.

A run is stored as its summary columns plus its events (streamed chunks dropped: finished outputs are in
``NodeFinished``), so any run can be replayed into a RunState to reopen its Gantt or compare it.

A run is written either at once when it is over (``add``), or as it goes (``recorder``, see
``history_recorder``): a row marked ``running`` at its start, its events appended in batches as steps
end (table ``run_events``), and its summary at the end. A run whose process died before its end keeps
what it had written; ``runs()`` reports it as ``interrupted`` (its process is gone).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainstudio.core.errors import ChainStudioError, Refused
from chainstudio.core.graph.model import Graph
from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState
from chainstudio.core.storage import event_codec
from chainstudio.core.storage.fileformat import to_document
from chainstudio.core.text_safety import escape_lone_surrogates, redact_url, scrub
from chainstudio.paths import user_data_dir

if TYPE_CHECKING:
    from chainstudio.core.storage.history_recorder import HistoryRecorder

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    source TEXT NOT NULL,
    file TEXT,
    graph_name TEXT NOT NULL,
    graph_hash TEXT NOT NULL,
    strategy TEXT NOT NULL,
    provider TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    concurrency INTEGER,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    wall_ms REAL NOT NULL,
    node_time_ms REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    api_calls INTEGER NOT NULL,
    cost_usd REAL,
    events TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_graph ON runs (graph_hash, created_at);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (graph_name, created_at);
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""
# columns added after the first release: (name, declaration), added to older databases when opened
ADDED_COLUMNS = (
    ("tokens_estimated", "INTEGER NOT NULL DEFAULT 0"),
    ("cached_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("pid", "INTEGER"),
)
RUNNING, INTERRUPTED = "running", "interrupted"

_SECRET_HINTS = ("key", "secret", "token", "password", "authorization")
_NOT_SECRET = frozenset({"tokens_per_minute", "token_cap", "tpm"})  # token counts, not credentials


_SQL_INT_MAX = 2**63 - 1


def _integer(value: int) -> int:
    """A count as SQLite can hold it (64 bits): a server's absurd usage must not lose the run's record.
    The events keep the exact numbers."""
    return max(-_SQL_INT_MAX, min(_SQL_INT_MAX, int(value)))


def _real(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def graph_hash(graph: Graph) -> str:
    """A hash of what affects a run (positions left out, so moving nodes keeps the identity)."""
    doc = to_document(graph)
    for node in doc["nodes"]:
        node.pop("position", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings minus anything that looks like a credential (an API key never enters the history), URLs
    without their user:password@ and query values, every text scrubbed of registered secrets."""
    public: dict[str, Any] = {}
    for key, value in settings.items():
        if any(h in key.lower() for h in _SECRET_HINTS) and key not in _NOT_SECRET:
            continue
        if isinstance(value, str):
            value = redact_url(value) if "url" in key.lower() else scrub(value)
        public[key] = value
    return public


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    created_at: float
    source: str
    file: str | None
    graph_name: str
    graph_hash: str
    strategy: str
    provider: str
    simulated: bool
    concurrency: int | None
    status: str
    wall_ms: float
    node_time_ms: float
    input_tokens: int
    output_tokens: int
    api_calls: int
    cost_usd: float | None
    settings: dict[str, Any]
    tokens_estimated: bool = False
    cached_tokens: int = 0


_SUMMARY_FIELDS = [f.name for f in fields(RunSummary)]
_SUMMARY_COLUMNS = ", ".join(_SUMMARY_FIELDS)  # the runs table names its columns after RunSummary's fields


def _summary(row: tuple[Any, ...]) -> RunSummary:
    """A row of ``SELECT {_SUMMARY_COLUMNS}, pid`` as a RunSummary (a running row whose process is gone
    is ``interrupted``)."""
    values = dict(zip(_SUMMARY_FIELDS, row[:-1], strict=True))
    values["simulated"] = bool(values["simulated"])
    values["tokens_estimated"] = bool(values["tokens_estimated"])
    values["settings"] = json.loads(values["settings"])
    if values["status"] == RUNNING and not _alive(row[-1]):
        values["status"] = INTERRUPTED
    return RunSummary(**values)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def summary_row(
    state: RunState,
    graph: Graph,
    *,
    source: str,
    file: str | None,
    settings: dict[str, Any],
    hashed: str | None = None,
) -> dict[str, Any]:
    """The ``runs`` row of a run from its state (``state.totals()`` once: call it when the run is over);
    ``hashed``: the graph's ``graph_hash`` when the caller has it already."""
    started = state.started
    if started is None:
        raise ValueError("no RunStarted event")
    totals = state.totals(path=False)  # the row keeps no critical path
    return {
        "run_id": started.run_id,
        "created_at": time.time(),
        "source": source,
        "file": file,
        "graph_name": graph.name,
        "graph_hash": hashed or graph_hash(graph),
        "strategy": started.strategy,
        "provider": started.provider,
        "simulated": int(started.simulated),
        "concurrency": started.concurrency,
        "settings": json.dumps(_public_settings(settings), sort_keys=True),
        "status": str(state.status),
        "wall_ms": _real(totals.wall * 1000),
        "node_time_ms": _real(totals.node_time * 1000),
        "input_tokens": _integer(totals.input_tokens),
        "output_tokens": _integer(totals.output_tokens),
        "api_calls": _integer(totals.api_calls),
        "cost_usd": None if totals.cost_usd is None else _real(totals.cost_usd),
        "tokens_estimated": int(totals.tokens_estimated),
        "cached_tokens": _integer(totals.cached_tokens),
    }


def upsert(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    """Write a run's row; a text with a lone surrogate (a graph path of bytes that are not UTF-8, as Linux
    allows) is stored with it escaped, since SQLite takes only UTF-8 (the run was "not recorded")."""
    names = list(row)
    db.execute(
        f"INSERT OR REPLACE INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [escape_lone_surrogates(row[n]) if isinstance(row[n], str) else row[n] for n in names],
    )


class HistoryError(Refused, KeyError):
    """A run the history does not hold (never recorded, or deleted meanwhile). A ``KeyError`` as well, for
    callers that look a run up like a key; its message is the plain sentence, without a KeyError's quotes."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class HistoryDamaged(ChainStudioError, sqlite3.DatabaseError):
    """The history file is not a database or is damaged: a sentence that names it and says what to do."""


class RunHistory:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else user_data_dir() / "history.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            for name, declaration in ADDED_COLUMNS:
                if name not in present:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {declaration}")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed on leaving, rolled back on an error)."""
        with self._connect() as db:
            yield db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # commit or roll back
                yield db
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:  # not a database, or a damaged one (not: locked, full)
                raise HistoryDamaged(
                    f"the run history {self.path} cannot be read ({exc}): rename or delete it to start a new one"
                ) from None
            raise
        finally:
            db.close()

    def add(
        self,
        events: Iterable[ev.RunEvent],
        graph: Graph,
        *,
        source: str,
        file: str | None = None,
        settings: dict[str, Any] | None = None,
        state: RunState | None = None,
    ) -> str:
        """Record a run; ``state`` (the reduction of ``events``, when the caller has it) saves a replay."""
        events = list(events)
        state = state if state is not None else RunState.from_events(events)
        row = summary_row(state, graph, source=source, file=file, settings=settings or {})
        row["events"] = escape_lone_surrogates(event_codec.dumps(events, drop_deltas=True))
        with self._connect() as db:
            upsert(db, row)
            db.execute("DELETE FROM run_events WHERE run_id = ?", (row["run_id"],))
        return str(row["run_id"])

    def recorder(
        self,
        graph: Graph,
        state: RunState | None = None,
        *,
        source: str,
        file: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> HistoryRecorder:
        """A run listener that writes the run as it goes (see ``history_recorder``); ``close()`` it.
        ``state``: the run's own fold (``run.state``), else the recorder folds the events itself."""
        from chainstudio.core.storage.history_recorder import HistoryRecorder

        return HistoryRecorder(self, graph, state, source=source, file=file, settings=settings or {})

    def find(self, prefix: str) -> str:
        """The run id starting with ``prefix`` (a unique prefix is enough); HistoryError otherwise."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id FROM runs WHERE substr(run_id, 1, length(?1)) = ?1 ORDER BY run_id = ?1 DESC LIMIT 3",
                (prefix,),
            ).fetchall()
        if not rows:
            raise HistoryError(f"no run {prefix!r} in the history")
        if len(rows) > 1 and rows[0][0] != prefix:
            raise HistoryError(f"{prefix!r} names more than one run: give more of its id")
        return str(rows[0][0])

    def runs(
        self, *, graph_name: str | None = None, graph_hash: str | None = None, limit: int = 200
    ) -> list[RunSummary]:
        """Newest first, optionally only one graph's runs."""
        where, args = [], []
        if graph_name is not None:
            where.append("graph_name = ?")
            args.append(graph_name)
        if graph_hash is not None:
            where.append("graph_hash = ?")
            args.append(graph_hash)
        sql = f"SELECT {_SUMMARY_COLUMNS}, pid FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(sql, (*args, limit)).fetchall()
        return [_summary(row) for row in rows]

    def stamp(self, graph_name: str | None = None) -> tuple[int, float]:
        """(how many runs, the newest one's time), of one graph or of all: a cheap way to notice runs
        recorded meanwhile, by this process or another (the CLI)."""
        sql = "SELECT COUNT(*), COALESCE(MAX(created_at), 0) FROM runs"
        args: tuple[str, ...] = ()
        if graph_name is not None:
            sql += " WHERE graph_name = ?"
            args = (graph_name,)
        with self._connect() as db:
            count, newest = db.execute(sql, args).fetchone()
        return int(count), float(newest)

    def events(self, run_id: str) -> list[ev.RunEvent]:
        with self._connect() as db:
            row = db.execute("SELECT events FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            batches = db.execute("SELECT events FROM run_events WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        if row is None:
            raise HistoryError(f"no run {run_id!r} in the history")
        return event_codec.loads("\n".join([row[0], *(b[0] for b in batches)]))

    def state(self, run_id: str) -> RunState:
        return RunState.from_events(self.events(run_id))

    def delete(self, run_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM run_events WHERE run_id = ?", (run_id,))


def open_history(path: str | Path | None = None) -> tuple[RunHistory, str | None]:
    """The run history, and None; or, when its file or folder cannot be used (damaged, not a database, the
    folder a file), a history in a temporary folder for this session and the sentence that says so: the
    window still opens (it did not), and the user's file is left as it is for them to look at."""
    try:
        return RunHistory(path), None
    except (sqlite3.Error, OSError) as exc:
        reason = str(exc) if isinstance(exc, HistoryDamaged) else f"the run history cannot be used: {exc}"
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="chainstudio-history-"))
    sentence = reason[:1].upper() + reason[1:]
    return RunHistory(folder / "history.sqlite3"), f"{sentence}. This session's runs are kept until you quit."
