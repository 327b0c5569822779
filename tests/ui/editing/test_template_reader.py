"""The window's event loop parses no template (issue 14): its document validates without Jinja2's parser,
and the ``TemplateReader`` parses what is left on a thread of its own, then the problems are recomputed."""

from __future__ import annotations

import contextlib
import threading
import uuid

from chainstudio.core.editing.document import Document
from chainstudio.core.graph import templating
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import errors, validate

BROKEN = "{% if topic %}" + "{{ topic ~ 'x' }}" * 50  # needs the parser: an if without its endif
FINE = "{% for i in range(2) %}{{ topic ~ i }}{% endfor %}"


def graph_with(prompt: str) -> Graph:
    graph = Graph("t", inputs=[GraphInput("topic", "a topic")])
    source = graph.add("input", "topic", input="topic")
    step = graph.add("llm", "step", prompt=f"{prompt} {uuid.uuid4()}")  # a source no earlier test read
    graph.connect(source.id, step.id)
    return graph


def parsed_on(monkeypatch) -> list[str]:
    """The names of the threads that run Jinja2's parser for a template, from now on."""
    threads: list[str] = []
    parse = templating._parse.__wrapped__

    def recording(source: str):
        threads.append(threading.current_thread().name)
        return parse(source)

    monkeypatch.setattr(templating, "_parse", recording)
    return threads


def test_validation_without_parsing_lists_what_it_left_unread(monkeypatch):
    threads = parsed_on(monkeypatch)
    graph = graph_with(BROKEN)
    prompt = next(n for n in graph.nodes.values() if n.name == "step").params["prompt"]
    unread: set[str] = set()
    assert not errors(validate(graph, unread=unread))
    assert unread == {prompt} and threads == []
    assert any("syntax error" in p.message for p in errors(validate(graph)))  # the parser finds it
    unread.clear()
    assert any("syntax error" in p.message for p in errors(validate(graph, unread=unread)))  # remembered
    assert unread == set() and len(threads) == 1  # parsed once, its problem remembered


def test_a_document_that_defers_parsing_hears_when_the_templates_were_read(monkeypatch):
    threads = parsed_on(monkeypatch)
    document = Document(graph_with(BROKEN))
    document.defer_parsing = True
    heard = []
    document.subscribe(heard.append)
    assert not errors(document.problems) and document.unread and threads == []
    for source in list(document.unread):
        with contextlib.suppress(templating.TemplateProblem):
            templating.references(source)
    document.templates_read()
    assert heard and heard[-1].problems and not heard[-1]  # not an edit: the graph is the same
    assert any("syntax error" in p.message for p in errors(document.problems))


def test_the_window_parses_templates_off_its_event_loop(app_window, qtbot, monkeypatch, tmp_path):
    from chainstudio.core.storage import fileformat

    threads = parsed_on(monkeypatch)
    path = tmp_path / "broken.chain.json"
    fileformat.save(graph_with(BROKEN), path)
    threads.clear()
    app_window.files.open_path(path, confirm=False)
    qtbot.waitUntil(lambda: any("syntax error" in p.message for p in errors(app_window.document.problems)))
    step = next(n for n in app_window.document.graph.nodes.values() if n.name == "step")
    qtbot.waitUntil(lambda: app_window.scene.nodes[step.id].problem == "error")  # the card's badge follows
    app_window.controller.set_param(step.id, "prompt", f"{FINE} {uuid.uuid4()}")  # an edit: read again, off the loop
    qtbot.waitUntil(lambda: not errors(app_window.document.problems) and not app_window.controller.templates.busy)
    main = threading.main_thread().name
    assert threads and main not in threads, threads


def test_a_big_graph_s_steps_are_looked_at_a_part_per_turn_of_the_loop(app_window, qtbot, monkeypatch, tmp_path):
    """Opening 1,500 steps: the reader looks at LOOK_PART of them per turn (all at once took 75-105 ms of the
    window's thread for 10,000), and the one template that needs the parser is still read, off the loop."""
    from chainstudio.core.storage import fileformat
    from chainstudio.ui.editing import template_reader

    graph = graph_with(BROKEN)
    topic = next(n for n in graph.nodes.values() if n.kind == "input")
    for i in range(1_500):
        step = graph.add("llm", f"plain_{i}", prompt=f"About {{{{ topic }}}} {i}")
        graph.connect(topic.id, step.id)
    path = tmp_path / "big.chain.json"
    fileformat.save(graph, path)
    looked: list[int] = []
    look = template_reader.TemplateReader._look
    monkeypatch.setattr(
        template_reader.TemplateReader, "_look", lambda self, ids: looked.append(len(ids)) or look(self, ids)
    )
    threads = parsed_on(monkeypatch)
    app_window.files.open_path(path, confirm=False)
    broken = lambda: any("syntax error" in p.message for p in errors(app_window.document.problems or []))  # noqa: E731
    qtbot.waitUntil(lambda: app_window.document.known_problems is not None and broken(), timeout=30_000)
    assert max(looked) <= template_reader.LOOK_PART and sum(looked) >= 1_502
    assert threads and threading.main_thread().name not in threads
