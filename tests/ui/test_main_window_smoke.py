from chainstudio.ui.main_window import MainWindow
from tests.conftest import EXAMPLES


def test_main_window_opens_and_loads_example(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.open_path(str(EXAMPLES / "research-hybrid.chain.json"))
    assert window.graph.name == "research-hybrid"
    assert "research-hybrid" in window.windowTitle()
