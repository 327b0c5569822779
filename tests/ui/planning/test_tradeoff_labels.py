"""Trade-off chart labels stay inside the plot: the right-most point's label used to run into the legend."""

from PySide6.QtCore import QPointF, QRectF, QSizeF

from chainstudio.ui.planning.tradeoff_chart import label_box

PLOT = QRectF(100, 20, 800, 200)
SIZE = QSizeF(300, 16)


def test_a_label_sits_right_of_its_point_where_there_is_room():
    box = label_box(QPointF(150, 100), SIZE, [], PLOT)
    assert box.left() == 163 and box.center().y() == 100


def test_a_label_near_the_right_edge_goes_left_of_its_point():
    box = label_box(QPointF(880, 100), SIZE, [], PLOT)
    assert box.right() == 867 and box.right() <= PLOT.right()


def test_colliding_labels_take_the_next_free_line():
    first = label_box(QPointF(880, 100), SIZE, [], PLOT)
    second = label_box(QPointF(870, 102), SIZE, [first], PLOT)
    assert not second.intersects(first) and second.right() <= PLOT.right()
