"""The ``.chain.json`` file format: versioned, validated on load, canonical and atomic on save. Over 400
lines because the schema, the migrations, loading with located problems and canonical atomic saving are
one format's rules, read together.

Files carry ``"format": "chainstudio/graph"`` and an integer ``"version"``; older versions are migrated
forward step by step through ``MIGRATIONS`` (dispatch on the version field, never try/except cascades).
Saving writes a canonical, pretty-printed document with a fixed key order, so save -> load -> save
gives identical bytes and graphs diff cleanly in git.

Versions: 1 is the graph; 2 adds ``pins`` (pinned step outputs, written only when the user chose to keep
them in the file); 3 adds issue 15's kinds and fields (an LLM step's ``endpoint``, its ``output_schema``,
checks and ``repairs``, the ``pick_best``, ``map`` and ``route`` kinds: a field whose ``FieldSpec.version``
is 3 is written only when set, a kind whose ``NodeKind.version`` is 3 makes the file version 3). A file is
written with the lowest version that holds it: a graph without saved pins or new fields is still version
1, byte for byte what earlier releases wrote and read.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, create_model

from chainstudio.core import strict_json
from chainstudio.core.collector import gc_paused
from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Edge, Graph, GraphInput, Node, Pin
from chainstudio.core.storage.chunked_validation import validate_chunked
from chainstudio.core.storage.format_versions import newer_than
from chainstudio.core.text_safety import escape_lone_surrogates

FORMAT = "chainstudio/graph"
VERSION = 3  # the newest version this release reads and writes
PINS_VERSION = 2  # the first version with pins
SUFFIX = ".chain.json"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NODES = 10_000
MAX_EDGES = 100_000
MAX_INPUTS = 1_000  # 10,000 took 0.33 s of the window's thread to show in the Inspector
MAX_NOTE_CHARS = 20_000  # a graph's or an input's description (a 15 MB one kept the window busy 200 s and more)
MAX_DEFAULT_CHARS = 2_000_000  # an input's default: no template may render more (``sandbox.MAX_RESULT_CHARS``)
MAX_COORDINATE = 1_000_000.0  # a position further out is brought back to this on load and on save


def _from_1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: the same document (version 2 only adds the optional ``pins``)."""
    if "pins" in doc:
        raise LoadError([FileProblem("pins", "pins need format version 2 (this file says version 1)")])
    return dict(doc, version=2)


