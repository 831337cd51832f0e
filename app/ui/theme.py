"""The look: a dark palette, one accent, a colour per expression, and the style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app import paths
from app.session import MOOD_WORDS as _MOOD_WORDS

BACKGROUND = "#121419"
SURFACE = "#1b1e26"
SURFACE_HIGH = "#252935"
BORDER = "#2c3140"
TEXT = "#e8eaf0"
TEXT_DIM = "#8d93a5"
ACCENT = "#8b7cf6"
# Text of a control that cannot be used now (dimmer than TEXT_DIM, so it reads as switched off).
DISABLED = "#5b6070"
ACCENT_SOFT = "#3a3470"
LIVE = "#ff5d6c"
OK = "#4cc38a"
WARN = "#f0b454"

# One colour per expression (the bars, the timeline, the mood title).
MOOD_COLORS: dict[str, str] = {
    "angry": "#f0605d",
    "disgust": "#93c24f",
    "fear": "#a77bf3",
    "happy": "#f5c84c",
    "sad": "#5b9cf0",
    "surprise": "#f59a4a",
    "neutral": "#9aa3b5",
}

# How the voted expression reads as a mood.
MOOD_WORDS = _MOOD_WORDS  # the words live with the session core, which says them too

FONT_FAMILIES = ["Inter", "Cantarell", "Noto Sans", "Segoe UI", "Helvetica Neue", "DejaVu Sans"]


def mood_color(expression: str | None) -> QColor:
    return QColor(MOOD_COLORS.get(expression or "", TEXT_DIM))


# Small images the style sheet draws (spin box arrows, radio buttons), shipped in assets/ui.
_UI = (paths.assets_dir() / "ui").as_posix()

STYLE_SHEET = f"""
QWidget {{ color: {TEXT}; }}
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QFrame#card {{
    background: {SURFACE};
    border: 1px solid {BORDER};
    border-radius: 14px;
}}
QLabel#cardTitle {{
    color: {TEXT_DIM}; font-size: 11px; font-weight: 600; letter-spacing: 1px;
}}
QLabel#dim {{ color: {TEXT_DIM}; }}
QLabel#trackTitle {{ font-size: 22px; font-weight: 700; }}
QLabel#trackArtist {{ color: {TEXT_DIM}; font-size: 14px; }}
QLabel#moodTitle {{ font-size: 26px; font-weight: 700; }}
QLabel#time {{ color: {TEXT_DIM}; font-size: 11px; }}
QLabel#chip {{
    background: {ACCENT_SOFT}; color: {TEXT}; border-radius: 8px; padding: 3px 10px;
    font-size: 11px; font-weight: 600;
}}
QLabel#liveChip {{
    background: rgba(255, 93, 108, 0.16); color: {LIVE}; border-radius: 8px;
    padding: 3px 10px; font-size: 11px; font-weight: 700;
}}
QLabel#offChip {{
    background: {SURFACE_HIGH}; color: {TEXT_DIM}; border-radius: 8px; padding: 3px 10px;
    font-size: 11px; font-weight: 600;
}}
QToolButton {{
    background: transparent; border: 1px solid transparent; border-radius: 8px; padding: 6px;
}}
QToolButton:hover {{ background: {SURFACE_HIGH}; }}
QToolButton:checked {{ background: {ACCENT_SOFT}; }}
QToolButton#playButton {{
    background: {ACCENT}; border: 1px solid {ACCENT}; border-radius: 25px; padding: 0px;
    min-width: 54px; max-width: 54px; min-height: 54px; max-height: 54px;
}}
QToolButton#playButton:hover {{ background: #9d90ff; }}
QPushButton {{
    background: {SURFACE_HIGH}; border: 1px solid {BORDER}; border-radius: 8px;
    padding: 6px 14px;
}}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:default {{ background: {ACCENT}; border-color: {ACCENT}; }}
QComboBox, QLineEdit, QSpinBox, QDoubleSpinBox {{
    background: {SURFACE_HIGH}; border: 1px solid {BORDER}; border-radius: 8px;
    padding: 5px 10px; selection-background-color: {ACCENT};
}}
QComboBox:hover, QLineEdit:hover, QSpinBox:hover, QDoubleSpinBox:hover {{ border-color: {ACCENT}; }}
QComboBox:disabled, QLineEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled,
QPushButton:disabled {{
    background: transparent; color: {DISABLED}; border: 1px dashed {BORDER};
}}
QCheckBox:disabled, QRadioButton:disabled, QLabel:disabled {{ color: {DISABLED}; }}
QComboBox::drop-down {{ border: none; width: 22px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{
    border: none; background: transparent; width: 16px;
}}
QAbstractSpinBox::up-arrow {{ image: url("{_UI}/spin-up.svg"); width: 10px; height: 6px; }}
QAbstractSpinBox::down-arrow {{ image: url("{_UI}/spin-down.svg"); width: 10px; height: 6px; }}
QAbstractSpinBox::up-arrow:disabled, QAbstractSpinBox::down-arrow:disabled {{ image: none; }}
QComboBox QAbstractItemView {{
    background: {SURFACE_HIGH}; border: 1px solid {BORDER}; selection-background-color: {ACCENT};
    outline: none;
}}
QSlider::groove:horizontal {{ height: 4px; background: {SURFACE_HIGH}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT}; width: 12px; height: 12px; margin: -4px 0; border-radius: 6px;
}}
QSlider::handle:horizontal:hover {{ background: #ffffff; }}
QListWidget, QTreeWidget, QTableWidget {{
    background: transparent; border: none; outline: none;
}}
QTreeWidget::item, QListWidget::item {{ padding: 5px 4px; border-radius: 6px; }}
QTreeWidget::item:hover, QListWidget::item:hover {{ background: {SURFACE_HIGH}; }}
QTreeWidget::item:selected, QListWidget::item:selected {{
    background: {ACCENT_SOFT}; color: {TEXT};
}}
QHeaderView::section {{
    background: transparent; color: {TEXT_DIM}; border: none; padding: 4px;
    font-size: 11px; font-weight: 600;
}}
QStatusBar {{ background: {SURFACE}; color: {TEXT_DIM}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {TEXT_DIM}; padding: 0 8px; }}
QMenuBar {{ background: {BACKGROUND}; }}
QMenuBar::item:selected {{ background: {SURFACE_HIGH}; border-radius: 4px; }}
QMenu {{ background: {SURFACE}; border: 1px solid {BORDER}; padding: 4px; }}
QMenu::item {{ padding: 5px 24px 5px 18px; border-radius: 4px; }}
QMenu::item:selected {{ background: {ACCENT_SOFT}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; border-radius: 8px; top: -1px; }}
QTabBar::tab {{
    background: transparent; color: {TEXT_DIM}; padding: 7px 14px; border: none;
}}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QScrollBar:vertical {{ background: transparent; width: 8px; }}
QScrollBar::handle:vertical {{ background: {SURFACE_HIGH}; border-radius: 4px; min-height: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 16px; height: 16px; }}
QRadioButton::indicator {{ image: url("{_UI}/radio-off.svg"); }}
QRadioButton::indicator:checked {{ image: url("{_UI}/radio-on.svg"); }}
QRadioButton::indicator:disabled {{ image: url("{_UI}/radio-disabled.svg"); }}
QToolTip {{
    background: {SURFACE_HIGH}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px;
}}
"""


def apply(app: QApplication) -> None:
    """Dark palette, the app font and the style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: SURFACE,
        QPalette.ColorRole.AlternateBase: SURFACE_HIGH,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: SURFACE_HIGH,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: SURFACE_HIGH,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.PlaceholderText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED))
    app.setPalette(palette)
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(10.0)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
