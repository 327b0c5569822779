"""The app's look: its icon, Fusion, and a light or dark palette chosen by the system or CHAINSTUDIO_THEME."""

import pytest
from PySide6.QtGui import QColor, QPalette

from chainstudio.paths import resources_dir
from chainstudio.ui import app as app_module
from chainstudio.ui import theme
from chainstudio.ui.gantt.theme import Theme


@pytest.fixture
def restore_look(qapp):
    """The session's QApplication is shared: put its style and palette back afterwards."""
    style, palette, icon = qapp.style().name(), qapp.palette(), qapp.windowIcon()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setWindowIcon(icon)
    theme.use_dark(window_lightness(qapp) < 128)


def window_lightness(app) -> int:
    return app.palette().color(QPalette.ColorRole.Window).lightness()


def test_icon_sizes_are_rendered_from_the_svg():
    icons = resources_dir() / "icons"
    assert (icons / "chainstudio.svg").is_file()
    for size in (16, 32, 64, 128, 256):
        assert (icons / f"chainstudio-{size}.png").is_file()


def test_create_application_sets_the_icon_and_fusion(restore_look, monkeypatch):
    monkeypatch.delenv("CHAINSTUDIO_THEME", raising=False)
    app = app_module.create_application()
    assert app is restore_look
    icon = app.windowIcon()
    assert not icon.isNull()
    sizes = {size.width() for size in icon.availableSizes()}
    assert {16, 32, 256} <= sizes
    assert not icon.pixmap(16, 16).isNull()
    assert app.style().name().lower() == "fusion"


def test_without_a_desktop_the_palette_is_light(restore_look, monkeypatch):
    monkeypatch.delenv("CHAINSTUDIO_THEME", raising=False)
    app_module.apply_look(restore_look)
    assert window_lightness(restore_look) >= 128
    assert not Theme.from_palette(restore_look.palette()).dark


def test_theme_env_var_forces_dark_then_light(restore_look, monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_THEME", "dark")
    app_module.apply_look(restore_look)
    palette = restore_look.palette()
    assert window_lightness(restore_look) < 128
    assert palette.color(QPalette.ColorRole.Text).lightness() > 180  # readable text on dark bases
    assert palette.color(QPalette.ColorRole.Base).lightness() < 64
    assert Theme.from_palette(palette).dark  # the Gantt follows
    assert theme.CANVAS_BACKGROUND.lightness() < 64  # and the canvas
    assert theme.TEXT.lightness() > 180

    monkeypatch.setenv("CHAINSTUDIO_THEME", "LIGHT")
    app_module.apply_look(restore_look)
    assert window_lightness(restore_look) >= 128
    assert QColor("#f4f5f7") == theme.CANVAS_BACKGROUND


def test_an_unknown_theme_value_follows_the_system(restore_look, monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_THEME", "purple")
    assert app_module.forced_theme() is None
    app_module.apply_look(restore_look)
    assert window_lightness(restore_look) >= 128


def test_widgets_created_under_dark_get_the_dark_palette(restore_look, monkeypatch, qtbot):
    from PySide6.QtWidgets import QLineEdit

    monkeypatch.setenv("CHAINSTUDIO_THEME", "dark")
    app_module.apply_look(restore_look)
    edit = QLineEdit()
    qtbot.addWidget(edit)
    assert edit.palette().color(QPalette.ColorRole.Base).lightness() < 64