def _from_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 -> 3: the same document (version 3 only adds issue 15's kinds and fields; a node of an older
    file that uses them is refused by ``format_versions.newer_than``)."""
    return dict(doc, version=3)


# version -> function turning a document of that version into one of version + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_1, 2: _from_2}


@dataclass(frozen=True)
class FileProblem:
    path: str  # JSON path such as 'nodes[3].prompt', or '' for the whole document
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path or "document"
        if self.line is not None:
            where = f"line {self.line}, column {self.column}"
        return f"{where}: {self.message}"


class LoadError(ChainStudioError):
    """A graph file that cannot be loaded; ``problems`` say where and why."""

    def __init__(self, problems: list[FileProblem], source: str | None = None):
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + str(p) for p in problems))


# --- schema ---------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _at_most(limit: int) -> AfterValidator:
    """A text of at most ``limit`` characters (checked in Python: pydantic's own ``max_length`` refuses a
    lone surrogate, which a name may hold and a save keeps)."""

    def check(value: str | None) -> str | None:
        if value is not None and len(value) > limit:
            raise ValueError(f"{len(value):,} characters is over the limit of {limit:,}")
        return value

    return AfterValidator(check)


_Name = Annotated[str, _at_most(200)]
_Note = Annotated[str, _at_most(MAX_NOTE_CHARS)]


class InputDoc(_Strict):
    name: _Name
    default: Annotated[str | None, _at_most(MAX_DEFAULT_CHARS)] = None
    description: _Note = ""


_Coordinate = Annotated[float, Strict()]  # a number, not true/false or "12"


class NodeDoc(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)
    kind: str
    name: str = Field(max_length=200)
    position: tuple[_Coordinate, _Coordinate] = (0.0, 0.0)


class EdgeDoc(_Strict):
    id: str = Field(min_length=1, max_length=200)
    source: str
    target: str


class PinDoc(_Strict):
    node: str
    output: str
    origin: str = Field(default="", max_length=200)


class GraphDoc(_Strict):
    format: str
    version: int
    name: _Name = "untitled"
    description: _Note = ""
    inputs: list[InputDoc] = []
    nodes: list[NodeDoc] = []
    edges: list[EdgeDoc] = []
    pins: list[PinDoc] = []


@cache
def _params_model(kind: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for spec in NODE_KINDS[kind].fields:
        # ge/le of None set no bound
        # strict: "max_tokens": true is not 1, and "temperature": "0.3" is not a number
        strict: Any = Annotated[spec.type, Strict()]  # a type made at run time
        if spec.choices:
            strict = Literal[spec.choices]  # one of the kind's values
        fields[spec.name] = (strict, Field(default=spec.default, ge=spec.minimum, le=spec.maximum))
    return create_model(f"{kind.title()}Params", __config__=ConfigDict(extra="forbid"), **fields)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _pydantic_problems(exc: ValidationError | list[Any], prefix: tuple[int | str, ...] = ()) -> list[FileProblem]:
    problems = []
    for err in exc if isinstance(exc, list) else exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")  # our own checks say it themselves
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        problems.append(FileProblem(_path(prefix + tuple(err["loc"])), message))
    return problems


# --- loading --------------------------------------------------------------------------------
def loads(text: str, source: str | None = None) -> Graph:
    """Parse a graph document. Raises LoadError with JSON paths (and line/column for syntax errors)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise LoadError([FileProblem("", f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")], source)
    with gc_paused():
        return _loads(text, source)


def _loads(text: str, source: str | None) -> Graph:
    try:
        data, found = strict_json.parse(text)
    except json.JSONDecodeError as exc:
        raise LoadError([FileProblem("", f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)], source) from None
    except RecursionError:
        raise LoadError([FileProblem("", "the JSON is nested too deeply")], source) from None
    except (ValueError, MemoryError) as exc:  # anything else json refuses: one line, never a traceback
        raise LoadError([FileProblem("", f"not valid JSON: {type(exc).__name__}")], source) from None
    if found:
        raise LoadError([FileProblem(p.path, p.message) for p in found[:50]], source)
    return from_document(data, source)


def load(path: str | os.PathLike[str]) -> Graph:
    path = Path(path)
    try:
        raw = strict_json.read_bounded(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise LoadError([FileProblem("", f"cannot read the file: {exc.strerror or exc}")], str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError([FileProblem("", f"the file is not UTF-8 text (byte {exc.start})")], str(path)) from None
    return loads(text, str(path))


def from_document(data: object, source: str | None = None) -> Graph:
    def fail(path: str, message: str) -> LoadError:
        return LoadError([FileProblem(path, message)], source)

    if not isinstance(data, dict):
        raise fail("", f"expected a JSON object, found {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise fail("format", f'not a ChainStudio graph (expected "format": "{FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise fail("version", "the format version must be an integer")
    if version > VERSION:
        raise fail(
            "version",
            f"this file was written by a newer ChainStudio (format version {version}); "
            f"this version reads up to {VERSION}. Please update ChainStudio.",
        )
    written = version
    while version < VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise fail(
                "version",
                f"format version {version} is not supported (this version reads "
                f"{min([VERSION, *MIGRATIONS])} to {VERSION})",
            )
        try:
            data = migrate(data)
        except LoadError as exc:
            raise LoadError(exc.problems, source) from None
        version = data["version"]
    if isinstance(data.get("nodes"), list) and len(data["nodes"]) > MAX_NODES:
        raise fail("nodes", f"{len(data['nodes']):,} nodes is over the limit of {MAX_NODES:,}")
    if isinstance(data.get("edges"), list) and len(data["edges"]) > MAX_EDGES:
        raise fail("edges", f"{len(data['edges']):,} edges is over the limit of {MAX_EDGES:,}")
    if isinstance(data.get("inputs"), list) and len(data["inputs"]) > MAX_INPUTS:
        raise fail("inputs", f"{len(data['inputs']):,} inputs is over the limit of {MAX_INPUTS:,}")
    try:  # the long lists a part at a time: a worker thread loading a big file lets the window's loop turn
        doc, errors = validate_chunked(GraphDoc, data, ("nodes", "edges"))
    except RecursionError:
        raise fail("", "the document is nested too deeply") from None
    if doc is None:
        raise LoadError(_pydantic_problems(errors), source)

    problems: list[FileProblem] = []
    rejected: set[str] = set()  # ids of nodes already reported: their edges need no second message
    graph = Graph(
        name=doc.name,
        description=doc.description,
        inputs=[GraphInput(i.name, i.default, i.description) for i in doc.inputs],
    )
    for i, node_doc in enumerate(doc.nodes):
        if node_doc.kind not in NODE_KINDS:
            problems.append(
                FileProblem(f"nodes[{i}].kind", f"unknown node kind {node_doc.kind!r} (known: {', '.join(NODE_KINDS)})")
            )
            rejected.add(node_doc.id)
            continue
        if node_doc.id in graph.nodes:
            problems.append(FileProblem(f"nodes[{i}].id", f"node id {node_doc.id!r} is used twice"))
            continue
        newer = newer_than(written, node_doc.kind, set(node_doc.model_extra or {}), f"nodes[{i}]")
        if newer is not None:
            problems.append(FileProblem(*newer))
            rejected.add(node_doc.id)
            continue
        try:
            params = _params_model(node_doc.kind).model_validate(node_doc.model_extra or {})
        except ValidationError as exc:
            problems += _pydantic_problems(exc, ("nodes", i))
            rejected.add(node_doc.id)
            continue
        graph.nodes[node_doc.id] = Node(
            node_doc.id,
            node_doc.kind,
            node_doc.name,
            params.model_dump(),
            (_coordinate(node_doc.position[0]), _coordinate(node_doc.position[1])),
        )
    edges, nodes = graph.edges, graph.nodes
    for i, edge_doc in enumerate(doc.edges):
        edge_id, source, target = edge_doc.id, edge_doc.source, edge_doc.target
        if edge_id in edges:
            problems.append(FileProblem(f"edges[{i}].id", f"edge id {edge_id!r} is used twice"))
        for end, node_id in (("source", source), ("target", target)):
            if node_id not in nodes and node_id not in rejected:
                problems.append(FileProblem(f"edges[{i}].{end}", f"no node has id {node_id!r}"))
        # the ends as the nodes' own id strings (JSON gives each occurrence a string of its own: 11 MB at the
        # limits), so 100,000 edges hold no copies of them
        source, target = _same_id(nodes, source), _same_id(nodes, target)
        edges[edge_id] = Edge(edge_id, source, target)
    problems += _load_pins(graph, doc.pins, rejected)
    if problems:
        raise LoadError(problems, source)
    return graph


def _same_id(nodes: dict[str, Node], node_id: str) -> str:
    node = nodes.get(node_id)
    return node.id if node is not None else node_id


def _load_pins(graph: Graph, pins: list[PinDoc], rejected: set[str]) -> list[FileProblem]:
    problems = []
    for i, pin in enumerate(pins):
        node = graph.nodes.get(pin.node)
        if node is None:
            if pin.node not in rejected:
                problems.append(FileProblem(f"pins[{i}].node", f"no node has id {pin.node!r}"))
        elif node.kind != "llm":
            problems.append(FileProblem(f"pins[{i}].node", f"only model steps can be pinned, not {node.name!r}"))
        elif pin.node in graph.pins:
            problems.append(FileProblem(f"pins[{i}].node", f"step {node.name!r} is pinned twice"))
        else:
            graph.pins[pin.node] = Pin(pin.output, pin.origin)
    graph.save_pins = bool(pins)
    return problems


# --- saving ---------------------------------------------------------------------------------
def _coordinate(value: float) -> float:
    """A position coordinate within ±MAX_COORDINATE (not a number: 0)."""
    value = float(value)
    if value != value:
        return 0.0
    return max(-MAX_COORDINATE, min(MAX_COORDINATE, value))


def _number(value: float) -> float | int:
    return round(_coordinate(value), 1)


def to_document(graph: Graph, *, pins: bool | None = None) -> dict[str, Any]:
    """The file's document; ``pins``: write the pins (None: when the graph says the file keeps them)."""
    nodes = []
    version = 1
    for node in graph.nodes.values():
        entry: dict[str, Any] = {
            "id": node.id,
            "kind": node.kind,
            "name": node.name,
            "position": [_number(node.position[0]), _number(node.position[1])],
        }
        kind = NODE_KINDS[node.kind]
        version = max(version, kind.version)
        for spec in kind.fields:
            value = node.param(spec.name)
            if spec.version > 1 and value == spec.default:
                continue  # a newer field left unset: the file stays readable by older versions
            version = max(version, spec.version)
            entry[spec.name] = spec.type(value) if value is not None else value
        nodes.append(entry)
    kept = graph.live_pins() if (graph.save_pins if pins is None else pins) else {}
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": max(version, PINS_VERSION if kept else 1),  # the lowest version that holds the document
        "name": graph.name,
        "description": graph.description,
        "inputs": [{"name": i.name, "default": i.default, "description": i.description} for i in graph.inputs],
        "nodes": nodes,
        "edges": [{"id": e.id, "source": e.source, "target": e.target} for e in graph.edges.values()],
    }
    if kept:
        doc["pins"] = [{"node": nid, "output": pin.output, "origin": pin.origin} for nid, pin in kept.items()]
    return doc


_POSITION = re.compile(r'"position": \[\s+([^,\s]+),\s+([^\s]+)\s+\]')


def dumps(graph: Graph, *, pins: bool | None = None) -> str:
    text = escape_lone_surrogates(
        json.dumps(to_document(graph, pins=pins), indent=2, ensure_ascii=False, allow_nan=False)
    )
    return _POSITION.sub(r'"position": [\1, \2]', text) + "\n"


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` so that ``path`` holds either its old content or the new, never a torn file.

    A symbolic link is followed: its target gets the new content and the link stays a link. ``mode``
    (e.g. 0o600 for a credentials file) is the file's mode from its creation on: the temporary file is
    made private and is never readable by others on the way; without it, an existing file keeps its mode
    and a new one gets 0o644."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():  # (links followed)
        _write_into_device(path, text)  # /dev/null, /dev/stdout's pipe, a FIFO: written into, never replaced
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)  # created 0o600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _write_into_device(path: Path, text: str) -> None:
    """Write ``text`` into a target that is not a regular file (a device, a FIFO, a socket): replacing it
    with a file (``--json /dev/null`` as root replaced /dev/null) would break it for every program. A FIFO
    nobody reads is refused at once (not waited on); a full device says so (``[Errno 28] No space left``)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, f"{path} is a pipe that nobody is reading") from None
        raise
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8", "surrogatepass"))


def save(graph: Graph, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, dumps(graph))
