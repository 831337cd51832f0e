"""The mood panel: the voted mood with its confidence, seven live expression bars and a timeline."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.session import TIMELINE_SECONDS, TimelinePoint
from app.ui import theme
from app.vision.reading import EXPRESSIONS


class ExpressionBars(QWidget):
    """Seven horizontal bars, one per expression, painted. With ``raw`` (while the calibration
    corrects the readings) each bar's raw reading is drawn as a faint outline behind the
    corrected bar: the before and after of your neutral face."""

    ROW = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, float] = {}
        self._raw: dict[str, float] | None = None
        self.setMinimumHeight(self.ROW * len(EXPRESSIONS))

    def set_probabilities(
        self, values: dict[str, float], raw: dict[str, float] | None = None
    ) -> None:
        self._values = dict(values)
        self._raw = dict(raw) if raw is not None and values else None
        self.update()

    def values(self) -> dict[str, float]:
        return dict(self._values)

    def raw_values(self) -> dict[str, float] | None:
        """The raw reading drawn behind the bars (None: no calibration correcting)."""
        return dict(self._raw) if self._raw is not None else None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(12)
        painter.setFont(font)
        label_w = 78
        value_w = 40
        row_h = max(self.ROW, self.height() / len(EXPRESSIONS))
        bar_w = max(10.0, self.width() - label_w - value_w - 8)
        top = max((v for v in self._values.values()), default=0.0)
        for i, name in enumerate(EXPRESSIONS):
            y = i * row_h
            value = self._values.get(name, 0.0)
            strong = bool(self._values) and value == top
            painter.setPen(QColor(theme.TEXT if strong else theme.TEXT_DIM))
            painter.drawText(
                QRectF(0, y, label_w, row_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                name.capitalize(),
            )
            track = QRectF(label_w, y + row_h / 2 - 4, bar_w, 8)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.SURFACE_HIGH))
            painter.drawRoundedRect(track, 4, 4)
            before = self._raw.get(name, 0.0) if self._raw is not None else 0.0
            if before >= 0.005:  # the raw reading: a faint, wider outline behind the bar
                outline = QColor(theme.mood_color(name))
                outline.setAlphaF(0.55)
                pen = QPen(outline, 1.2, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                faint = QColor(outline)
                faint.setAlphaF(0.16)
                painter.setBrush(faint)
                width = max(10.0, bar_w * before)
                painter.drawRoundedRect(QRectF(track.x(), track.y() - 2, width, 12), 5, 5)
                painter.setPen(Qt.PenStyle.NoPen)
            if value >= 0.005:
                fill = QRectF(track.x(), track.y(), max(8.0, bar_w * value), 8)
                color = theme.mood_color(name)
                if not strong:
                    color.setAlphaF(0.7)
                painter.setBrush(color)
                painter.drawRoundedRect(fill, 4, 4)
            painter.setPen(QColor(theme.TEXT if strong else theme.TEXT_DIM))
            painter.drawText(
                QRectF(label_w + bar_w, y, value_w + 8, row_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{value * 100:.0f}%" if self._values else "–",
            )
        painter.end()


BEFORE_AFTER = "Dashed: the raw reading · filled: corrected by your neutral face"
MIN_SPAN_S = 60.0
# Below this the voted mood is not 'N% sure': no reading in the window had a face.
MIN_SHOWN_CONFIDENCE = 0.005


class MoodTimeline(QWidget):
    """A strip of the voted mood over the last minutes, newest on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[TimelinePoint] = []
        self._now = 0.0
        self.span = TIMELINE_SECONDS
        self.setMinimumHeight(34)

    def set_points(self, points: Iterable[TimelinePoint], now: float) -> None:
        self._points = list(points)
        self._now = now
        # Grow from one minute to the full history, so a fresh session is not a sliver.
        seen = now - self._points[0].time if self._points else 0.0
        self.span = max(MIN_SPAN_S, min(TIMELINE_SECONDS, 60.0 * math.ceil(seen / 60.0)))
        self.update()

    def _segments(self) -> list[tuple[str | None, float, float, float]]:
        """Runs of the same mood: (mood, start, end, mean confidence)."""
        runs: list[tuple[str | None, float, float, float]] = []
        weights: list[int] = []
        for i, point in enumerate(self._points):
            end = self._points[i + 1].time if i + 1 < len(self._points) else self._now
            if runs and runs[-1][0] == point.mood:
                mood, t0, _t1, conf = runs[-1]
                n = weights[-1]
                runs[-1] = (mood, t0, end, (conf * n + point.confidence) / (n + 1))
                weights[-1] = n + 1
            else:
                runs.append((point.mood, point.time, end, point.confidence))
                weights.append(1)
        return runs

    @property
    def points(self) -> list[TimelinePoint]:
        return list(self._points)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(10)
        painter.setFont(font)
        strip = QRectF(0, 0, self.width(), self.height() - 14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.SURFACE_HIGH))
        painter.drawRoundedRect(strip, 5, 5)
        start = self._now - self.span
        px = strip.width() / self.span
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for mood, t0, t1, confidence in self._segments():
            if t1 < start or mood is None:
                continue
            x0 = round(strip.x() + (max(t0, start) - start) * px)
            x1 = round(strip.x() + (t1 - start) * px)
            color = theme.mood_color(mood)
            color.setAlphaF(0.35 + 0.65 * max(0.0, min(1.0, confidence)))
            painter.setBrush(color)
            painter.drawRect(QRectF(x0, strip.y() + 3, max(1, x1 - x0), strip.height() - 6))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QColor(theme.TEXT_DIM))
        minutes = int(self.span // 60)
        painter.drawText(
            QRectF(0, strip.bottom() + 1, self.width(), 13),
            Qt.AlignmentFlag.AlignLeft,
            f"mood, last {minutes} min",
        )
        painter.drawText(
            QRectF(0, strip.bottom() + 1, self.width(), 13), Qt.AlignmentFlag.AlignRight, "now"
        )
        painter.end()


class MoodPanel(QFrame):
    """The voted mood, the live expressions and the timeline."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._color = ""
        self._setup_ui()
        self.set_mood(None, 0.0, face=False, camera=False)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        title = QLabel("YOUR MOOD")
        title.setObjectName("cardTitle")
        layout.addWidget(title)
        row = QHBoxLayout()
        self.dot = QLabel()
        self.dot.setFixedSize(14, 14)
        row.addWidget(self.dot)
        self.mood_label = QLabel()
        self.mood_label.setObjectName("moodTitle")
        row.addWidget(self.mood_label)
        row.addStretch(1)
        self.confidence_label = QLabel()
        self.confidence_label.setObjectName("dim")
        row.addWidget(self.confidence_label)
        layout.addLayout(row)
        self.bars = ExpressionBars()
        layout.addWidget(self.bars)
        # shown while the calibration corrects the readings: what the outline is
        self.before_after = QLabel(BEFORE_AFTER)
        self.before_after.setObjectName("dim")
        self.before_after.setWordWrap(True)
        self.before_after.setToolTip(
            "Your neutral face (Mood → Calibrate my neutral face…) corrects every reading; the "
            "outline is what the model read before the correction. Settings → Mood turns it off."
        )
        self.before_after.hide()
        layout.addWidget(self.before_after)
        self.timeline = MoodTimeline()
        layout.addWidget(self.timeline)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def set_mood(self, mood: str | None, confidence: float, face: bool, camera: bool) -> None:
        if mood is not None:
            text = theme.MOOD_WORDS.get(mood, mood.capitalize())
            # The last voted mood stays while nobody is in view (the music keeps following it),
            # and through a short gap in which no reading had a face (nothing to be sure of).
            if not face:
                sure = "nobody in view"
            elif confidence < MIN_SHOWN_CONFIDENCE:
                sure = "face out of view"
            else:
                sure = f"{confidence * 100:.0f}% sure"
            self.confidence_label.setText(sure)
        elif not camera:
            text = "Not watching"  # the camera panel says why (camera off), and how to turn it on
            self.confidence_label.setText("")
        elif not face:
            text = "Looking for you…"
            self.confidence_label.setText("")
        else:
            text = "Reading…"
            self.confidence_label.setText("")
        color = theme.MOOD_COLORS.get(mood or "", theme.TEXT_DIM)
        self.mood_label.setText(text)
        if color != self._color:  # a style sheet change re-polishes: only when it changes
            self._color = color
            self.mood_label.setStyleSheet(f"color: {color};")
            self.dot.setStyleSheet(f"background: {color}; border-radius: 7px;")

    def set_probabilities(
        self, values: dict[str, float], raw: dict[str, float] | None = None
    ) -> None:
        """The live bars; ``raw`` (the reading before the calibration's correction) adds the
        before/after outline and its legend."""
        self.bars.set_probabilities(values, raw)
        shown = self.bars.raw_values() is not None
        if self.before_after.isVisibleTo(self) != shown:
            self.before_after.setVisible(shown)

    @property
    def mood_text(self) -> str:
        return self.mood_label.text()
