"""Validation of structured steps: the schema, the check's regex, the fields templates read from a schema,
a judge template's ``answer``, and pick-best steps."""

import json

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import validate

SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"intent": {"type": "string"}, "entities": {"type": "array", "items": {"type": "string"}}},
        "required": ["intent"],
    }
)


def graph(prompt: str, **params) -> Graph:
    g = Graph("g", inputs=[GraphInput("q", "x")])
    g.add("input", "q", input="q")
    g.add("llm", "extract", prompt="{{ q }}", **params)
    g.add("llm", "use", prompt=prompt)
    g.add("output", "out", template="{{ use }}")
    g.connect("q", "extract")
    g.connect("extract", "use")
    g.connect("use", "out")
    return g


def messages(g: Graph) -> list[str]:
    return [f"{p.location}: {p.message}" for p in validate(g)]


def test_declared_fields_pass_and_unknown_ones_are_flagged():
    ok = graph(
        "{{ extract.intent }} {{ extract.entities[0] }} {% for e in extract.entities %}{{ e }}{% endfor %}",
        output_schema=SCHEMA,
    )
    assert messages(ok) == []
    bad = graph("{{ extract.intnet }}", output_schema=SCHEMA)
    assert messages(bad) == [
        "use.prompt: reads extract.intnet, which extract's output schema does not declare (fields: intent, entities)"
    ]


def test_a_schema_that_is_not_json_or_not_a_schema_is_an_error():
    assert any("output_schema: not valid JSON" in m for m in messages(graph("{{ extract }}", output_schema="{oops")))
    wrong = messages(graph("{{ extract }}", output_schema='{"type": "objekt"}'))
    assert any("not a valid JSON schema" in m for m in wrong)


def test_a_bad_regex_is_an_error_and_a_judge_template_may_read_answer():
    assert any("check_regex: not a regular expression" in m for m in messages(graph("{{ extract }}", check_regex="(")))
    assert messages(graph("{{ extract }}", check_judge="Is {{ answer }} about {{ q }}?")) == []


def test_pick_best_needs_candidates_and_a_score_field_they_declare():
    g = Graph("p")
    g.add("llm", "a", prompt="x", output_schema='{"type":"object","properties":{"score":{"type":"number"}}}')
    g.add("llm", "b", prompt="y")
    g.add("pick_best", "best", score_field="score")
    g.connect("a", "best")
    g.connect("b", "best")
    assert messages(g) == [
        "graph: the graph has no output step; a run returns its last steps' outputs",
        "best.score_field: candidate 'b' declares no field 'score' in an output schema",
    ]
