"""The overview's blocks moved card by card as a run restyles them (``overview_looks``) are what gathering them
from every card gives: fills, names, critical path and problem marks."""

from chainstudio.core.editing.document import Document
from chainstudio.ui.canvas.overview_looks import BlockLooks
from chainstudio.ui.canvas.run_overlay import Badge
from tests.ui.canvas.test_overview_geometry import far_out, layered_graph


def snapshot(looks: BlockLooks) -> tuple:
    def box(rect) -> tuple:
        return (rect.x(), rect.y(), rect.width(), rect.height())

    fills = {rgba: sorted(box(r) for r in blocks.values()) for rgba, (_c, blocks) in looks.fills.items()}
    names = {n: (box(rect), name, dark) for n, (rect, name, dark) in looks.names.items()}
    critical = {n: box(rect) for n, rect in looks.critical.items()}
    problems = {n: (point.x(), point.y(), severity) for n, (point, severity) in looks.problems.items()}
    return fills, names, critical, problems


def gathered(scene) -> tuple:
    looks = BlockLooks()
    looks.rebuild(scene.overview._rects, scene.overview._styles, scene.nodes)
    return snapshot(looks)


def test_a_run_s_restyles_move_only_the_cards_it_changed_and_give_what_gathering_all_gives(qapp, monkeypatch):
    document = Document()
    document.replace(layered_graph())
    scene, _view = far_out(document)
    updates: list[int] = []  # cards moved one by one, per restyle
    original = BlockLooks.update

    def counted(self: BlockLooks, node_ids, *args) -> None:
        node_ids = list(node_ids)
        updates.append(len(node_ids))
        original(self, node_ids, *args)

    monkeypatch.setattr(BlockLooks, "update", counted)
    cards = sorted(scene.nodes.values(), key=lambda item: item.name)
    steps = [
        lambda: [card.set_run(Badge("queued", "…")) for card in cards],
        lambda: cards[3].set_run(Badge("running", "▶")),
        lambda: cards[4].set_run(Badge("retrying", "↻")),
        lambda: cards[3].set_run(Badge("succeeded", "✓")),
        lambda: cards[4].set_run(Badge("failed", "✗")),
        lambda: cards[9].set_problems("error", "broken"),
        lambda: cards[5].set_run(Badge("skipped", "⤼")),
        lambda: cards[3].set_run(Badge("succeeded", "✓"), critical=True),
        lambda: cards[9].set_problems(None),
        lambda: [card.set_run(Badge("cancelled", "■")) for card in cards[10:16]],
        lambda: cards[3].set_run(None),
    ]
    seen = set()
    for step in steps:
        step()
        scene.flush()
        ours = snapshot(scene.overview._looks)
        assert ours == gathered(scene)
        seen.add(tuple(sorted(ours[0])))
    assert updates == [1, 1, 1, 1, 1, 1, 1, 1, 6, 1]  # after the first (every card: gathered afresh), card by card
    assert len(seen) > 3  # (the colours did change)
    assert snapshot(scene.overview._looks)[2] == {}  # the critical mark went with the run
    fills = scene.overview._fills
    assert sum(len(rects) for _c, rects in fills.values()) == len(scene.nodes)
