"""What goes between the window and the estimate's child process (``estimate_process``), in small frames.

A frame is a 4-byte length and a pickle. Pickling the 10,000-step graph in one call held Python's lock on
the window's side for its whole length, so the graph goes in pieces: its header, then the steps
``NODES_PER_FRAME`` and the edges ``EDGES_PER_FRAME`` at a time, as plain tuples; the estimate comes back
the same way: its figures without the steps (``Estimate`` without its ``state``: the simulated run stays in
the child), then the per-step table ``ROWS_PER_FRAME`` rows at a time. Both ends are this program's own
processes over private pipes. The step cache, a SQLite file, goes as what opens it again (``CacheSpec``).
"""

from __future__ import annotations

import dataclasses
import pickle
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.model import Edge, Graph, GraphInput, Node
from chainstudio.core.planning.estimate import Estimate, NodeEstimate
from chainstudio.core.run.cache import CacheUse, Endpoint
from chainstudio.core.storage.step_cache import PeekingCache, StepCacheStore

NODES_PER_FRAME = 500
EDGES_PER_FRAME = 5_000
ROWS_PER_FRAME = 1_000
_LENGTH = struct.Struct(">I")


class WireClosed(ChainStudioError, EOFError):
    """The other end closed the pipe (or died) before a whole frame came."""


def encode(message: tuple[Any, ...]) -> bytes:
    """``message`` as a frame, ready to write."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def write_frame(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    stream.write(encode(message))


def read_frame(stream: IO[bytes]) -> tuple[Any, ...]:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise WireClosed
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise WireClosed
    message = pickle.loads(data)
    if not isinstance(message, tuple) or not message:
        raise WireClosed
    return message


@dataclass(frozen=True)
class CacheSpec:
    """A read-only look at the step cache, as the child opens it again."""

    path: str
    max_bytes: int
    as_of: float
    endpoint: Endpoint

    @classmethod
    def of(cls, cache: CacheUse) -> CacheSpec | None:
        """The spec of ``cache`` when it is a look at a SQLite store (None: the cache cannot go to a child)."""
        store = cache.store
        if isinstance(store, PeekingCache) and isinstance(store.store, StepCacheStore):
            return cls(str(store.store.path), store.store.max_bytes, store.as_of, cache.endpoint)
        return None

    def open(self) -> CacheUse:
        store = PeekingCache(StepCacheStore(self.path, max_bytes=self.max_bytes), self.as_of)
        return CacheUse(store, self.endpoint, write=False)


def graph_frames(graph: Graph) -> Iterator[tuple[Any, ...]]:
    """``graph`` as frames: ("graph", header), ("nodes", rows) …, ("edges", rows) …"""
    inputs = [(i.name, i.default, i.description) for i in graph.inputs]
    yield ("graph", graph.name, graph.description, inputs, dict(graph.pins), graph.save_pins)
    nodes = list(graph.nodes.values())
    for start in range(0, len(nodes), NODES_PER_FRAME):
        part = nodes[start : start + NODES_PER_FRAME]
        yield ("nodes", [(n.id, n.kind, n.name, n.params, n.position) for n in part])
    edges = list(graph.edges.values())
    for start in range(0, len(edges), EDGES_PER_FRAME):
        yield ("edges", [(e.id, e.source, e.target) for e in edges[start : start + EDGES_PER_FRAME]])


class GraphReader:
    """The graph again from the frames of ``graph_frames``, one ``take`` at a time."""

    def __init__(self) -> None:
        self.graph = Graph()

    def take(self, message: tuple[Any, ...]) -> None:
        kind, graph = message[0], self.graph
        if kind == "graph":
            _, graph.name, graph.description, inputs, graph.pins, graph.save_pins = message
            graph.inputs = [GraphInput(*row) for row in inputs]
        elif kind == "nodes":
            for node_id, node_kind, name, params, position in message[1]:
                graph.nodes[node_id] = Node(node_id, node_kind, name, params, position)
        elif kind == "edges":
            for edge_id, source, target in message[1]:
                graph.edges[edge_id] = Edge(edge_id, source, target)
        else:
            raise ValueError(f"unexpected frame {kind!r}")


def _row(node: NodeEstimate) -> tuple[Any, ...]:
    return (
        node.name,
        node.kind,
        node.model,
        node.start_ms,
        node.end_ms,
        node.duration_ms,
        node.input_tokens,
        node.output_tokens,
        node.cost_usd,
        node.basis,
    )


def estimate_frames(result: Estimate) -> Iterator[tuple[Any, ...]]:
    """``result`` as frames: ("summary", the estimate without steps or state), ("rows", per-step rows) …"""
    yield ("summary", dataclasses.replace(result, nodes=[], state=None))
    for start in range(0, len(result.nodes), ROWS_PER_FRAME):
        yield ("rows", [_row(n) for n in result.nodes[start : start + ROWS_PER_FRAME]])


class EstimateReader:
    """The estimate again from the frames of ``estimate_frames`` (its ``state`` is None: not sent)."""

    def __init__(self) -> None:
        self.summary: Estimate | None = None
        self.nodes: list[NodeEstimate] = []

    def take(self, message: tuple[Any, ...]) -> None:
        if message[0] == "summary" and isinstance(message[1], Estimate):
            self.summary = message[1]
        elif message[0] == "rows":
            self.nodes.extend(NodeEstimate(*row) for row in message[1])
        else:
            raise ValueError(f"unexpected frame {message[0]!r}")

    def result(self) -> Estimate:
        if self.summary is None:
            raise ValueError("no estimate came")
        return dataclasses.replace(self.summary, nodes=self.nodes)
