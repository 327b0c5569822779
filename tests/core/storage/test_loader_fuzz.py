"""Random and mutated graph files never crash the loader: each gives a LoadError or a valid Graph."""

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import validate
from chainstudio.core.storage.fileformat import LoadError, dumps, from_document, loads
from tests.conftest import EXAMPLES

EXAMPLE_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.chain.json"))]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def check(text_or_doc):
    try:
        graph = loads(text_or_doc) if isinstance(text_or_doc, str) else from_document(text_or_doc)
    except LoadError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return None
    assert isinstance(graph, Graph)
    validate(graph)  # validation of any loadable graph must not crash either
    return graph


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_documents(value):
    check(value)
    check({"format": "chainstudio/graph", "version": 1, "nodes": value})
    check({"format": "chainstudio/graph", "version": 1, "edges": value, "inputs": value})


def _mutate(doc, rng, value):
    """Replace one random sub-value of ``doc`` with ``value``."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [i])

    walk(doc, [])
    path = rng.choice(paths[1:])
    target = doc
    for key in path[:-1]:
        target = target[key]
    if rng.random() < 0.2 and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(EXAMPLE_TEXTS) - 1), st.integers(0, 2**32), json_values)
def test_mutated_examples(index, seed, value):
    rng = random.Random(seed)
    doc = _mutate(json.loads(EXAMPLE_TEXTS[index]), rng, value)
    graph = check(doc)
    if graph is not None:
        assert check(dumps(graph)) is not None  # whatever loads also saves and loads again


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(EXAMPLE_TEXTS) - 1), st.integers(0, 2**32))
def test_byte_level_corruption(index, seed):
    rng = random.Random(seed)
    data = bytearray(EXAMPLE_TEXTS[index].encode())
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(data))
        if op < 0.4:
            data[pos] = rng.randrange(256)
        elif op < 0.7:
            del data[pos : pos + rng.randint(1, 50)]
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 5)))
    check(data.decode("utf-8", errors="replace"))


def test_limits_and_nesting_are_clear_errors():
    doc = {
        "format": "chainstudio/graph",
        "version": 1,
        "nodes": [{"id": f"n{i}", "kind": "join", "name": f"n{i}"} for i in range(10_001)],
    }
    try:
        from_document(doc)
    except LoadError as exc:
        assert "over the limit of 10,000" in str(exc)
    else:
        raise AssertionError("10,001 nodes loaded")
    nested = {"format": "chainstudio/graph", "version": 1, "description": {}}
    inner = nested["description"]
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    try:
        from_document(nested)
    except LoadError as exc:
        assert exc.problems
    else:
        raise AssertionError("nested junk loaded")
