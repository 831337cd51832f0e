"""Render assets/moodplayer.svg to the PNG sizes desktops ask for (run: make icons or directly).

    python assets/render_icons.py

Writes assets/icons/hicolor/<N>x<N>/apps/moodplayer.png for N in 16, 32, 48, 64, 128, 256, 512,
the same layout as the freedesktop hicolor icon theme, so installing is a plain copy, plus
moodplayer.ico (256 px, for a Windows shortcut) and moodplayer.icns (512 px, for a macOS bundle).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent
SVG = ASSETS / "moodplayer.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def png_path(size: int, root: Path = ASSETS) -> Path:
    return root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "moodplayer.png"


def render(size: int, svg: Path = SVG):  # type: ignore[no-untyped-def]
    """The icon as a QImage of ``size`` x ``size`` (a QGuiApplication must exist)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for size in SIZES:
        target = png_path(size)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")
        print(target.relative_to(ASSETS.parent))
    for name, fmt, size in (("moodplayer.ico", "ICO", 256), ("moodplayer.icns", "ICNS", 512)):
        target = ASSETS / name
        if not render(size).save(str(target), fmt):
            raise SystemExit(f"could not write {target} (no {fmt} image plugin in this Qt?)")
        print(target.relative_to(ASSETS.parent))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
