"""The node canvas: a QGraphicsScene that mirrors a Document, and the view the user works in."""
