"""The camera panel: the live preview with the face box, a "camera on" light and the state.

Frames are shown, never stored: the preview keeps one QImage of the newest frame in memory.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.session import CameraState
from app.ui import icons, theme
from app.vision.reading import Reading

log = logging.getLogger(__name__)


def frame_to_image(frame: np.ndarray) -> QImage:
    """A BGR (or gray) uint8 frame as a QImage that owns its pixels."""
    if frame.ndim == 2:
        height, width = frame.shape
        data = np.ascontiguousarray(frame)
        gray = QImage.Format.Format_Grayscale8
        return QImage(data.data, width, height, data.strides[0], gray).copy()
    height, width = frame.shape[:2]
    # 32-bit pixels paint several times faster than 24-bit ones (no conversion per paint).
    data = cv2.cvtColor(np.ascontiguousarray(frame[:, :, :3]), cv2.COLOR_BGR2BGRA)
    return QImage(data.data, width, height, data.strides[0], QImage.Format.Format_RGB32).copy()


class PreviewView(QWidget):
    """Paints the newest frame (aspect kept, rounded corners) and the face box over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._frame_size: tuple[int, int] | None = None
        self._reading: Reading | None = None
        self._hidden = False
        self._message = ""
        # A webcam preview is shown mirrored, as people expect to see themselves.
        self.mirrored = False
        self.setMinimumSize(240, 130)
        # It paints every pixel itself (corners in the card's colour), so Qt need not repaint the
        # styled card behind it 15 times a second.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    # what the panel tells it
    def set_frame(self, frame: np.ndarray | None) -> None:
        """Keep ``frame`` shrunk to the size it is shown at, so painting is a plain copy (QPainter's
        smooth scaling cost ~8 ms a frame on the GUI thread; OpenCV's resize ~0.5 ms)."""
        if frame is None:
            self._image = None
        else:
            height, width = frame.shape[:2]
            self._frame_size = (width, height)
            ratio = self.devicePixelRatioF()
            # Fill the panel like a video call tile (cover: crop the overflow, no black bars).
            scale = min(max(self.width() * ratio / width, self.height() * ratio / height), 1.0)
            if scale < 0.98:
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
            if self.mirrored:
                frame = cv2.flip(frame, 1)
            self._image = frame_to_image(frame)
            self._image.setDevicePixelRatio(ratio)
        self.update()

    def set_reading(self, reading: Reading | None) -> None:
        self._reading = reading
        self.update()

    @property
    def reading(self) -> Reading | None:
        """The reading whose face boxes are drawn (as the voter counts it: corrected by the
        neutral face when that is on)."""
        return self._reading

    def set_hidden(self, hidden: bool) -> None:
        self._hidden = hidden
        if hidden:
            self._image = None
        self.update()

    def set_message(self, message: str) -> None:
        self._message = message
        self.update()

    @property
    def has_image(self) -> bool:
        return self._image is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        area = QRectF(self.rect())
        painter.fillRect(area, QColor(theme.SURFACE))
        clip = QPainterPath()
        clip.addRoundedRect(area, 10, 10)
        painter.setClipPath(clip)
        painter.fillRect(area, QColor("#0b0c10"))
        if self._image is not None and not self._hidden:
            self._paint_frame(painter, area)
        else:
            self._paint_placeholder(painter, area)
        painter.end()

    def _paint_frame(self, painter: QPainter, area: QRectF) -> None:
        assert self._image is not None
        assert self._frame_size is not None
        iw, ih = self._frame_size
        scale = max(area.width() / iw, area.height() / ih)
        w, h = iw * scale, ih * scale
        target = QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)
        shown = self._image.deviceIndependentSize()
        if abs(shown.width() - w) < 2 and abs(shown.height() - h) < 2:
            painter.drawImage(QPointF(round(target.x()), round(target.y())), self._image)
        else:  # resized since the frame came in: scale this once, the next frame fits
            painter.drawImage(target, self._image)
        reading = self._reading
        if reading is None or reading.box is None:
            return
        # The other faces in view: a thin, dim outline each (the chosen one is drawn below).
        others = [f.box for f in reading.all_faces if f.box != reading.box]
        if others:
            dim = QColor(theme.TEXT)
            dim.setAlphaF(0.55)
            painter.setPen(QPen(dim, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for other in others:
                ox = iw - other.x - other.w if self.mirrored else other.x
                painter.drawRoundedRect(
                    QRectF(
                        target.x() + ox * scale,
                        target.y() + other.y * scale,
                        other.w * scale,
                        other.h * scale,
                    ),
                    8,
                    8,
                )
        box = reading.box
        x = iw - box.x - box.w if self.mirrored else box.x
        rect = QRectF(
            target.x() + x * scale, target.y() + box.y * scale, box.w * scale, box.h * scale
        )
        top = reading.top(1)
        color = theme.mood_color(top[0][0] if top else None)
        pen = QPen(color, 2.5)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 8, 8)
        if top:
            name, p = top[0]
            label = f"{theme.MOOD_WORDS.get(name, name)} {p * 100:.0f}%"
            font = QFont(self.font())
            font.setPixelSize(12)
            font.setBold(True)
            painter.setFont(font)
            metrics = painter.fontMetrics()
            lw = metrics.horizontalAdvance(label) + 14
            tag = QRectF(rect.x(), max(area.y() + 4, rect.y() - 24), lw, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(tag, 6, 6)
            painter.setPen(QColor("#101216"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_placeholder(self, painter: QPainter, area: QRectF) -> None:
        name = "eye_off" if self._hidden else "camera"
        size = 44
        pix = icons.pixmap(name, theme.TEXT_DIM, size)
        y = area.center().y() - size - 4
        painter.drawPixmap(int(area.center().x() - size / 2), int(y), pix)
        text = self._message
        if self._hidden:
            text = "Preview hidden for privacy.\nYour mood is still read, on this computer only."
        painter.setPen(QColor(theme.TEXT_DIM))
        font = QFont(self.font())
        font.setPixelSize(12)
        painter.setFont(font)
        box = QRectF(area.x() + 16, y + size + 10, area.width() - 32, area.height() / 2)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(box, flags, text)


class CameraPanel(QFrame):
    """Preview + a live light + the camera state, with a privacy toggle."""

    # The listener wants the preview shown (True) or hidden (False).
    preview_visibility_requested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._status = CameraState.OFF
        self._setup_ui()
        self._connect()
        self.set_status(CameraState.OFF, "")

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = QLabel("CAMERA")
        title.setObjectName("cardTitle")
        header.addWidget(title)
        header.addStretch(1)
        self.live_chip = QLabel()
        header.addWidget(self.live_chip, 0, Qt.AlignmentFlag.AlignVCenter)
        self.preview_button = QToolButton()
        self.preview_button.setCheckable(True)
        self.preview_button.setChecked(True)
        self.preview_button.setIconSize(self.preview_button.iconSize() * 1.1)
        header.addWidget(self.preview_button)
        layout.addLayout(header)
        self.preview = PreviewView()
        layout.addWidget(self.preview, 1)
        self.state_label = QLabel()
        self.state_label.setObjectName("dim")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        self._update_preview_button()

    def _connect(self) -> None:
        self.preview_button.toggled.connect(self._on_preview_toggled)

    def _on_preview_toggled(self, shown: bool) -> None:
        self.preview.set_hidden(not shown)
        self._update_preview_button()
        self.preview_visibility_requested.emit(shown)

    def _update_preview_button(self) -> None:
        shown = self.preview_button.isChecked()
        self.preview_button.setIcon(icons.icon("eye" if shown else "eye_off", theme.TEXT_DIM))
        self.preview_button.setToolTip(
            ("Hide the camera preview" if shown else "Show the camera preview") + " (C)"
        )

    def set_preview_visible(self, visible: bool) -> None:
        self.preview_button.setChecked(visible)
        self.preview.set_hidden(not visible)
        self._update_preview_button()

    @property
    def preview_visible(self) -> bool:
        return self.preview_button.isChecked()

    def set_status(self, status: CameraState, text: str) -> None:
        self._status = status
        live = status in (CameraState.RUNNING, CameraState.STARTING, CameraState.RECONNECTING)
        if live:
            self.live_chip.setText("●  CAMERA ON")
            self.live_chip.setObjectName("liveChip")
            self.live_chip.setToolTip("The camera is in use. Frames stay on this computer.")
        else:
            self.live_chip.setText("CAMERA OFF")
            self.live_chip.setObjectName("offChip")
            self.live_chip.setToolTip("The camera is not in use.")
        self.live_chip.style().unpolish(self.live_chip)
        self.live_chip.style().polish(self.live_chip)
        self.state_label.setText(text)
        # When there is no picture the message is painted in the preview itself.
        self.state_label.setVisible(status is CameraState.RUNNING)
        if status is not CameraState.RUNNING:
            self.preview.set_frame(None)
            self.preview.set_reading(None)
        self.preview.set_message(text)

    @property
    def status(self) -> CameraState:
        return self._status

    def show_frame(self, frame: Any, reading: Reading | None) -> None:
        if not self.preview_visible:
            return
        self.preview.set_reading(reading)
        self.preview.set_frame(frame)
