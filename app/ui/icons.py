"""Player icons drawn with QPainter, so they look the same on every platform and theme."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from app.ui import theme

_SIZE = 64  # drawn at 64 px, scaled down by Qt


def _triangle(p: QPainter, x: float, y: float, w: float, h: float, left: bool = False) -> None:
    path = QPainterPath()
    if left:
        path.moveTo(x + w, y)
        path.lineTo(x, y + h / 2)
        path.lineTo(x + w, y + h)
    else:
        path.moveTo(x, y)
        path.lineTo(x + w, y + h / 2)
        path.lineTo(x, y + h)
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _play(p: QPainter) -> None:
    _triangle(p, 20, 14, 30, 36)


def _pause(p: QPainter) -> None:
    c = p.pen().color()
    p.fillRect(QRectF(18, 14, 10, 36), c)
    p.fillRect(QRectF(36, 14, 10, 36), c)


def _next(p: QPainter) -> None:
    _triangle(p, 14, 16, 26, 32)
    p.fillRect(QRectF(42, 16, 7, 32), p.pen().color())


def _previous(p: QPainter) -> None:
    _triangle(p, 24, 16, 26, 32, left=True)
    p.fillRect(QRectF(15, 16, 7, 32), p.pen().color())


def _chevron(p: QPainter, left: bool) -> None:
    path = QPainterPath()
    if left:
        path.moveTo(38, 16)
        path.lineTo(24, 32)
        path.lineTo(38, 48)
    else:
        path.moveTo(26, 16)
        path.lineTo(40, 32)
        path.lineTo(26, 48)
    p.drawPath(path)


def _arrow_head(p: QPainter, tip: QPointF, angle_deg: float, size: float = 9) -> None:
    a = math.radians(angle_deg)
    path = QPainterPath()
    path.moveTo(tip)
    for da in (150, -150):
        b = a + math.radians(da)
        path.lineTo(tip.x() + size * math.cos(b), tip.y() + size * math.sin(b))
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _repeat(p: QPainter, one: bool = False) -> None:
    path = QPainterPath()
    path.moveTo(14, 36)
    path.lineTo(14, 24)
    path.quadTo(14, 18, 20, 18)
    path.lineTo(46, 18)
    p.drawPath(path)
    _arrow_head(p, QPointF(52, 18), 0)
    path = QPainterPath()
    path.moveTo(50, 28)
    path.lineTo(50, 40)
    path.quadTo(50, 46, 44, 46)
    path.lineTo(18, 46)
    p.drawPath(path)
    _arrow_head(p, QPointF(12, 46), 180)
    if one:
        font = p.font()
        font.setPixelSize(20)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(20, 20, 24, 24), Qt.AlignmentFlag.AlignCenter, "1")


def _shuffle(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(12, 20)
    path.cubicTo(30, 20, 34, 44, 48, 44)
    p.drawPath(path)
    _arrow_head(p, QPointF(54, 44), 0)
    path = QPainterPath()
    path.moveTo(12, 44)
    path.cubicTo(30, 44, 34, 20, 48, 20)
    p.drawPath(path)
    _arrow_head(p, QPointF(54, 20), 0)


def _speaker(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(10, 25)
    path.lineTo(20, 25)
    path.lineTo(32, 14)
    path.lineTo(32, 50)
    path.lineTo(20, 39)
    path.lineTo(10, 39)
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _volume(p: QPainter) -> None:
    _speaker(p)
    p.drawArc(QRectF(30, 22, 12, 20), -60 * 16, 120 * 16)
    p.drawArc(QRectF(30, 14, 22, 36), -60 * 16, 120 * 16)


def _muted(p: QPainter) -> None:
    _speaker(p)
    p.drawLine(QPointF(40, 24), QPointF(54, 40))
    p.drawLine(QPointF(54, 24), QPointF(40, 40))


def _eye(p: QPainter, crossed: bool = False) -> None:
    path = QPainterPath()
    path.moveTo(8, 32)
    path.quadTo(32, 8, 56, 32)
    path.quadTo(32, 56, 8, 32)
    p.drawPath(path)
    p.drawEllipse(QPointF(32, 32), 7, 7)
    if crossed:
        p.drawLine(QPointF(12, 52), QPointF(52, 12))


def _camera(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(8, 20, 34, 26), 5, 5)
    path = QPainterPath()
    path.moveTo(44, 28)
    path.lineTo(56, 21)
    path.lineTo(56, 45)
    path.lineTo(44, 38)
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _gear(p: QPainter) -> None:
    c = QPointF(32, 32)
    for i in range(8):
        a = math.radians(i * 45)
        p.drawLine(
            QPointF(c.x() + 14 * math.cos(a), c.y() + 14 * math.sin(a)),
            QPointF(c.x() + 22 * math.cos(a), c.y() + 22 * math.sin(a)),
        )
    p.drawEllipse(c, 14, 14)
    p.drawEllipse(c, 5, 5)


def _auto(p: QPainter) -> None:
    # a small face: what Auto follows
    p.drawEllipse(QPointF(32, 32), 20, 20)
    p.setBrush(p.pen().color())
    p.drawEllipse(QPointF(25, 27), 2.5, 2.5)
    p.drawEllipse(QPointF(39, 27), 2.5, 2.5)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(22, 26, 20, 14), -20 * 16, -140 * 16)


_DRAW: dict[str, Callable[[QPainter], None]] = {
    "play": _play,
    "pause": _pause,
    "next": _next,
    "previous": _previous,
    "chevron_left": lambda p: _chevron(p, True),
    "chevron_right": lambda p: _chevron(p, False),
    "repeat": _repeat,
    "repeat_one": lambda p: _repeat(p, one=True),
    "shuffle": _shuffle,
    "volume": _volume,
    "muted": _muted,
    "eye": _eye,
    "eye_off": lambda p: _eye(p, crossed=True),
    "camera": _camera,
    "gear": _gear,
    "auto": _auto,
}

NAMES = tuple(_DRAW)


def pixmap(name: str, color: str = theme.TEXT, size: int = _SIZE) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / _SIZE, size / _SIZE)
    pen = QPen(QColor(color), 5.0)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    _DRAW[name](painter)
    painter.end()
    return pix


@cache
def icon(name: str, color: str = theme.TEXT, active: str | None = None) -> QIcon:
    """An icon; ``active`` is the colour used when the button is checked."""
    result = QIcon()
    result.addPixmap(pixmap(name, color), QIcon.Mode.Normal, QIcon.State.Off)
    result.addPixmap(pixmap(name, theme.TEXT_DIM), QIcon.Mode.Disabled, QIcon.State.Off)
    result.addPixmap(pixmap(name, active or color), QIcon.Mode.Normal, QIcon.State.On)
    return result
