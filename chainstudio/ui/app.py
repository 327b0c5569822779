"""QApplication + qasync event loop start-up."""

from __future__ import annotations

import asyncio
import sys


def create_application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ChainStudio")
    app.setOrganizationName("ChainStudio")
    return app


def run_app(files: list[str]) -> int:
    """Open the main window on a qasync loop and block until the app quits."""
    import qasync

    from chainstudio.ui.main_window import MainWindow

    app = create_application()

    async def main() -> None:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        window = MainWindow()
        for path in files:
            window.open_path(path)
        window.show()
        await closed.wait()

    # qasync 0.28 on Python 3.11: asyncio.run(loop_factory=...) does not exist; use a Runner.
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(main())
    return 0
