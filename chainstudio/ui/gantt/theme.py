"""Colours of the Gantt panel, light and dark, and the legend's entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QColor, QPalette

STATUS_HEX_LIGHT = {
    "pending": "#cbd5e1",
    "queued": "#94a3b8",
    "waiting": "#f59e0b",
    "running": "#2563eb",
    "retrying": "#ea580c",
    "succeeded": "#16a34a",
    "failed": "#dc2626",
    "skipped": "#9ca3af",
    "cancelled": "#64748b",
    "not_run": "#e2e8f0",
    "not_taken": "#c4b5fd",
    # not statuses: how a step answered without a call is drawn (canvas badges, Gantt, legend)
    "cached": "#0d9488",
    "pinned": "#7c3aed",
}
STATUS_HEX_DARK = {
    "pending": "#475569",
    "queued": "#64748b",
    "waiting": "#fbbf24",
    "running": "#60a5fa",
    "retrying": "#fb923c",
    "succeeded": "#4ade80",
    "failed": "#f87171",
    "skipped": "#6b7280",
    "cancelled": "#94a3b8",
    "not_run": "#334155",
    "not_taken": "#6d28d9",
    "cached": "#2dd4bf",
    "pinned": "#a78bfa",
}


@dataclass
class Theme:
    dark: bool
    background: QColor
    text: QColor
    muted: QColor
    grid: QColor
    axis_bg: QColor
    label_bg: QColor
    group_bg: QColor
    run_bg: QColor
    stripe: QColor
    highlight_bg: QColor
    highlight: QColor
    critical: QColor
    now_line: QColor
    status: dict[str, QColor] = field(default_factory=dict)
    retry: QColor = field(default_factory=QColor)
    backoff: QColor = field(default_factory=QColor)

    def status_color(self, status: str) -> QColor:
        return self.status.get(status, self.status["pending"])

    def ttft_color(self, status: str) -> QColor:
        """Time to first token: a pale tint of the status colour."""
        return blend(self.status_color(status), self.background, 0.55)

    @classmethod
    def light(cls) -> Theme:
        return cls(
            dark=False,
            background=QColor("#ffffff"),
            text=QColor("#0f172a"),
            muted=QColor("#64748b"),
            grid=QColor("#e2e8f0"),
            axis_bg=QColor("#f8fafc"),
            label_bg=QColor("#f8fafc"),
            group_bg=QColor("#f1f5f9"),
            run_bg=QColor("#e2e8f0"),
            stripe=QColor("#fbfcfe"),
            highlight_bg=QColor("#dbeafe"),
            highlight=QColor("#1d4ed8"),
            critical=QColor("#0f172a"),
            now_line=QColor("#2563eb"),
            status={k: QColor(v) for k, v in STATUS_HEX_LIGHT.items()},
            retry=QColor("#f87171"),
            backoff=QColor("#fb923c"),
        )

    @classmethod
    def dark_theme(cls) -> Theme:
        return cls(
            dark=True,
            background=QColor("#111827"),
            text=QColor("#e5e7eb"),
            muted=QColor("#9ca3af"),
            grid=QColor("#1f2937"),
            axis_bg=QColor("#0b1220"),
            label_bg=QColor("#0b1220"),
            group_bg=QColor("#1e293b"),
            run_bg=QColor("#334155"),
            stripe=QColor("#131c2e"),
            highlight_bg=QColor("#1c3357"),
            highlight=QColor("#93c5fd"),
            critical=QColor("#fde047"),
            now_line=QColor("#60a5fa"),
            status={k: QColor(v) for k, v in STATUS_HEX_DARK.items()},
            retry=QColor("#ef4444"),
            backoff=QColor("#fdba74"),
        )

    @classmethod
    def from_palette(cls, palette: QPalette) -> Theme:
        """Dark when the palette's window colour is dark."""
        return cls.dark_theme() if palette.color(QPalette.ColorRole.Window).lightness() < 128 else cls.light()


def blend(color: QColor, other: QColor, amount: float) -> QColor:
    """``color`` moved ``amount`` (0–1) of the way towards ``other``."""
    return QColor(
        round(color.red() + (other.red() - color.red()) * amount),
        round(color.green() + (other.green() - color.green()) * amount),
        round(color.blue() + (other.blue() - color.blue()) * amount),
    )


# (swatch key, label): the swatch key is a segment kind, a status, or "critical".
LEGEND: tuple[tuple[str, str], ...] = (
    ("queued", "Queued"),
    ("waiting", "Waiting for slot"),
    ("ttft", "Time to first token"),
    ("running", "Running"),
    ("succeeded", "Succeeded"),
    ("retry", "Failed attempt"),
    ("backoff", "Backoff"),
    ("rejected", "Answer rejected by its check"),
    ("check", "Judge checking"),
    ("retrying", "Retrying"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
    ("not_taken", "Not taken (route)"),
    ("cancelled", "Cancelled"),
    ("reused", "Cached / reused (recorded time, not spent)"),
    ("pinned", "Pinned"),
    ("critical", "Critical path"),
)
