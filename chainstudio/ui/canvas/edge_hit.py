"""Whether a click, a hover or a small query rectangle can touch an edge, decided without its hit shape.

Qt asks every item whose bounding rectangle contains the point whether its shape does; where a big graph is
densest, hundreds of long edges' rectangles contain a point, and stroking and testing each one's hit shape
took 50-80 ms per click or hover. The curve lies inside the convex hull of its four control points, so
inside their bounding box: ``may_touch`` splits the cubic in halves (de Casteljau) and keeps only the halves
whose box, widened by ``REACH``, meets the query, until a half is small; an edge it rules out cannot contain
the point (the hit shape is the curve stroked ``EDGE_HIT_WIDTH`` wide with square caps, so no point of it is
farther than ``REACH`` from the curve). Only the edges it does not rule out are tested against their shape,
so what a click or hover selects is exactly what it selected before.
"""

from __future__ import annotations

from chainstudio.ui.canvas import geometry as geo

REACH = geo.EDGE_HIT_WIDTH  # ≥ the half width times √2 (a square cap's corner), with room to spare
SMALL = 2 * REACH  # a piece of curve this size (width + height) near the query: maybe touching


def may_touch(controls: tuple[float, ...], left: float, top: float, right: float, bottom: float) -> bool:
    """False only if every point of the cubic ``controls`` (x, y four times) is farther than ``REACH`` from
    the rectangle (``left`` ≤ ``right``, ``top`` ≤ ``bottom``; a point is a rectangle of no size)."""
    left, top, right, bottom = left - REACH, top - REACH, right + REACH, bottom + REACH
    pieces = [controls]
    while pieces:
        x0, y0, x1, y1, x2, y2, x3, y3 = pieces.pop()
        low_x, high_x = min(x0, x1, x2, x3), max(x0, x1, x2, x3)
        if low_x > right or high_x < left:
            continue
        low_y, high_y = min(y0, y1, y2, y3), max(y0, y1, y2, y3)
        if low_y > bottom or high_y < top:
            continue
        if high_x - low_x + high_y - low_y <= SMALL:
            return True
        ax, ay = (x0 + x1) / 2, (y0 + y1) / 2  # de Casteljau at t = 1/2
        bx, by = (x1 + x2) / 2, (y1 + y2) / 2
        cx, cy = (x2 + x3) / 2, (y2 + y3) / 2
        dx, dy = (ax + bx) / 2, (ay + by) / 2
        ex, ey = (bx + cx) / 2, (by + cy) / 2
        mx, my = (dx + ex) / 2, (dy + ey) / 2
        pieces.append((x0, y0, ax, ay, dx, dy, mx, my))
        pieces.append((mx, my, ex, ey, cx, cy, x3, y3))
    return False
