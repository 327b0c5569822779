"""The canvas, the status bar, the inspector and the run/plan checks share one analysis per graph revision."""

from PySide6.QtCore import QPointF

from chainstudio.core.graph import analysis as analysis_module
from chainstudio.paths import examples_dir


def test_one_edit_is_analysed_once(window, monkeypatch):
    window.open_path(examples_dir() / "research-hybrid.chain.json")
    made = []  # every topological sort of the graph, whoever asks for layers, ancestry or cycles
    original = analysis_module.generations

    def counting(dag):
        made.append(dag)
        return original(dag)

    monkeypatch.setattr(analysis_module, "generations", counting)
    window.add_node("llm", QPointF(0.0, 600.0))  # selects the new step: the inspector shows it
    window.scene.flush()  # layer bands (normally on the next loop turn)
    window.inspector.update_problems()  # the inspector's problems (normally after a short delay)
    assert window.summary.text().startswith("9 steps")
    assert len(made) == 1 and made[0] is window.document.analysis.dag
    window.scene.flush()
    window.inspector.update_problems()
    assert len(made) == 1  # asked again, same revision: nothing recomputed
