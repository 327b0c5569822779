"""Graph validation: a list of problems, each with a location and a plain sentence."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator

from chainstudio.core.collector import gc_paused
from chainstudio.core.graph.analysis import Analysis
from chainstudio.core.graph.kinds import ENDPOINT_KINDS, NODE_KINDS
from chainstudio.core.graph.model import Edge, Graph, Node, name_problem
from chainstudio.core.graph.problems import Problem as Problem
from chainstudio.core.graph.problems import Problems, kept_problems
from chainstudio.core.graph.problems import Severity as Severity
from chainstudio.core.graph.structured_checks import LOCAL_NAMES, check_structured
from chainstudio.core.graph.templating import References, TemplateProblem, references, references_if_read


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in kept_problems(problems) if p.severity == "error"]  # (no ordering-only warning made)


def validate(
    graph: Graph,
    analysis: Analysis | None = None,
    endpoints: Collection[str] | None = None,
    *,
    unread: set[str] | None = None,
    ordering_only: Collection[str] | None = None,
    pause_gc: bool = True,
) -> Problems:
    """Every problem of ``graph`` (a ``Problems``: a sequence, its ordering-only warnings kept compactly);
    pass the revision's ``analysis`` when there is one (``Document`` has).
    ``endpoints``: the endpoint profiles a run can use (a step naming another one is an error); None when
    any name will do (a run on the simulated provider stands in for every endpoint). ``unread``: parse no
    template (the window's event loop): a template that only Jinja2's parser can read is added to this set
    instead, and its problems are left out until it was read (``templating.references``).
    ``ordering_only``: the revision's ``ordering_only_edges`` when known (``Document`` has), not found again.
    ``pause_gc``: the cyclic garbage collector is off meanwhile (not on a worker thread: the switch is the
    whole process's)."""
    with gc_paused() if pause_gc else contextlib.nullcontext():
        problems = _validate(graph, analysis if analysis is not None else Analysis(graph), unread, ordering_only)
        problems.extend(endpoint_problems(graph, endpoints))
        return problems


def endpoint_problems(graph: Graph, endpoints: Collection[str] | None) -> list[Problem]:
    """A step that names an endpoint profile ``endpoints`` does not have (nothing when ``endpoints`` is None)."""
    if endpoints is None:
        return []
    out: list[Problem] = []
    known = ", ".join(sorted(endpoints)) or "none yet"
    for node in graph.nodes.values():
        name = node.param("endpoint") if node.kind in ENDPOINT_KINDS else ""
        if name and name not in endpoints:
            reason = f"endpoint {name!r} is not a profile in Settings (profiles: {known})"
            out.append(Problem("error", f"{node.name}.endpoint", reason, node.id, field="endpoint"))
    return out


def _reader(unread: set[str] | None) -> Callable[[str], References | None]:
    """``references``, or (given ``unread``) a reader that parses nothing and notes what it could not read."""
    if unread is None:
        return references

    def read(source: str) -> References | None:
        found = references_if_read(source)
        if found is None:
            unread.add(source)
        return found

    return read


def _validate(
    graph: Graph, analysis: Analysis, unread: set[str] | None = None, ordering_only: Collection[str] | None = None
) -> Problems:
    problems = Problems(_check_inputs(graph))
    problems.extend(_check_names(graph))
    problems.extend(_check_edges(graph))
    problems.extend(_check_cycles(graph, analysis))
    _check_nodes(problems, graph, analysis, _reader(unread), ordering_only)
    problems.extend(_check_reach_output(graph, analysis))
    problems.extend(check_structured(graph))
    from chainstudio.core.graph.flow_rules import check_flow  # its rules use Problem

    problems.extend(check_flow(graph))
    return problems


def input_name(node: Node) -> str:
    """The graph input an ``input`` node exposes (its own name when left empty)."""
    return node.param("input") or node.name


def _check_inputs(graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    seen: set[str] = set()
    for i, graph_input in enumerate(graph.inputs):
        reason = name_problem(graph_input.name)
        if reason:
            out.append(Problem("error", f"inputs[{i}]", f"graph input name: {reason}"))
        elif graph_input.name in seen:
            out.append(Problem("error", f"inputs[{i}]", f"graph input {graph_input.name!r} is defined twice"))
        seen.add(graph_input.name)
    return out


def _check_names(graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, Node] = {}
    for node in graph.nodes.values():
        if node.kind not in NODE_KINDS:
            out.append(Problem("error", node.name or node.id, f"unknown node kind {node.kind!r}", node.id))
        reason = name_problem(node.name)
        if reason:
            out.append(Problem("error", node.name or node.id, f"step name: {reason}", node.id, field="name"))
        elif node.name in seen:
            out.append(
                Problem(
                    "error",
                    node.name,
                    f"two steps are named {node.name!r}; names must be unique",
                    node.id,
                    field="name",
                )
            )
        seen.setdefault(node.name, node)
    return out


def _edge_label(names: dict[str, str], source: str, target: str) -> str:
    return f"edge {names.get(source, source)} -> {names.get(target, target)}"


def _check_edges(graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    names = graph.names()  # once: per edge it made validation quadratic (188 s at 100,000 edges)
    nodes = graph.nodes
    no_out = {k for k, kind in NODE_KINDS.items() if not kind.has_output_port}
    no_in = {k for k, kind in NODE_KINDS.items() if not kind.has_input_port}
    for edge in graph.edges.values():
        pair = (edge.source, edge.target)
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if (
            source is not None
            and target is not None
            and pair not in seen
            and edge.source != edge.target
            and source.kind not in no_out
            and target.kind not in no_in
        ):
            seen.add(pair)  # the common case: nothing to say, and no label to build
            continue
        where = _edge_label(names, edge.source, edge.target)
        for end, node in (("source", source), ("target", target)):
            if node is None:
                node_id = edge.source if end == "source" else edge.target
                out.append(
                    Problem("error", where, f"its {end} {node_id!r} is not a node of this graph", edge_id=edge.id)
                )
        if source is None or target is None:
            continue
        if edge.source == edge.target:
            out.append(Problem("error", where, "a step cannot depend on itself (self-loop)", edge.target, edge.id))
        if pair in seen:
            out.append(Problem("error", where, "duplicate edge", edge.target, edge.id))
        seen.add(pair)
        if source.kind in no_out:
            out.append(Problem("error", where, f"{source.kind} steps have no outgoing edges", edge.target, edge.id))
        if target.kind in no_in:
            out.append(Problem("error", where, f"{target.kind} steps take no incoming edges", edge.target, edge.id))
    return out


def _check_cycles(graph: Graph, analysis: Analysis) -> list[Problem]:
    out: list[Problem] = []
    names = graph.names()
    for cycle in analysis.cycles:
        path = [names[n] for n in cycle.path]
        out.append(
            Problem(
                "error",
                f"cycle {' -> '.join(path)}",
                f"the steps {', '.join(sorted(names[n] for n in cycle.members))} depend on each "
                "other in a cycle, so none of them can start",
                cycle.path[0],
            )
        )
    return out


def _incoming_edges(graph: Graph) -> dict[str, list[Edge]]:
    incoming: dict[str, list[Edge]] = {}
    for edge in graph.edges.values():
        incoming.setdefault(edge.target, []).append(edge)
    return incoming


def _check_nodes(
    out: Problems,
    graph: Graph,
    analysis: Analysis,
    read: Callable[[str], References | None],
    ordering_only: Collection[str] | None = None,
) -> None:
    """Each step's problems, added to ``out`` (its ordering-only warnings compactly)."""
    by_name = {node.name: node for node in graph.nodes.values()}
    input_names = {gi.name for gi in graph.inputs}
    incoming = _incoming_edges(graph)
    from chainstudio.core.graph.flow_rules import local_names  # a map's item and index

    for node in graph.nodes.values():
        kind = NODE_KINDS.get(node.kind)
        if kind is None:
            continue
        if node.kind == "input" and input_name(node) not in input_names:
            out.append(
                Problem(
                    "error",
                    f"{node.name}.input",
                    f"exposes graph input {input_name(node)!r}, which the graph does not define",
                    node.id,
                    field="input",
                )
            )
        if node.kind == "llm" and not str(node.param("prompt")).strip():
            out.append(Problem("error", f"{node.name}.prompt", "the prompt is empty", node.id, field="prompt"))
        for spec in kind.template_fields:
            source = str(node.param(spec.name) or "")
            where = f"{node.name}.{spec.name}"
            try:
                refs = read(source)
            except TemplateProblem as exc:
                out.append(Problem("error", where, exc.message, node.id, field=spec.name))
                continue
            if refs is None:
                continue
            for ref in sorted(refs.steps - LOCAL_NAMES.get(spec.name, frozenset()) - local_names(node, spec.name)):
                target = by_name.get(ref)
                if target is None:
                    out.append(
                        Problem(
                            "error",
                            where,
                            f"refers to {ref!r}, which is not a step in this graph",
                            node.id,
                            field=spec.name,
                        )
                    )
                elif target.id == node.id:
                    out.append(Problem("error", where, f"refers to its own output {ref!r}", node.id, field=spec.name))
                elif not analysis.is_ancestor(target.id, node.id):
                    out.append(
                        Problem(
                            "error",
                            where,
                            f"refers to {ref!r}, which is not upstream of {node.name!r}; "
                            f"connect {ref} -> {node.name} first",
                            node.id,
                            field=spec.name,
                        )
                    )
            for ref in sorted(refs.inputs - input_names):
                out.append(
                    Problem(
                        "error", where, f"refers to inputs.{ref}, which is not a graph input", node.id, field=spec.name
                    )
                )
        into = incoming.get(node.id, [])
        if ordering_only is None:
            unused = _ordering_only(graph, node, into, read)
        else:
            unused = [e for e in into if e.id in ordering_only]
        for edge in unused:  # a warning each (``problems.ordering_only_warning``), kept as its ids and names
            out.add_ordering_only(graph.nodes[edge.source].name, node.name, node.id, edge.id)


def _ordering_only(
    graph: Graph, node: Node, incoming: list[Edge], read: Callable[[str], References | None]
) -> list[Edge]:
    """The edges into ``node`` whose source output its templates never use (none while one is unread)."""
    kind = NODE_KINDS[node.kind]
    used: set[str] = set()
    for spec in kind.template_fields:
        source = str(node.param(spec.name) or "")
        try:
            refs = read(source)
        except TemplateProblem:
            continue
        if refs is None:
            return []
        if node.kind == "output" and not source.strip():
            return []
        used |= refs.steps
    if not kind.template_fields or node.kind == "pick_best":  # a pick-best step's edges bring its candidates
        return []
    nodes = graph.nodes
    return [
        edge
        for edge in incoming
        if edge.source in nodes
        and nodes[edge.source].name not in used
        and edge.source != node.id
        and nodes[edge.source].kind != "route"
    ]


def ordering_only_edges(graph: Graph, unread: set[str] | None = None) -> set[str]:
    """Ids of edges whose data the target's templates never use (``unread``: as in ``validate``).
    ``Document.ordering_only`` keeps them for a revision: the canvas's dashes and validation share them."""
    found: set[str] = set()
    for _ in ordering_only_parts(graph, found, unread):
        pass
    return found


ORDERING_ONLY_PART = 250  # steps looked at between two yields of ``ordering_only_parts``


def ordering_only_parts(graph: Graph, found: set[str], unread: set[str] | None = None) -> Iterator[None]:
    """``ordering_only_edges`` a part at a time: adds them to ``found``, yielding after every
    ORDERING_ONLY_PART steps (the window's loop turns in between; the graph must not change meanwhile)."""
    incoming = _incoming_edges(graph)
    yield
    read = _reader(unread)
    for i, node in enumerate(list(graph.nodes.values()), 1):
        if node.kind in NODE_KINDS:
            found.update(edge.id for edge in _ordering_only(graph, node, incoming.get(node.id, []), read))
        if i % ORDERING_ONLY_PART == 0:
            yield


def _check_reach_output(graph: Graph, analysis: Analysis) -> list[Problem]:
    outputs = [n.id for n in graph.nodes.values() if n.kind == "output"]
    if not graph.nodes:
        return []
    if not outputs:
        return [Problem("warning", "graph", "the graph has no output step; a run returns its last steps' outputs")]
    reaching: set[str] = set(outputs)
    for out_id in outputs:
        reaching |= analysis.ancestors(out_id)
    return [
        Problem("warning", node.name, "this step reaches no output step, so its result is unused", node.id)
        for node in graph.nodes.values()
        if node.id not in reaching
    ]
