"""Templates of plain ``{{ name }}`` / ``{{ inputs.name }}`` tags render by substitution, without compiling
(the bulk of a 10,000-step run's engine time): the result must be Jinja2's, character for character."""

from __future__ import annotations

import random

import pytest

from chainstudio.core.graph import templating
from chainstudio.core.graph.sandbox import MAX_RESULT_CHARS
from chainstudio.core.graph.templating import TemplateInputs, TemplateProblem, collect, render

CONTEXT = {"a": "A1", "b": "two\nlines {{ not a tag }}", "c": "", "inputs": {"topic": "T", "get": "G", "items": "I"}}
PIECES = [
    "{{ a }}",
    "{{b}}",
    "{{  c  }}",
    "{{ inputs.topic }}",
    "{{ inputs.get }}",
    "{{inputs.items}}",
    "x",
    " ",
    "\n",
    "{",
    "}",
    "}}",
    "{ a }",
    "é",
    "{{ a }}\n",
]


def jinja(source: str, context: dict) -> str:
    values = {**context, "inputs": TemplateInputs(context["inputs"])}
    return collect(templating._compiled(source).generate(**values))


def test_plain_templates_render_as_jinja2_renders_them():
    rng = random.Random(14)
    plain = 0
    for _ in range(600):
        source = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))
        if templating._plain_parts(source) is None:
            continue  # e.g. "{" next to "{{ a }}" makes "{{{": Jinja2's to say
        plain += 1
        assert render(source, CONTEXT) == jinja(source, CONTEXT), source
    assert plain > 300


@pytest.mark.parametrize(
    "source",
    ["{{ a.upper }}", "{{ inputs }}", "{{ range }}", "{{- a }}", "{{ a | upper }}", "a\r\nb {{ a }}", "{{ true }}"],
)
def test_anything_else_goes_to_jinja2(source):
    assert templating._plain_parts(source) is None
    assert render(source, CONTEXT) == jinja(source, CONTEXT)


def test_a_missing_name_or_an_oversized_result_is_jinja2s_problem():
    with pytest.raises(TemplateProblem, match="missing_step"):
        render("{{ missing_step }}", CONTEXT)
    with pytest.raises(TemplateProblem, match="missing"):
        render("{{ inputs.missing }}", CONTEXT)
    big = {**CONTEXT, "a": "x" * (MAX_RESULT_CHARS // 2 + 1)}
    with pytest.raises(TemplateProblem, match="size limit"):
        render("{{ a }}{{ a }}", big)
