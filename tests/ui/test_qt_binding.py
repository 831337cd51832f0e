"""Guard against a Qt binding that leaks references to None (PySide6 6.12.0 on Python 3.11):
every void call dropped one, and the window died with "none_dealloc" after a minute of repaints."""

from __future__ import annotations

import sys

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel

CALLS = 500


def test_void_qt_calls_keep_none_alive(qtbot) -> None:
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    label = QLabel()
    qtbot.addWidget(label)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for i in range(CALLS):
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#336699"))
        painter.drawRect(QRectF(0, 0, 8, 8))
        label.setText(str(i % 3))
    painter.end()
    lost = before - sys.getrefcount(None)
    assert lost < CALLS // 2, f"{lost} references to None lost in {CALLS * 4} Qt calls"
