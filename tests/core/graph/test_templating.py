import pytest

from chainstudio.core.graph.templating import TemplateProblem, references, render


def test_references_steps_and_inputs():
    refs = references("{{ inputs.topic }} {{ hardware | truncate_chars(5) }} {% for x in items %}{{ x }}{% endfor %}")
    assert refs.steps == {"hardware", "items"}
    assert refs.inputs == {"topic"}
    assert not refs.all_inputs
    assert references("{{ inputs['k'] }}").inputs == {"k"}
    assert references("{% for k in inputs %}{{ k }}{% endfor %}").all_inputs


def test_render_with_filters():
    text = render("{{ inputs.topic }}: {{ a | truncate_chars(3) }}", {"inputs": {"topic": "T"}, "a": "abcdef"})
    assert text == "T: abc…"
    long = " ".join(["word"] * 100)
    assert len(render("{{ a | truncate_tokens(10) }}", {"a": long})) < len(long) // 3


def test_missing_name_is_named():
    with pytest.raises(TemplateProblem) as info:
        render("{{ hardwar }}", {"hardware": "x"})
    assert info.value.missing == "hardwar"
    with pytest.raises(TemplateProblem) as info:
        render("{{ inputs.nope }}", {"inputs": {}})
    assert info.value.missing == "nope"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ a._private }}",
        "{{ range(10**9) | list }}",
        "{{ 'x' * 10**9 }}",
        "{{ ['x'] * 10**9 }}",
        "{{ 2 ** 64 ** 64 ** 64 }}",
        "{% set s = 'x' * 1000000 %}{{ s + s + s }}",
    ],
)
def test_untrusted_templates_are_refused(source):
    class Obj:
        _private = "secret"

    with pytest.raises(TemplateProblem):
        render(source, {"a": Obj()})


def test_syntax_error_reports_line():
    with pytest.raises(TemplateProblem, match="line 2"):
        references("ok\n{% if %}")


def test_unknown_filter_is_a_template_problem_not_a_crash():
    with pytest.raises(TemplateProblem, match="No filter named 'trunc_chars'"):
        references("{{ hardware | trunc_chars(3) }}")
    with pytest.raises(TemplateProblem):
        render("{{ x | nope }}", {"x": "1"})
