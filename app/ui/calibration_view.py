"""Your neutral face in the window: the calibration panel (Settings → Mood, and Mood → Calibrate
my neutral face…) and the small dialog around it.

The panel only shows the session core's calibration (``Session.start_calibration`` and its
``CalibrationStatus``): "Look at the camera with a relaxed face for 5 seconds", a countdown and a
progress bar while it runs, what the stored baseline reads, and one-click Reset. The readings
come from the running camera; only the 7 numbers are kept, never an image.
"""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.mood.calibration import CALIBRATION_S, Baseline, CalibrationState, CalibrationStatus
from app.session import mood_word
from app.ui import theme
from app.ui.session import Session

log = logging.getLogger(__name__)

INSTRUCTION = (
    f"Look at the camera with a relaxed face for {CALIBRATION_S:g} seconds. Some faces read sad "
    "or angry at rest; afterwards your relaxed face reads calm and a real smile still shows. "
    "Only 7 numbers are kept, never an image."
)
NOT_CALIBRATED = "Not calibrated: the readings are used as the model gives them."


def describe_baseline(values: list[float], on: bool) -> str:
    """A sentence about the stored baseline ("" for none)."""
    baseline = Baseline.from_values(values)
    if baseline is None:
        return NOT_CALIBRATED
    top = sorted(baseline.as_dict().items(), key=lambda kv: -kv[1])[:2]
    reads = ", ".join(
        f"{mood_word(name).lower()} {p:.0%}"
        for i, (name, p) in enumerate(top)
        if i == 0 or p >= 0.05
    )
    state = "the readings are corrected by it" if on else "the correction is off"
    return f"Calibrated: your relaxed face reads {reads}; {state}."


class CalibrationPanel(QWidget):
    """Calibrate / Cancel, Reset, the countdown and the stored baseline, for one session.

    ``baseline_changed(list)`` carries the stored numbers after a calibration or a reset, so a
    settings dialog editing a copy can keep its copy true."""

    baseline_changed = Signal(list)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._setup_ui()
        self._connect()
        self.refresh()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.instruction = QLabel(INSTRUCTION)
        self.instruction.setObjectName("dim")
        self.instruction.setWordWrap(True)
        layout.addWidget(self.instruction)
        row = QHBoxLayout()
        self.calibrate_button = QPushButton(f"Calibrate ({CALIBRATION_S:g} s)")
        self.calibrate_button.setObjectName("calibrate")
        self.calibrate_button.setToolTip("Start now, with the camera that is running")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Forget your neutral face")
        row.addWidget(self.calibrate_button)
        row.addWidget(self.reset_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self.calibrate_button.clicked.connect(self._calibrate_or_cancel)
        self.reset_button.clicked.connect(self.reset)
        self.session.calibration_changed.connect(self._on_changed)
        self.session.ticked.connect(self.refresh)

    # -- commands -------------------------------------------------------------------------------

    def _calibrate_or_cancel(self) -> None:
        if self.session.calibrating:
            self.session.cancel_calibration()
        else:
            self.session.start_calibration(CALIBRATION_S)
        self.refresh()

    def reset(self) -> None:
        self.session.reset_calibration()
        self.refresh()

    # -- showing --------------------------------------------------------------------------------

    def _on_changed(self, status: CalibrationStatus | None) -> None:
        if not shiboken6.isValid(self):
            return
        if status is None or status.state is CalibrationState.DONE:
            self.baseline_changed.emit(list(self.session.settings.mood.calibration))
        self.refresh()

    def refresh(self) -> None:
        if not shiboken6.isValid(self):
            return
        status = self.session.calibration
        mood = self.session.settings.mood
        running = status is not None and status.state.active
        self.calibrate_button.setText("Stop" if running else f"Calibrate ({CALIBRATION_S:g} s)")
        self.reset_button.setEnabled(bool(mood.calibration) and not running)
        self.progress.setVisible(running)
        if running and status is not None:
            self.progress.setValue(round(status.progress * 100))
            self._say(status.message, theme.TEXT)
        elif status is not None and status.state is CalibrationState.FAILED:
            self._say(status.message, theme.WARN)
        else:
            self._say(describe_baseline(mood.calibration, mood.calibration_on), theme.TEXT_DIM)

    def _say(self, text: str, color: str) -> None:
        if self.status.text() != text:
            self.status.setText(text)
        sheet = f"color: {color};"
        if self.status.styleSheet() != sheet:
            self.status.setStyleSheet(sheet)


class CalibrationDialog(QDialog):
    """Mood → Calibrate my neutral face…: the panel in a small window that does not block the
    main window (the live bars behind it show the before and after)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Your neutral face")
        self.setModal(False)
        layout = QVBoxLayout(self)
        self.panel = CalibrationPanel(session)
        layout.addWidget(self.panel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
