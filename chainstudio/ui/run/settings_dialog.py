"""The settings dialog: provider endpoint, API key, run defaults, rate limits and price overrides.

Open it with ``open()`` (never ``exec()``: the app runs on a qasync loop). Save writes ``settings.json``
through the ``SettingsStore`` it was given (which tells the store's listeners) and, when the key field was
edited, the key through ``store_api_key`` (the OS keyring when there is one, otherwise a file only the
user can read; the dialog warns about the file).
The key never goes into ``Settings`` or a graph file.

The *Endpoint profiles* tab (``endpoint_profiles.EndpointProfilesEditor``) edits the named servers a step
may choose; their keys are saved with ``store_profile_key`` on Save, like the provider's key.

Test connection lists the server's models (``GET /v1/models``, with the URL and key in the form, saved or
not) into the default-model picker and says in one line what went wrong when it cannot; Save keeps the list
(``Settings.known_models``) so every model field of the app can offer it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.storage.settings import (
    Settings,
    keyring_available,
    store_api_key,
    stored_api_key,
)
from chainstudio.ui.common.model_names import attach_model_completer
from chainstudio.ui.common.settings_store import SettingsStore
from chainstudio.ui.run.connection_test import ConnectionTest
from chainstudio.ui.run.endpoint_profiles import EndpointProfilesEditor

# (name, base URL) of the OpenAI-compatible servers users run most.
SERVER_PRESETS = (
    ("OpenAI", "https://api.openai.com/v1"),
    ("Ollama", "http://localhost:11434/v1"),
    ("vLLM", "http://localhost:8000/v1"),
    ("LM Studio", "http://localhost:1234/v1"),
    ("llama.cpp server", "http://localhost:8080/v1"),
)
PROVIDERS = (("simulated", "Simulated (offline, no model is called)"), ("openai", "OpenAI-compatible server"))
STRATEGIES = ("eager", "layered", "sequential")
PRICE_COLUMNS = ("Model", "$ input / 1M tokens", "$ output / 1M tokens")
CUSTOM = "Custom URL"
NO_LIMIT = "no limit"
BAD_CELL = QColor("#fde2e1")

KEY_WHERE = {
    "keyring": "Saved in the OS keyring.",
    "file": "Saved in a file in your config folder (readable only by you): no OS keyring is available.",
    "environment": "Taken from the OPENAI_API_KEY environment variable.",
    "none": "No key saved. Local servers (Ollama, vLLM, LM Studio, llama.cpp) usually need none.",
}


def _limit_box(maximum: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setSpecialValueText(NO_LIMIT)  # shown at 0
    box.setSuffix(suffix)
    box.setGroupSeparatorShown(True)
    box.setMinimumWidth(170)
    return box


class SettingsDialog(QDialog):
    """Emits ``settingsSaved(Settings)`` after a successful save and ``apiKeyStored(str)`` with where the key
    went ("keyring", "file" or "none") when the key was changed."""

    settingsSaved = Signal(object)
    apiKeyStored = Signal(str)

    def __init__(self, store: SettingsStore | None = None, parent: QWidget | None = None) -> None:
        """``store``: the app's settings store (None: a store of the saved settings, for this dialog alone)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(600)
        self.store = store if store is not None else SettingsStore()
        self._settings = self.store.current
        self._key_edited = False
        self.key_storage: str | None = None  # where the last save put the key

        self.provider = QComboBox()
        for value, label in PROVIDERS:
            self.provider.addItem(label, value)
        self.server = QComboBox()
        self.server.addItem(CUSTOM, "")
        for name, url in SERVER_PRESETS:
            self.server.addItem(f"{name} — {url}", url)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("empty: OPENAI_BASE_URL, else https://api.openai.com/v1")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QCheckBox("Show")
        self.key_where = QLabel()
        self.key_where.setWordWrap(True)
        self.key_warning = QLabel()
        self.key_warning.setWordWrap(True)
        self.key_warning.setStyleSheet(
            "QLabel { color: #8a4b00; background: #fff4e0; border: 1px solid #f0c27a;"
            " border-radius: 4px; padding: 6px; }"
        )
        self.model_picker = QComboBox()  # the default model: typed, or picked from the server's list
        self.model_picker.setEditable(True)
        self.model_picker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.default_model = QLineEdit()  # the picker's line edit: typed, or set by a pick
        self.model_picker.setLineEdit(self.default_model)
        self.default_model.setPlaceholderText("empty: each step's own model")
        attach_model_completer(self.default_model)
        self.connection = ConnectionTest()
        self.test_button, self.test_result = self.connection.button, self.connection.result
        self.listed_models: list[str] | None = None  # what Test connection found, until Save keeps it
        self.strategy = QComboBox()
        self.strategy.addItems(STRATEGIES)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 1024)
        self.concurrency.setToolTip("At most this many model calls at once")
        self.requests_per_minute = _limit_box(1_000_000, " requests/min")
        self.tokens_per_minute = _limit_box(2_000_000_000, " tokens/min")

        self.prices = QTableWidget(0, len(PRICE_COLUMNS))
        self.prices.setHorizontalHeaderLabels(PRICE_COLUMNS)
        self.prices.verticalHeader().setVisible(False)
        self.prices.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.prices.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.prices.setMinimumHeight(130)
        self.add_price = QPushButton("Add model")
        self.remove_price = QPushButton("Remove")
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet("QLabel { color: #b3261e; }")
        self.problems_label.hide()
        self.profiles = EndpointProfilesEditor()
        self.profiles.changed.connect(self.problems_label.hide)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self._build_layout()
        self._load(self._settings)

        self.server.activated.connect(self._preset_chosen)
        self.base_url.textChanged.connect(self._sync_server)
        self.provider.currentIndexChanged.connect(self._update_enabled)
        self.api_key.textEdited.connect(self._key_changed)
        self.show_key.toggled.connect(
            lambda on: self.api_key.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        )
        self.add_price.clicked.connect(lambda: self.add_price_row())
        self.remove_price.clicked.connect(self._remove_selected_prices)
        self.prices.itemChanged.connect(lambda _item: self.problems_label.hide())
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.test_connection)
        self.connection.listed.connect(self._listed)
        self.finished.connect(lambda _result: self.connection.cancel())

    def _build_layout(self) -> None:
        endpoint = QGroupBox("Provider")
        form = QFormLayout(endpoint)
        form.addRow("Provider", self.provider)
        form.addRow("Server", self.server)
        form.addRow("Base URL", self.base_url)
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.show_key)
        form.addRow("API key", key_row)
        form.addRow("", self.key_where)
        form.addRow("", self.key_warning)
        form.addRow("", self.connection)

        runs = QGroupBox("Run defaults")
        form = QFormLayout(runs)
        form.addRow("Default model", self.model_picker)
        form.addRow("Strategy", self.strategy)
        form.addRow("Concurrency", self.concurrency)
        form.addRow("Requests per minute", self.requests_per_minute)
        form.addRow("Tokens per minute", self.tokens_per_minute)

        prices = QGroupBox("Price overrides (USD per million tokens; they take precedence over the built-in table)")
        column = QVBoxLayout(prices)
        column.addWidget(self.prices)
        row = QHBoxLayout()
        row.addWidget(self.add_price)
        row.addWidget(self.remove_price)
        row.addStretch(1)
        column.addLayout(row)

        provider_page = QWidget()
        page = QVBoxLayout(provider_page)
        page.setContentsMargins(0, 0, 0, 0)
        for widget in (endpoint, runs, prices):
            page.addWidget(widget)
        self.tabs = QTabWidget()
        self.tabs.addTab(provider_page, "Run provider")
        self.tabs.addTab(self.profiles, "Endpoint profiles")
        layout = QVBoxLayout(self)
        for part in (self.tabs, self.problems_label, self.buttons):
            layout.addWidget(part)

    # --- loading ------------------------------------------------------------------------------
    def _load(self, settings: Settings) -> None:
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider)))
        self.base_url.setText(settings.base_url)
        self._sync_server(settings.base_url)
        key, where = stored_api_key()
        if where in ("keyring", "file") and key:
            self.api_key.setText(key)
        elif where == "environment":
            self.api_key.setPlaceholderText("using OPENAI_API_KEY from the environment")
        self.key_where.setText(KEY_WHERE[where])
        self._show_models(settings.known_models)
        self.default_model.setText(settings.default_model)
        self.strategy.setCurrentText(settings.strategy if settings.strategy in STRATEGIES else "eager")
        self.concurrency.setValue(max(1, int(settings.concurrency or 1)))
        self.requests_per_minute.setValue(int(settings.requests_per_minute or 0))
        self.tokens_per_minute.setValue(int(settings.tokens_per_minute or 0))
        for model, price in sorted(settings.price_overrides.items()):
            self.add_price_row(model, price.get("input"), price.get("output"))
        self._update_key_warning(stored=where)
        self._update_enabled()
        self.profiles.load(settings.endpoints)

    def add_price_row(
        self, model: str = "", input_price: float | None = None, output_price: float | None = None
    ) -> int:
        row = self.prices.rowCount()
        self.prices.insertRow(row)
        items = []
        for column, value in enumerate((model, input_price, output_price)):
            text = "" if value is None else (f"{value:g}" if isinstance(value, (int, float)) else str(value))
            item = QTableWidgetItem(text)
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.prices.setItem(row, column, item)
            items.append(item)
        if not model:
            self.prices.setCurrentCell(row, 0)
            self.prices.editItem(items[0])
        return row

    def _remove_selected_prices(self) -> None:
        for row in sorted({index.row() for index in self.prices.selectedIndexes()}, reverse=True):
            self.prices.removeRow(row)

    # --- live feedback --------------------------------------------------------------------------
    def _preset_chosen(self, index: int) -> None:
        url = self.server.itemData(index)
        if url:
            self.base_url.setText(url)
            self.provider.setCurrentIndex(self.provider.findData("openai"))

    def _sync_server(self, text: str) -> None:
        index = self.server.findData(text.strip().rstrip("/"))
        self.server.setCurrentIndex(index if index > 0 else 0)

    def _key_changed(self, _text: str) -> None:
        self._key_edited = True
        self.key_where.setText("Will be saved when you press Save.")
        self._update_key_warning()

    def _update_key_warning(self, stored: str | None = None) -> None:
        if stored == "file":
            text = (
                "⚠ Your API key is stored in a file, not in an OS keyring. Only your user can read it, "
                "but anyone with access to your account can."
            )
        elif self._key_edited and self.api_key.text() and not keyring_available():
            text = (
                "⚠ No OS keyring is available: the key will be stored in a file in your config folder "
                "(readable only by you). It is never written into a graph file."
            )
        else:
            text = ""
        self.key_warning.setText(text)
        self.key_warning.setVisible(bool(text))

    def _update_enabled(self) -> None:
        remote = self.provider.currentData() == "openai"
        for widget in (self.server, self.base_url, self.api_key, self.show_key, self.test_button):
            widget.setEnabled(remote)

    # --- test connection ------------------------------------------------------------------------
    def test_connection(self) -> None:
        """List the server's models with the URL and key in the form (in the background)."""
        self.connection.run(self.base_url.text().strip() or None, self.api_key.text().strip() or None)

    def _listed(self, names: list[str]) -> None:
        self.listed_models = names
        self._show_models(names)

    def _show_models(self, names: list[str]) -> None:
        """The picker offers ``names`` (the typed default model stays as it is)."""
        text = self.default_model.text()
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        self.model_picker.addItems(names)
        self.model_picker.setCurrentIndex(-1)
        self.model_picker.blockSignals(False)
        self.default_model.setText(text)

    # --- reading and saving ---------------------------------------------------------------------
    def price_overrides(self) -> tuple[dict[str, dict[str, float]], list[str]]:
        """The table as overrides, and the problems that stop a save (bad cells are tinted)."""
        overrides: dict[str, dict[str, float]] = {}
        problems: list[str] = []
        seen: set[str] = set()
        for row in range(self.prices.rowCount()):
            cells = [self.prices.item(row, c) or QTableWidgetItem("") for c in range(3)]
            for cell in cells:
                cell.setBackground(QColor(0, 0, 0, 0))
            model = cells[0].text().strip()
            texts = [cells[1].text().strip(), cells[2].text().strip()]
            if not model and not any(texts):
                continue  # an empty row is ignored
            if not model:
                problems.append(f"row {row + 1}: the model name is empty")
                cells[0].setBackground(BAD_CELL)
            elif model in seen:
                problems.append(f"row {row + 1}: {model} is listed twice")
                cells[0].setBackground(BAD_CELL)
            seen.add(model)
            values = []
            for cell, text, what in zip(cells[1:], texts, ("input", "output"), strict=False):
                try:
                    value = float(text.replace("$", "").replace(",", ""))
                    if not math.isfinite(value) or value < 0:
                        raise ValueError
                    values.append(value)
                except ValueError:
                    problems.append(f"row {row + 1}: the {what} price must be a number ≥ 0 (got {text or 'nothing'})")
                    cell.setBackground(BAD_CELL)
            if model and len(values) == 2:
                overrides[model] = {"input": values[0], "output": values[1]}
        return overrides, problems

    def values(self) -> tuple[Settings, list[str]]:
        """The settings the form shows (without the API key), and any problems."""
        overrides, problems = self.price_overrides()
        endpoints, endpoint_problems = self.profiles.profiles()
        problems += endpoint_problems
        settings = Settings(
            provider=self.provider.currentData(),
            base_url=self.base_url.text().strip(),
            default_model=self.default_model.text().strip(),
            strategy=self.strategy.currentText(),
            concurrency=self.concurrency.value(),
            requests_per_minute=self.requests_per_minute.value() or None,
            tokens_per_minute=self.tokens_per_minute.value() or None,
            price_overrides=overrides,
            known_models=self.listed_models if self.listed_models is not None else list(self._settings.known_models),
            endpoints=endpoints,
        )
        return settings, problems

    def save(self) -> bool:
        """Save and close; with problems, show them and stay open. Returns whether it saved."""
        settings, problems = self.values()
        if problems:
            self.problems_label.setText("Cannot save: " + "; ".join(problems) + ".")
            self.problems_label.show()
            return False
        self.store.save(settings)
        self._settings = settings
        self.profiles.store_keys()
        if self._key_edited:
            self.key_storage = store_api_key(self.api_key.text().strip())
            self._key_edited = False
            self.key_where.setText(KEY_WHERE[self.key_storage])
            self._update_key_warning(stored=self.key_storage)
            self.apiKeyStored.emit(self.key_storage)
        self.settingsSaved.emit(settings)
        self.accept()
        return True
