"""The run toolbar's Warm button: the run, the estimate and the advisor get the warm-prefix option."""

from chainstudio.core.run import events as ev
from chainstudio.core.storage.fileformat import save
from tests.core.run.test_warm_prefix import context_first


def test_warm_makes_the_fan_out_wait_for_the_first_branch(qtbot, app_window, tmp_path):
    path = tmp_path / "first.chain.json"
    save(context_first(), path)
    assert app_window.open_path(path)
    toolbar = app_window.runs.toolbar
    assert not toolbar.options().warm_prefix
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    toolbar.warm_prefix.click()
    assert toolbar.options().warm_prefix
    assert app_window.advisor.plan.keywords(app_window.document.graph)["warm_prefix"] is True
    app_window.runs.request_run()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20_000)
    run = app_window.runs.controller.run
    waits = [e for e in run.events if isinstance(e, ev.NodeWaiting) and e.reason == "prefix"]
    assert len(waits) == 3 and run.context.warm_prefix
