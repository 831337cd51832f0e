"""About MoodPlayer: version, privacy, the model cards and where the music comes from."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__, paths

log = logging.getLogger(__name__)


def model_cards(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every readable model card (JSON beside an ONNX model) in the models folder."""
    folder = folder or paths.models_dir()
    cards: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("model card %s unreadable: %s", path, exc)
            continue
        if isinstance(data, dict):
            data.setdefault("name", path.stem)
            cards.append(data)
    # the default classifier (an ensemble card, naming its members) first
    cards.sort(key=lambda card: "members" not in card)
    return cards


def _link(text: str) -> str:
    escaped = html.escape(text)
    words = []
    for word in escaped.split(" "):
        bare = word.strip("(),;")
        if bare.startswith(("http://", "https://")):
            word = word.replace(bare, f'<a href="{bare}">{bare}</a>')
        words.append(word)
    return " ".join(words)


def _measured(figures: object) -> str:
    """An ensemble card's measured FER2013 test figures in one line, or ""."""
    if not isinstance(figures, dict) or not isinstance(figures.get("test"), dict):
        return ""
    test = figures["test"]
    per_class = test.get("per_class")
    try:
        text = f"FER2013 test: {100 * float(test['accuracy']):.1f} % of {int(test['n']):,} faces"
        if isinstance(per_class, dict) and per_class:
            text += f", every expression's recall ≥ {min(map(float, per_class.values())):.2f}"
    except (KeyError, TypeError, ValueError):
        return ""
    return text + " (docs/BENCHMARKS.md)"


def models_html(cards: list[dict[str, Any]]) -> str:
    if not cards:
        return "<p>No expression model card was found.</p>"
    parts = []
    for card in cards:
        rows = []
        for key, label in (
            ("description", "What it is"),
            ("source", "Source"),
            ("licence", "Licence"),
            ("attribution", "Credits"),
            ("labels", "Expressions"),
        ):
            value = card.get(key)
            if not value:
                continue
            if isinstance(value, list):
                value = ", ".join(map(str, value))
            rows.append(f"<tr><td><b>{label}</b></td><td>{_link(str(value))}</td></tr>")
        measured = _measured(card.get("figures"))
        if measured:
            rows.append(f"<tr><td><b>Measured</b></td><td>{html.escape(measured)}</td></tr>")
        size = ""
        if card.get("input_width"):
            size = f"{card.get('input_width')}×{card.get('input_height')} {card.get('colour', '')}"
            rows.append(f"<tr><td><b>Input</b></td><td>{html.escape(size)}</td></tr>")
        parts.append(
            f"<h3>{html.escape(str(card.get('name')))}</h3>"
            f"<table cellspacing='6'>{''.join(rows)}</table>"
        )
    return "".join(parts)


def music_text() -> str:
    readme = paths.playlists_dir() / "README.md"
    try:
        return readme.read_text(encoding="utf-8")
    except OSError:
        return "The default playlists' origin is described in playlists/README.md."


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(640, 520)
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>{APP_NAME} {__version__}</h2>")
        layout.addWidget(title)
        intro = QLabel(
            "Music that follows your mood, read from your webcam on this computer only. "
            "No frame, face or score is ever written to disk or sent anywhere."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tabs = QTabWidget()
        self.model_view = QTextBrowser()
        self.model_view.setOpenExternalLinks(True)
        self.model_view.setHtml(models_html(model_cards()))
        self.tabs.addTab(self.model_view, "Expression model")
        self.music_view = QTextBrowser()
        self.music_view.setOpenExternalLinks(True)
        self.music_view.setMarkdown(music_text())
        self.tabs.addTab(self.music_view, "Music")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setFocusPolicy(
            Qt.FocusPolicy.StrongFocus
        )
        layout.addWidget(buttons)
