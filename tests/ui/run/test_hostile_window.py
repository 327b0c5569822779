"""The held-out hostile servers (issue 14, second round) against the real window on the qasync loop: the key
quoted back in any form shows nowhere in the window or its history, a huge chunk or an answer held open
neither hangs the run nor loses the other steps."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions
from chainstudio.core.storage.fileformat import save
from chainstudio.core.storage.settings import Settings, store_api_key
from chainstudio.core.text_safety import secret_forms
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-WINDOW/held+out=2c41d0e9b7"
MODES = ("key_in_headers", "key_1char_stream", "key_b64", "key_nested_error", "one_huge_chunk", "done_then_ping")


def _texts(win: QWidget) -> str:
    found = []
    for widget in win.findChildren(QWidget):
        if isinstance(widget, (QPlainTextEdit, QTextEdit)):
            found.append(widget.toPlainText())
        elif isinstance(widget, (QLabel, QLineEdit)):
            found.append(widget.text())
        found.append(widget.toolTip())
    return "\n".join(found)


def test_hostile_servers_in_the_window(qtbot, app_window, tmp_path):
    graph = Graph("hostile-window")
    for i, mode in enumerate(MODES):
        graph.add("llm", f"s{i}", prompt=f"[[hostile={mode}]] [[size=3000000]]", retries=0, timeout=20.0)
    graph.add("llm", "plain", prompt="a plain question", retries=0)
    path = tmp_path / "hostile.chain.json"
    save(graph, path)
    with FakeOpenAIServer(api_key=KEY, echo_auth=True, chunk_delay=0) as server:
        app_window.services.settings.save(Settings(base_url=server.url))
        store_api_key(KEY)
        assert app_window.open_path(path)
        app_window.runs.toolbar.set_options(provider="openai")
        app_window.runs.request_run(RunOptions(provider="openai"))
        qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=60000)
        assert server.stats.statuses.get(200, 0) == 4  # the key was accepted (key_b64 answers 401 itself)
    state = app_window.runs.state
    status = {s.name: s.status for s in state.spans.values()}
    assert status["plain"] == "succeeded" and status["s5"] == "succeeded"  # done_then_ping: not held open
    assert status["s4"] == "failed" and "max_tokens" in state.span_by_name("s4").error  # 3 MB for 512 tokens
    for name in ("s0", "s1", "s2", "s3", "s4", "s5", "plain"):  # each step's output and errors shown in turn
        app_window.runs.output.set_node(graph.node_by_name(name).id)
        shown = _texts(app_window)
        for form in secret_forms(KEY):
            assert form not in shown, f"{form!r} shown in the window ({name})"
    for stored in tmp_path.glob("history.sqlite3*"):  # the database and its write-ahead log
        content = stored.read_bytes()
        for form in secret_forms(KEY):
            assert form.encode() not in content, f"{form!r} in {stored.name}"


def test_a_base_url_with_credentials_is_shown_masked_before_any_run(app_window):
    """The banner and the status bar say where F5 runs: they showed a base URL's ``?api_key=`` value whole
    (only ``user:password@`` was taken out), before any provider had registered it as a secret."""
    url = "http://admin:PW-window-77@127.0.0.1:9/v1?api_key=TOKEN-window-77"
    app_window.services.settings.save(Settings(provider="openai", base_url=url))
    app_window.runs.toolbar.set_options(provider="openai")
    app_window.runs.provider_changed()
    shown = _texts(app_window) + app_window.statusBar().currentMessage()
    assert "127.0.0.1:9/v1?api_key=***" in shown
    assert "TOKEN-window-77" not in shown and "PW-window-77" not in shown
