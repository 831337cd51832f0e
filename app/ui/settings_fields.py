"""One editing widget per declared option (``app.settings.Option``): its label, tooltip, range and
choices come from the declaration, so the dialog never repeats them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import Option

# (option key, choice value) -> why that choice cannot be used here, or None.
Unavailable = Callable[[str, str], "str | None"]
# What a choice that cannot run here says after its label; the reason is its tooltip.
NOT_HERE = "not available here"
# A short row of radio buttons fits on one line; longer labels go one under the other.
_ONE_LINE_CHARS = 40


def _none(_key: str, _value: str) -> str | None:
    return None


def tooltip(option: Option) -> str:
    parts = [option.help] if option.help else []
    if option.range is not None:
        low, high = option.range
        unit = f" {option.unit}" if option.unit else ""
        parts.append(f"{low:g} to {high:g}{unit}.")
    if option.applies:
        parts.append(f"Applies {option.applies}.")
    return " ".join(parts)


class OptionField:
    """The widget for one option: ``value()`` reads it, ``set_value()`` shows a value."""

    # The form puts a check box in the field column without a label of its own.
    has_own_label = False
    # The help is shown under the field (a check box says it in its own text).
    show_help = True

    def __init__(self, option: Option, widget: QWidget) -> None:
        self.option = option
        self.widget = widget
        # The form's label for this field, when it has one (dimmed with the field).
        self.row_label: QWidget | None = None
        widget.setObjectName(option.key)
        widget.setToolTip(tooltip(option))

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_enabled(self, enabled: bool) -> None:
        self.widget.setEnabled(enabled)
        if self.row_label is not None:
            self.row_label.setEnabled(enabled)


class CheckField(OptionField):
    has_own_label = True
    show_help = False

    def __init__(self, option: Option) -> None:
        self.box = QCheckBox(option.label)
        super().__init__(option, self.box)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class NumberField(OptionField):
    def __init__(self, option: Option) -> None:
        spin: QSpinBox | QDoubleSpinBox
        if option.type is int:
            spin = QSpinBox()
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(option.decimals)
        low, high = option.range if option.range is not None else (-1e9, 1e9)
        spin.setRange(low, high)  # type: ignore[arg-type]
        if option.step:
            spin.setSingleStep(option.step)  # type: ignore[arg-type]
        if option.unit:
            spin.setSuffix(f" {option.unit}")
        spin.setMinimumWidth(140)
        spin.setMaximumWidth(170)
        self.spin = spin
        super().__init__(option, spin)

    def value(self) -> float | int:
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        self.spin.setValue(value)


class ComboField(OptionField):
    def __init__(self, option: Option, unavailable: Unavailable = _none) -> None:
        self.combo = QComboBox()
        for index, choice in enumerate(option.choices):
            reason = unavailable(option.key, choice.value)
            self.combo.addItem(choice.label, choice.value)
            if reason:
                item = self.combo.model().item(index)  # type: ignore[attr-defined]
                item.setEnabled(False)
                self.combo.setItemText(index, f"{choice.label} ({NOT_HERE})")
                self.combo.setItemData(index, reason, Qt.ItemDataRole.ToolTipRole)
        super().__init__(option, self.combo)

    def value(self) -> str:
        return str(self.combo.currentData())

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentIndex(max(0, self.combo.findData(value)))


class RadioField(OptionField):
    """Radio buttons, one per choice; a choice that cannot run here is disabled and says why."""

    def __init__(self, option: Option, unavailable: Unavailable = _none) -> None:
        box = QWidget()
        one_line = sum(len(c.label) for c in option.choices) <= _ONE_LINE_CHARS
        layout = QHBoxLayout(box) if one_line else QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(box)
        self.buttons: dict[str, QRadioButton] = {}
        for choice in option.choices:
            button = QRadioButton(choice.label)
            reason = unavailable(option.key, choice.value)
            if reason:
                button.setEnabled(False)
                button.setText(f"{choice.label} ({NOT_HERE})")
                button.setToolTip(reason)
            self.group.addButton(button)
            self.buttons[choice.value] = button
            layout.addWidget(button)
        if one_line:
            layout.addStretch(1)
        super().__init__(option, box)
        self.toggled = self.group.buttonToggled

    def value(self) -> str:
        for value, button in self.buttons.items():
            if button.isChecked():
                return value
        return str(self.option.default)

    def set_value(self, value: Any) -> None:
        button = self.buttons.get(value) or self.buttons[self.option.default]
        button.setChecked(True)


class TextField(OptionField):
    def __init__(self, option: Option) -> None:
        self.edit = QLineEdit()
        super().__init__(option, self.edit)

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value))


class PathField(OptionField):
    """A path with a "Choose…" button (a file, or a folder with ``widget="folder"``)."""

    def __init__(self, option: Option) -> None:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.button = QPushButton("Choose…")
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        super().__init__(option, row)
        self.button.clicked.connect(self._choose)

    def _choose(self) -> None:
        if self.option.widget == "folder":
            path = QFileDialog.getExistingDirectory(self.widget, self.option.label)
        else:
            path, _ = QFileDialog.getOpenFileName(
                self.widget, self.option.label, "", self.option.file_filter or "All files (*)"
            )
        if path:
            self.edit.setText(path)

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value))


class ChecksField(OptionField):
    """A list of text with declared choices: one check box per choice."""

    def __init__(self, option: Option) -> None:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}
        for choice in option.choices:
            check = QCheckBox(choice.label)
            self.boxes[choice.value] = check
            layout.addWidget(check)
        super().__init__(option, box)

    def value(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.isChecked()]

    def set_value(self, value: Any) -> None:
        for name, box in self.boxes.items():
            box.setChecked(name in value)


def make_field(option: Option, unavailable: Unavailable = _none) -> OptionField:
    """The field for a declared option, by its ``widget`` and type."""
    if option.widget == "radio":
        return RadioField(option, unavailable)
    if option.widget in ("file", "folder"):
        return PathField(option)
    if option.type is bool:
        return CheckField(option)
    if option.type in (int, float):
        return NumberField(option)
    if option.type is str:
        return ComboField(option, unavailable) if option.choices else TextField(option)
    if option.choices:
        return ChecksField(option)
    raise TypeError(f"no widget for {option.key} ({option.type!r}); declare widget='custom'")


def hint(text: str) -> QLabel:
    """Dim help text under a field."""
    label = QLabel(text)
    label.setObjectName("dim")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label
