"""Structured steps in the window: a checked step's inspector fields (typed into, validated at once), its
card, a pick-best step from the palette's kind, and a run of the SQL example whose Gantt shows the rejected
answer, the judge and the repair, with the checks in the output panel."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.core.gantt.segments import node_segments
from chainstudio.paths import examples_dir
from tests.ui.canvas_helpers import card, card_point


def select(window, name: str) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, name))


def test_a_schema_typed_in_the_inspector_is_checked_and_its_fields_are_known(window, qtbot):
    window.open_path(examples_dir() / "sql-check-repair.chain.json")
    window.view.fit()
    select(window, "generate_sql")
    form = window.inspector.node_form
    assert {"output_schema", "check_regex", "check_judge", "repairs"} <= set(form.editors)
    assert "{ } schema" in card(window, "generate_sql").card_text.detail[1]
    schema = form.editors["output_schema"]
    schema.setFocus()
    schema.selectAll()
    QTest.keyClicks(schema, '{"type": "object", "properties": {"query": {"type": "string"}}}')
    window.inspector.flush()
    qtbot.waitUntil(lambda: any("generate_sql.sql" in p.message for p in window.document.problems))
    problem = next(p for p in window.document.problems if "generate_sql.sql" in p.message)
    assert problem.severity == "error" and "(fields: query)" in problem.message
    window.menu_actions["undo"].trigger()
    qtbot.waitUntil(lambda: not [p for p in window.document.problems if p.severity == "error"])


def test_the_sql_example_runs_with_a_repair_in_the_gantt_and_the_output_panel(default_window, qtbot):
    window = default_window
    window.open_path(examples_dir() / "sql-check-repair.chain.json")
    window.runs.request_run()
    qtbot.waitUntil(lambda: window.runs.controller.run is not None, timeout=5000)
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=60000)
    state = window.runs.controller.run.state
    assert state.status == "succeeded"
    span = state.span_by_name("generate_sql")
    kinds = [s.kind for s in node_segments(state, span)]
    assert "rejected" in kinds and "check" in kinds  # the default seed's judge rejects the first answer
    window.select_node(window.document.graph.resolve("generate_sql").id)
    qtbot.waitUntil(lambda: "--- CHECKS ---" in window.runs.output.output.toPlainText())
    assert "judge check rejected" in window.runs.output.output.toPlainText()
