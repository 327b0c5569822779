"""The run toolbar: Run / Stop, provider (Simulated by default, labelled as such, with its speed and the
SIMULATED badge right beside it), strategy, concurrency, warm prefix, budget, and the estimate at the end.

It must fit a 1400-px window (the default size) whole, after a run too, when the estimate reads
``est 15.4 s → 22.3 s (+45%)`` over ``4,242 → 3,984 tok · …`` (two short lines): nothing that says what a
figure is (the badge, the estimate) may be pushed into the » overflow. So the texts are short
(``sim ×20``) and the two budget caps sit in a drop-down whose button says what is set (``Budget: none``,
``Budget: $0.5 · 20k tok``)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from chainstudio.core.formatting import fmt_tokens
from chainstudio.core.launch import RunOptions

PROVIDERS = (("Simulated (offline)", "simulated"), ("OpenAI-compatible", "openai"))
STRATEGIES = (
    ("eager", "Start a step the moment its last dependency finishes"),
    ("layered", "Run one parallel layer at a time (a barrier per layer)"),
    ("sequential", "One step at a time, in topological order"),
)
SPEEDS = ((1.0, "×1"), (5.0, "×5"), (20.0, "×20"))


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
        self.warm_prefix = QToolButton()
        self.warm_prefix.setText("Warm")
        self.warm_prefix.setCheckable(True)
        self.warm_prefix.setToolTip(
            "Warm prefix: calls that share a long prompt prefix wait for the first one's first token, so a "
            "server with a shared prompt cache (OpenAI, vLLM) serves the shared prefix from its cache: "
            "cheaper and no prefill, for the first call's time to first token of latency"
        )
        self.speed = QComboBox()
        for speed, label in SPEEDS:
            self.speed.addItem(f"sim {label}", speed)
        self.speed.setToolTip(
            "Simulated provider only: ×1 is real time, ×5 and ×20 run faster (reported times stay in simulated seconds)"
        )
        self.simulated_badge = QLabel("SIMULATED")
        self.simulated_badge.setStyleSheet(
            "background:#fef3c7; color:#92400e; border:1px solid #f59e0b;"
            "border-radius:3px; font-weight:bold; padding:1px 4px;"
        )
        self.simulated_badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
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
        self.budget = QToolButton()
        self.budget.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.budget.setToolTip("Budget: the run stops before any call whose worst case would cross a cap")
        caps = QWidget()
        form = QFormLayout(caps)
        form.addRow("Cost cap", self.cost_cap)
        form.addRow("Token cap", self.token_cap)
        menu = QMenu(self.budget)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(caps)
        menu.addAction(holder)
        self.budget.setMenu(menu)
        self._show_budget()
        for spin in (self.cost_cap, self.token_cap):
            spin.valueChanged.connect(self._show_budget)
        self.provider.currentIndexChanged.connect(self._provider_changed)
        for combo in (self.provider, self.strategy, self.speed):
            combo.currentIndexChanged.connect(self.optionsChanged)
        for spin in (self.concurrency, self.cost_cap, self.token_cap):
            spin.valueChanged.connect(self.optionsChanged)
        self.warm_prefix.toggled.connect(self.optionsChanged)

    def populate(self, run_action, stop_action, settings_action) -> None:
        self.addAction(run_action)
        self.addAction(stop_action)
        self.addAction(settings_action)
        self.addSeparator()
        self.addWidget(QLabel("Provider "))
        self.addWidget(self.provider)
        self.speed_action = self.addWidget(self.speed)
        self.badge_action = self.addWidget(self.simulated_badge)
        for label, widget in ((" Strategy ", self.strategy), (" Concurrency ", self.concurrency)):
            self.addWidget(QLabel(label))
            self.addWidget(widget)
        self.addWidget(QLabel(" "))
        self.addWidget(self.warm_prefix)
        self.addWidget(self.budget)
        self.addWidget(QLabel(" "))  # the estimate follows, at the end

    def _show_budget(self) -> None:
        """The budget button says which caps are set."""
        caps = []
        if self.cost_cap.value():
            caps.append(f"${self.cost_cap.value():g}")
        if self.token_cap.value():
            caps.append(f"{fmt_tokens(self.token_cap.value())} tok")
        self.budget.setText("Budget: " + (" · ".join(caps) if caps else "none"))

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
            warm_prefix=self.warm_prefix.isChecked(),
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
        for widget in (self.provider, self.strategy, self.concurrency, self.speed, self.warm_prefix, self.budget):
            widget.setEnabled(not running)
