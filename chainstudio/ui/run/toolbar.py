"""The run toolbar: Run / Stop, provider (Simulated by default, labelled as such), strategy, concurrency,
and the simulated provider's speed."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QSpinBox, QToolBar, QWidget

from chainstudio.core.launch import RunOptions

PROVIDERS = (("Simulated (offline)", "simulated"), ("OpenAI-compatible", "openai"))
STRATEGIES = (
    ("eager", "Start a step the moment its last dependency finishes"),
    ("layered", "Run one parallel layer at a time (a barrier per layer)"),
    ("sequential", "One step at a time, in topological order"),
)
SPEEDS = ((1.0, "real time"), (5.0, "×5"), (20.0, "×20"))


class RunToolbar(QToolBar):
    optionsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.setObjectName("run_toolbar")
        self.provider = QComboBox()
        for text, value in PROVIDERS:
            self.provider.addItem(text, value)
        self.provider.setToolTip("Which endpoint runs the chain; Simulated needs no key and calls no model")
        self.strategy = QComboBox()
        for i, (value, tip) in enumerate(STRATEGIES):
            self.strategy.addItem(value, value)
            self.strategy.setItemData(i, tip, 3)  # Qt.ToolTipRole
        self.strategy.setToolTip("eager / layered / sequential")
        self.concurrency = QSpinBox()
        self.concurrency.setRange(0, 1024)
        self.concurrency.setSpecialValueText("no cap")
        self.concurrency.setPrefix("")
        self.concurrency.setToolTip("At most this many model calls at once (0: no cap)")
        self.speed = QComboBox()
        for speed, label in SPEEDS:
            self.speed.addItem(f"sim {label}", speed)
        self.speed.setToolTip(
            "Simulated provider only: run faster than real time (reported times stay in simulated seconds)"
        )
        self.simulated_badge = QLabel(" SIMULATED ")
        self.simulated_badge.setStyleSheet(
            "background:#fef3c7; color:#92400e; border:1px solid #f59e0b;"
            "border-radius:3px; font-weight:bold; padding:1px 4px;"
        )
        self.simulated_badge.setToolTip(
            "The simulated provider calls no model: texts, timings and tokens come from an offline simulator"
        )
        self.cost_cap = QDoubleSpinBox()
        self.cost_cap.setRange(0.0, 10_000.0)
        self.cost_cap.setDecimals(3)
        self.cost_cap.setSingleStep(0.01)
        self.cost_cap.setPrefix("$")
        self.cost_cap.setSpecialValueText("no cost cap")
        self.cost_cap.setToolTip("Budget: the run stops before any call whose worst case would cross this cost")
        self.token_cap = QSpinBox()
        self.token_cap.setRange(0, 100_000_000)
        self.token_cap.setSingleStep(1000)
        self.token_cap.setSpecialValueText("no token cap")
        self.token_cap.setSuffix(" tok")
        self.token_cap.setToolTip("Budget: the run stops before any call whose worst case would cross this many tokens")
        self.provider.currentIndexChanged.connect(self._provider_changed)
        for combo in (self.provider, self.strategy, self.speed):
            combo.currentIndexChanged.connect(self.optionsChanged)
        for spin in (self.concurrency, self.cost_cap, self.token_cap):
            spin.valueChanged.connect(self.optionsChanged)

    def populate(self, run_action, stop_action, settings_action) -> None:
        self.addAction(run_action)
        self.addAction(stop_action)
        self.addAction(settings_action)
        self.addSeparator()
        for label, widget in (
            ("Provider ", self.provider),
            (" Strategy ", self.strategy),
            (" Concurrency ", self.concurrency),
        ):
            self.addWidget(QLabel(label))
            self.addWidget(widget)
        self.addWidget(QLabel(" Budget "))
        self.addWidget(self.cost_cap)
        self.addWidget(self.token_cap)
        self.addWidget(QLabel(" "))
        self.speed_action = self.addWidget(self.speed)
        self.badge_action = self.addWidget(self.simulated_badge)

    def _provider_changed(self) -> None:
        simulated = self.provider.currentData() == "simulated"
        if hasattr(self, "speed_action"):
            self.speed_action.setVisible(simulated)
            self.badge_action.setVisible(simulated)

    def options(self) -> RunOptions:
        return RunOptions(
            provider=self.provider.currentData(),
            strategy=self.strategy.currentData(),
            concurrency=self.concurrency.value() or None,
            speed=float(self.speed.currentData()),
            cost_cap=self.cost_cap.value() or None,
            token_cap=self.token_cap.value() or None,
        )

    def set_options(
        self, provider: str | None = None, strategy: str | None = None, concurrency: int | None = None
    ) -> None:
        if provider is not None:
            self.provider.setCurrentIndex(max(0, self.provider.findData(provider)))
        if strategy is not None:
            self.strategy.setCurrentIndex(max(0, self.strategy.findData(strategy)))
        if concurrency is not None:
            self.concurrency.setValue(concurrency)

    def set_running(self, running: bool) -> None:
        for widget in (self.provider, self.strategy, self.concurrency, self.speed, self.cost_cap, self.token_cap):
            widget.setEnabled(not running)
