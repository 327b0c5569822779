"""``room_for_a_column``: a step inserted between two adjacent columns gets a column of its own."""

from chainstudio.core.editing.commands import MoveNodes
from chainstudio.core.editing.layout import COLUMN_GAP, auto_layout_positions, room_for_a_column
from tests.core.helpers import fan_out


def laid_out(n: int = 3):
    g = fan_out(n)
    MoveNodes(auto_layout_positions(g)).apply(g)
    return g


def names(g, moves) -> dict[str, tuple[float, float]]:
    return {g.nodes[n].name: p for n, p in moves.items()}


def test_adjacent_columns_make_room_by_moving_everything_from_the_target_column_right():
    g = laid_out()
    column, moves = room_for_a_column(g, g.resolve("topic").id, g.resolve("b1").id)
    assert column == COLUMN_GAP
    moved = names(g, moves)
    assert set(moved) == {"b0", "b1", "b2", "merged", "out"}  # all of them, not only b1's descendants
    for name, (x, y) in moved.items():
        before = g.resolve(name).position
        assert x == before[0] + COLUMN_GAP and y == before[1]


def test_no_moves_when_a_free_column_is_there_already():
    g = laid_out()
    g.resolve("out").position = (g.resolve("merged").position[0] + 2 * COLUMN_GAP, 0.0)
    column, moves = room_for_a_column(g, g.resolve("merged").id, g.resolve("out").id)
    assert moves == {} and column == g.resolve("merged").position[0] + COLUMN_GAP


def test_no_moves_for_an_edge_drawn_right_to_left():
    g = laid_out()
    g.resolve("out").position = (-500.0, 0.0)
    _, moves = room_for_a_column(g, g.resolve("merged").id, g.resolve("out").id)
    assert moves == {}


def test_partial_room_moves_only_as_far_as_needed():
    g = laid_out()
    merged_x = g.resolve("merged").position[0]
    g.resolve("out").position = (merged_x + 450.0, 0.0)
    _, moves = room_for_a_column(g, g.resolve("merged").id, g.resolve("out").id)
    assert names(g, moves) == {"out": (merged_x + 2 * COLUMN_GAP, 0.0)}
