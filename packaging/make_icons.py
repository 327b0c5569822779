"""Render resources/icons/chainstudio.svg to the PNG sizes (and a Windows .ico) with QSvgRenderer.

    .venv/bin/python packaging/make_icons.py

The SVG is the source; the PNGs are committed so the app and the bundle need no SVG renderer at start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def write_ico(images: dict, path: Path) -> None:
    """A PNG-compressed .ico (Windows Vista and later read it), written by hand: Qt's ico plugin is optional."""
    import struct

    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    blobs = []
    for size in ICO_SIZES:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        images[size].save(buffer, "PNG")
        buffer.close()
        blobs.append((size, bytes(data.data())))
    header = struct.pack("<HHH", 0, 1, len(blobs))
    offset = len(header) + 16 * len(blobs)
    entries, payload = b"", b""
    for size, blob in blobs:
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(payload))
        payload += blob
    path.write_bytes(header + entries + payload)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, image I/O)
    svg = ICONS / "chainstudio.svg"
    images = {}
    for size in SIZES:
        images[size] = render(svg, size)
        out = ICONS / f"chainstudio-{size}.png"
        if not images[size].save(str(out), "PNG"):
            raise SystemExit(f"cannot write {out}")
        print(out.relative_to(ICONS.parent.parent))
    write_ico(images, ICONS / "chainstudio.ico")
    print((ICONS / "chainstudio.ico").relative_to(ICONS.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
