"""The admin PIN dialog of kiosk mode: a big keypad usable on a touch screen or a keyboard.

The dialog only collects digits and shows answers; the kiosk window decides (``PinGate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import PIN_MAX_DIGITS, PinAnswer, PinResult
from app.ui import theme

STYLE = f"""
QDialog {{ background: {theme.SURFACE}; border: 1px solid {theme.BORDER}; }}
QLabel#pinTitle {{ font-size: 26px; font-weight: 700; color: {theme.TEXT}; }}
QLabel#pinDots {{ font-size: 40px; letter-spacing: 10px; color: {theme.TEXT}; min-height: 56px; }}
QLabel#pinMessage {{ font-size: 18px; color: {theme.TEXT_DIM}; min-height: 28px; }}
QLabel#pinMessage[error="true"] {{ color: {theme.LIVE}; }}
QPushButton#key {{
    font-size: 30px; font-weight: 600; min-width: 96px; min-height: 80px;
    background: {theme.SURFACE_HIGH}; border: 1px solid {theme.BORDER}; border-radius: 16px;
}}
QPushButton#key:pressed {{ background: {theme.ACCENT_SOFT}; }}
QPushButton#key:disabled {{ color: {theme.TEXT_DIM}; }}
QPushButton#action {{
    font-size: 20px; min-height: 56px; padding: 0 24px; border-radius: 14px;
    background: {theme.SURFACE_HIGH}; border: 1px solid {theme.BORDER};
}}
QPushButton#primary {{
    font-size: 20px; font-weight: 700; min-height: 56px; padding: 0 24px; border-radius: 14px;
    background: {theme.ACCENT}; border: none; color: white;
}}
QPushButton#primary:disabled {{ background: {theme.ACCENT_SOFT}; color: {theme.TEXT_DIM}; }}
"""


class PinDialog(QDialog):
    """Asks for the admin PIN. ``pin_entered(str)`` carries each attempt; the owner answers with
    ``show_answer``. With ``enabled=False`` it only explains that leaving is disabled."""

    pin_entered = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._locked_until = 0.0
        self.setObjectName("kioskPin")
        self.setWindowFlags(
            Qt.WindowType.Dialog
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setModal(True)
        self.setStyleSheet(STYLE)
        self._enabled = enabled
        self._digits = ""
        # while locked: the countdown, once a second (and the unlock when it reaches 0)
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)
        self._setup_ui()
        self._connect()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(36, 32, 36, 28)
        layout.setSpacing(16)
        self.title = QLabel("Admin PIN to leave kiosk mode")
        self.title.setObjectName("pinTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        self.dots = QLabel("")
        self.dots.setObjectName("pinDots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.dots)
        self.message = QLabel("")
        self.message.setObjectName("pinMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        self.keypad = QWidget()
        grid = QGridLayout(self.keypad)
        grid.setSpacing(12)
        self.keys: dict[str, QPushButton] = {}
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"]
        for i, label in enumerate(labels):
            button = QPushButton(label)
            button.setObjectName("key")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName({"⌫": "Delete", "C": "Clear"}.get(label, label))
            grid.addWidget(button, i // 3, i % 3)
            self.keys[label] = button
        layout.addWidget(self.keypad, 0, Qt.AlignmentFlag.AlignHCenter)

        row = QHBoxLayout()
        self.cancel_button = QPushButton("Back to the music")
        self.cancel_button.setObjectName("action")
        self.ok_button = QPushButton("Leave kiosk mode")
        self.ok_button.setObjectName("primary")
        # Enter submits the PIN: no button takes the keyboard focus or acts as the Enter key
        # (a focused auto-default "Back" button used to swallow Enter and cancel)
        for button in (self.cancel_button, self.ok_button):
            button.setAutoDefault(False)
            button.setDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        row.addWidget(self.ok_button)
        layout.addLayout(row)

        if not self._enabled:
            self.title.setText("Leaving kiosk mode is disabled")
            self.message.setText(
                "No admin PIN is set. To leave, stop MoodPlayer from the system, "
                "or set one with: moodplayer set-pin"
            )
            self.keypad.hide()
            self.dots.hide()
            self.ok_button.hide()
        self._update()

    def _connect(self) -> None:
        for label, button in self.keys.items():
            button.clicked.connect(lambda _=False, key=label: self.press(key))
        self.ok_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)

    # -- input ------------------------------------------------------------------------------

    @property
    def digits(self) -> str:
        return self._digits

    def press(self, key: str) -> None:
        """One keypad key: a digit, ``⌫`` (delete) or ``C`` (clear)."""
        if not self._enabled or not self.keypad.isEnabled():
            return
        if key == "⌫":
            self._digits = self._digits[:-1]
        elif key == "C":
            self._digits = ""
        elif key.isdigit() and len(self._digits) < PIN_MAX_DIGITS:
            self._digits += key
        self._set_message("", error=False)
        self._update()

    def submit(self) -> None:
        if not self._enabled or not self._digits or not self.keypad.isEnabled():
            return
        pin, self._digits = self._digits, ""
        self._update()
        self.pin_entered.emit(pin)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        text = event.text()
        if text.isdigit() and text.isascii():
            self.press(text)
        elif key == Qt.Key.Key_Backspace:
            self.press("⌫")
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif key == Qt.Key.Key_Escape:
            self.reject()
        else:
            event.ignore()

    # -- answers ----------------------------------------------------------------------------

    def show_answer(self, answer: PinAnswer) -> None:
        if answer.result is PinResult.ACCEPTED:
            self.accept()
        elif answer.result is PinResult.REFUSED:
            self._set_message("That PIN is not right. Try again.", error=True)
        elif answer.result is PinResult.LOCKED:
            self._lock(answer.wait_s)
        elif answer.result is PinResult.DISABLED:  # pragma: no cover - built disabled instead
            self._set_message("Leaving kiosk mode is disabled.", error=True)

    def _lock(self, wait_s: float) -> None:
        self._locked_until = self._clock() + max(0.0, wait_s)
        self.keypad.setEnabled(False)
        self.ok_button.setEnabled(False)
        self._countdown.start()
        self._tick()

    @property
    def locked(self) -> bool:
        return not self.keypad.isEnabled()

    @property
    def seconds_left(self) -> int:
        """Whole seconds until the next try (0 when not locked), as shown."""
        left = self._locked_until - self._clock()
        return max(0, int(left) + (1 if left % 1 > 1e-6 else 0)) if left > 0 else 0

    def _tick(self) -> None:
        seconds = self.seconds_left
        if seconds <= 0:
            self._countdown.stop()
            self._on_unlocked()
            return
        self._set_message(f"Too many wrong tries. Try again in {seconds} s.", error=True)

    def _on_unlocked(self) -> None:
        self.keypad.setEnabled(True)
        self._set_message("", error=False)
        self._update()

    def _set_message(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setProperty("error", "true" if error else "false")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _update(self) -> None:
        self.dots.setText("●" * len(self._digits) if self._digits else "○ ○ ○ ○")
        self.ok_button.setEnabled(bool(self._digits) and self.keypad.isEnabled())
