"""A step's output schema from a hostile file, against a hostile answer: checks whose cost has no bound in
jsonschema (``uniqueItems`` compares objects pairwise: 20,000 took minutes; ``anyOf`` nested with ``$ref``
is exponential in the answer's depth; a recursive schema over a deeply nested answer raised RecursionError
out of the check) fail that answer's check in one line within a CPU budget."""

from __future__ import annotations

import json

import pytest

from chainstudio.core.run import structured
from chainstudio.core.run.structured import parse_answer

EXPLODES = {
    "$defs": {
        "n": {
            "anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/n"}, "maxItems": 0},
                {"type": "array", "items": {"$ref": "#/$defs/n"}},
                {"type": "integer"},
            ]
        }
    },
    "$ref": "#/$defs/n",
}


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        ({"type": "array", "uniqueItems": True}, json.dumps([{"a": i} for i in range(20000)])),
        (EXPLODES, "[" * 30 + "1" + "]" * 30),
    ],
    ids=["uniqueItems", "anyOf"],
)
def test_a_check_that_costs_too_much_fails_in_one_line(monkeypatch, schema, answer):
    monkeypatch.setattr(structured, "CHECK_CPU_SECONDS", 0.5)
    value, complaint = parse_answer(answer, schema)
    assert value is None and complaint is not None and "took over 0.5 s of CPU time" in complaint, complaint
    assert "\n" not in complaint


def test_a_recursive_schema_over_a_deep_answer_is_a_complaint_not_an_error():
    value, complaint = parse_answer("[" * 600 + "]" * 600, {"type": "array", "items": {"$ref": "#"}})
    assert value is None and complaint == "the schema cannot be checked: the answer is nested too deeply for it"


def test_ordinary_checks_keep_their_results_under_the_budget():
    schema = {"type": "array", "uniqueItems": True, "items": {"type": "object", "required": ["a"]}}
    assert parse_answer(json.dumps([{"a": i} for i in range(300)]), schema) == ([{"a": i} for i in range(300)], None)
    _, complaint = parse_answer(json.dumps([{"a": 1}, {"a": 1}]), schema)
    assert complaint is not None and "non-unique" in complaint


@pytest.mark.parametrize("ref", ["#/$defs/nope", "http://example.com/s.json", "other.json"])
def test_a_reference_to_nothing_is_a_complaint_not_an_error(ref):
    """A ``$ref`` to nothing in the schema, or to another file (nothing is fetched), passes the schema's own
    check; matching an answer against it raised jsonschema's _WrappedReferencingError out of the check."""
    value, complaint = parse_answer('{"a": 1}', {"$ref": ref})
    assert value is None and complaint is not None and "cannot be resolved" in complaint and "\n" not in complaint
