"""The Settings dialog's *Endpoint profiles* page: named servers a step may choose (its Endpoint field).

A list of profiles on the left (Add, Remove), the selected one's form on the right: name, base URL, API
key (none, a key kept in the OS keyring or the 0600 credentials file, or an environment variable's name),
default model, rate limits, known capacity and price overrides for its models. The key typed here goes
to ``store_profile_key`` on Save, never into ``Settings``; a removed profile's stored key is forgotten.
"""

from __future__ import annotations

import dataclasses
import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.storage.endpoint_profiles import EndpointProfile, name_problem
from chainstudio.core.storage.settings import profile_key, store_profile_key
from chainstudio.ui.common.model_names import attach_model_completer

KEY_KINDS = (
    ("", "No key (a local server)"),
    ("stored", "Saved key (OS keyring, else a private file)"),
    ("env", "Environment variable"),
)
UNKNOWN = "unknown"


def _count_box(maximum: int, suffix: str, zero: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setSpecialValueText(zero)  # shown at 0
    box.setSuffix(suffix)
    box.setGroupSeparatorShown(True)
    return box


def prices_text(prices: dict[str, dict[str, float]]) -> str:
    """``{"gpt-4o": {"input": 2.5, "output": 10}}`` -> ``"gpt-4o=2.5/10"`` (several joined by ``; ``)."""
    return "; ".join(f"{model}={p.get('input', 0):g}/{p.get('output', 0):g}" for model, p in sorted(prices.items()))


def parse_prices(text: str) -> tuple[dict[str, dict[str, float]], str | None]:
    """The price overrides ``text`` holds (``model=input/output; ...``, $ per million tokens), or a problem."""
    prices: dict[str, dict[str, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        model, sep, rates = part.rpartition("=")
        values = rates.split("/")
        try:
            numbers = [float(v.strip().lstrip("$")) for v in values]
        except ValueError:
            numbers = []
        if not sep or not model.strip() or len(numbers) != 2 or not all(math.isfinite(n) and n >= 0 for n in numbers):
            return {}, f"prices: write MODEL=INPUT/OUTPUT ($ per million tokens), not {part!r}"
        prices[model.strip()] = {"input": numbers[0], "output": numbers[1]}
    return prices, None


class EndpointProfilesEditor(QWidget):
    """Edits a list of profiles; ``profiles()`` reads them back with the problems that stop a save."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._profiles: list[EndpointProfile] = []
        self._keys: dict[str, str] = {}  # profile name -> a key typed here, saved on Save
        self._saved: set[str] = set()  # names that had a stored key when the page was loaded
        self._row = -1
        self.names = QListWidget()
        self.names.setObjectName("endpoint_names")
        self.names.setMaximumWidth(180)
        self.add = QPushButton("Add")
        self.remove = QPushButton("Remove")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. local, cloud")
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("e.g. http://localhost:11434/v1")
        self.key_kind = QComboBox()
        for value, label in KEY_KINDS:
            self.key_kind.addItem(label, value)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_env = QLineEdit()
        self.key_env.setPlaceholderText("variable name, e.g. OPENAI_API_KEY")
        self.default_model = QLineEdit()
        self.default_model.setPlaceholderText("empty: each step's own model")
        attach_model_completer(self.default_model)
        self.rpm = _count_box(1_000_000, " requests/min", "no limit")
        self.tpm = _count_box(2_000_000_000, " tokens/min", "no limit")
        self.capacity = _count_box(1024, " at once", UNKNOWN)
        self.capacity.setToolTip("How many requests the server runs at once (a local server: often 1)")
        self.prices = QLineEdit()
        self.prices.setPlaceholderText("MODEL=INPUT/OUTPUT $ per 1M tokens; e.g. gpt-4o=2.5/10")
        self.hint = QLabel(
            "A step uses a profile when its Endpoint field names it; other steps use the run's provider. "
            "Keys stay in the OS keyring (or a file only you can read), never in graph files."
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")
        self._build()
        self.names.currentRowChanged.connect(self._show)
        self.add.clicked.connect(self.add_profile)
        self.remove.clicked.connect(self.remove_profile)
        self.key_kind.currentIndexChanged.connect(self._key_kind_changed)
        for edit in (self.name, self.base_url, self.key, self.key_env, self.default_model, self.prices):
            edit.textEdited.connect(lambda _text: self._store())
        for box in (self.rpm, self.tpm, self.capacity):
            box.valueChanged.connect(lambda _value: self._store())

    def _build(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.names, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        left.addLayout(buttons)
        self.form_box = QWidget()
        form = QFormLayout(self.form_box)
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.base_url)
        form.addRow("API key", self.key_kind)
        form.addRow("", self.key)
        form.addRow("", self.key_env)
        form.addRow("Default model", self.default_model)
        form.addRow("Requests per minute", self.rpm)
        form.addRow("Tokens per minute", self.tpm)
        form.addRow("Capacity", self.capacity)
        form.addRow("Prices", self.prices)
        row = QHBoxLayout()
        row.addLayout(left)
        row.addWidget(self.form_box, 1)
        column = QVBoxLayout(self)
        column.addWidget(self.hint)
        column.addLayout(row, 1)

    # --- loading and editing --------------------------------------------------------------------
    def load(self, profiles: list[EndpointProfile]) -> None:
        self._profiles = [dataclasses.replace(p, price_overrides=dict(p.price_overrides)) for p in profiles]
        self._keys = {}
        self._saved = {p.name for p in profiles if p.key_ref == "stored"}
        self.names.clear()
        self.names.addItems([p.name for p in self._profiles])
        self.names.setCurrentRow(0 if self._profiles else -1)
        self._show(self.names.currentRow())

    def add_profile(self, name: str = "") -> None:
        taken = {p.name for p in self._profiles}
        name = name or next(f"endpoint{i}" for i in range(1, 1000) if f"endpoint{i}" not in taken)
        self._profiles.append(EndpointProfile(name))
        self.names.addItem(name)
        self.names.setCurrentRow(len(self._profiles) - 1)
        self.name.setFocus()
        self.name.selectAll()
        self.changed.emit()

    def remove_profile(self) -> None:
        row = self.names.currentRow()
        if row < 0:
            return
        self._row = -1
        removed = self._profiles.pop(row)
        self._keys.pop(removed.name, None)
        self.names.takeItem(row)
        self._show(self.names.currentRow())
        self.changed.emit()

    def _show(self, row: int) -> None:
        self._row = -1  # no writes while the form is filled
        self.form_box.setEnabled(row >= 0)
        self.remove.setEnabled(row >= 0)
        profile = self._profiles[row] if 0 <= row < len(self._profiles) else EndpointProfile("")
        self.name.setText(profile.name)
        self.base_url.setText(profile.base_url)
        kind = "env" if profile.key_ref.startswith("env:") else profile.key_ref
        self.key_kind.setCurrentIndex(max(0, self.key_kind.findData(kind)))
        self.key_env.setText(profile.key_ref[4:] if kind == "env" else "")
        typed = self._keys.get(profile.name)
        self.key.setText(typed if typed is not None else (profile_key(profile) or "" if kind == "stored" else ""))
        self.default_model.setText(profile.default_model)
        self.rpm.setValue(profile.requests_per_minute or 0)
        self.tpm.setValue(profile.tokens_per_minute or 0)
        self.capacity.setValue(profile.capacity or 0)
        self.prices.setText(prices_text(profile.price_overrides))
        self._key_kind_changed()
        self._row = row

    def _key_kind_changed(self) -> None:
        kind = self.key_kind.currentData()
        self.key.setVisible(kind == "stored")
        self.key_env.setVisible(kind == "env")
        self._store()

    def _store(self) -> None:
        """Write the form into the selected profile (its key, when typed, into the keys to save)."""
        row = self._row
        if row < 0 or row >= len(self._profiles):
            return
        old = self._profiles[row]
        kind = self.key_kind.currentData()
        ref = f"env:{self.key_env.text().strip()}" if kind == "env" else kind
        prices, _problem = parse_prices(self.prices.text())
        new = EndpointProfile(
            self.name.text().strip(),
            self.base_url.text().strip(),
            ref,
            self.default_model.text().strip(),
            self.rpm.value() or None,
            self.tpm.value() or None,
            self.capacity.value() or None,
            prices if not _problem else old.price_overrides,
        )
        self._profiles[row] = new
        if kind == "stored" and self.key.isModified():
            self._keys.pop(old.name, None)
            self._keys[new.name] = self.key.text().strip()
        elif old.name != new.name and kind == "stored":  # the key moves with the name
            typed = self._keys.pop(old.name, None)
            self._keys[new.name] = typed if typed is not None else (profile_key(old) or "")
        item = self.names.item(row)
        if item is not None and item.text() != new.name:
            item.setText(new.name)
        self.changed.emit()

    # --- reading and saving ---------------------------------------------------------------------
    def profiles(self) -> tuple[list[EndpointProfile], list[str]]:
        """The profiles, and the problems that stop a save."""
        problems: list[str] = []
        seen: set[str] = set()
        for profile in self._profiles:
            reason = name_problem(profile.name)
            if reason:
                problems.append(f"endpoint profile {profile.name!r}: {reason}")
            elif profile.name in seen:
                problems.append(f"endpoint profile {profile.name!r} is named twice")
            seen.add(profile.name)
            if profile.key_ref == "env:":
                problems.append(f"endpoint profile {profile.name!r}: name the environment variable with the key")
        row = self._row
        if 0 <= row < len(self._profiles):
            _prices, problem = parse_prices(self.prices.text())
            if problem:
                problems.append(f"endpoint profile {self._profiles[row].name!r}: {problem}")
        return list(self._profiles), problems

    def store_keys(self) -> list[str]:
        """Save the keys typed here (and forget those of removed or key-less profiles); where each went."""
        where = []
        by_name = {p.name: p for p in self._profiles}
        for name, key in self._keys.items():
            if name in by_name and by_name[name].key_ref == "stored":
                where.append(store_profile_key(name, key))
        for name in self._saved:
            profile = by_name.get(name)
            if profile is None or profile.key_ref != "stored":
                store_profile_key(name, "")
        self._keys = {}
        self._saved = {p.name for p in self._profiles if p.key_ref == "stored"}
        return where
