"""Now playing, the transport buttons, the playlist chooser and the track list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QLinearGradient, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui import icons, theme

AUTO_LABEL = "Auto (follow my mood)"

PLAYLIST_COLORS: dict[str, str] = {
    "calm": "#5fb3b3",
    "gentle": "#a77bf3",
    "upbeat": "#f5c84c",
    "energetic": "#f59a4a",
    "melancholy": "#5b9cf0",
    "intense": "#f0605d",
}
_SPARE_COLORS = ("#4cc38a", "#e07bd0", "#7cc7f6", "#d9a35b")


def playlist_color(name: str | None) -> QColor:
    if not name:
        return QColor(theme.ACCENT)
    known = PLAYLIST_COLORS.get(name.lower())
    if known:
        return QColor(known)
    return QColor(_SPARE_COLORS[sum(map(ord, name)) % len(_SPARE_COLORS)])


def display_name(name: str) -> str:
    """A playlist name as shown: folder names in lower case get a capital."""
    return name.capitalize() if name.islower() else name


def format_time(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–:––"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _tool_button(name: str, tip: str, size: int = 22, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setIcon(icons.icon(name, theme.TEXT, theme.ACCENT))
    button.setIconSize(QSize(size, size))
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    button.setCheckable(checkable)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setAutoRaise(True)
    return button


class ArtTile(QWidget):
    """A cover made from the playlist's colour and initial (the shipped music has no artwork)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._name = ""
        self.setFixedSize(112, 112)

    def set_playlist(self, name: str | None) -> None:
        if (name or "") != self._name:
            self._name = name or ""
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect())
        base = playlist_color(self._name)
        gradient = QLinearGradient(rect.topLeft(), rect.bottomRight())
        gradient.setColorAt(0.0, base.lighter(115))
        gradient.setColorAt(1.0, base.darker(260))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(gradient)
        painter.drawRoundedRect(rect, 12, 12)
        painter.setBrush(QColor(255, 255, 255, 28))
        painter.drawEllipse(QRectF(rect.width() * 0.45, -rect.height() * 0.2, 90, 90))
        font = QFont(self.font())
        font.setPixelSize(48)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255, 230))
        letter = self._name[:1].upper() if self._name else "♪"
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, letter)
        painter.end()


class ClickSlider(QSlider):
    """A horizontal slider that jumps to where it is pressed and follows the mouse while held.

    A plain ``QSlider`` steps a page towards a click and only drags from its handle; a player's
    progress and volume bars go where the pointer is. The drag ends with ``sliderReleased``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._dragging = False

    def value_at(self, x: float) -> int:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = max(1, groove.width() - handle.width())
        offset = min(span, max(0, round(x) - groove.x() - handle.width() // 2))
        return QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), offset, span)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self._dragging = True
        self.setSliderDown(True)
        self.setValue(self.value_at(event.position().x()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._dragging:
            super().mouseMoveEvent(event)
            return
        self.setValue(self.value_at(event.position().x()))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not self._dragging or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self._dragging = False
        self.setValue(self.value_at(event.position().x()))
        self.setSliderDown(False)  # emits sliderReleased
        event.accept()


class SeekSlider(ClickSlider):
    """The progress bar: press anywhere and drag; the position chosen is reported on release."""

    # A fraction 0..1 of the track.
    seek_fraction_requested = Signal(float)

    RESOLUTION = 1000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, self.RESOLUTION)
        self.sliderReleased.connect(lambda: self.seek_fraction_requested.emit(self.fraction()))

    def fraction(self) -> float:
        return self.value() / self.RESOLUTION


class NowPlaying(QWidget):
    """Cover, title, artist, playlist, progress that seeks, elapsed/total."""

    # Seconds from the start of the current track.
    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._duration = 0.0
        self._setup_ui()
        self._connect()
        self.set_track(None, None, None)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        top = QHBoxLayout()
        top.setSpacing(18)
        self.art = ArtTile()
        top.addWidget(self.art)
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addStretch(1)
        caption = QLabel("NOW PLAYING")
        caption.setObjectName("cardTitle")
        text.addWidget(caption)
        self.title_label = QLabel()
        self.title_label.setObjectName("trackTitle")
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        text.addWidget(self.title_label)
        self.artist_label = QLabel()
        self.artist_label.setObjectName("trackArtist")
        self.artist_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        text.addWidget(self.artist_label)
        chips = QHBoxLayout()
        chips.setSpacing(6)
        self.mode_chip = QLabel()
        self.mode_chip.setObjectName("chip")
        chips.addWidget(self.mode_chip)
        self.playlist_chip = QLabel()
        self.playlist_chip.setObjectName("offChip")
        chips.addWidget(self.playlist_chip)
        chips.addStretch(1)
        text.addSpacing(4)
        text.addLayout(chips)
        text.addStretch(1)
        top.addLayout(text, 1)
        layout.addLayout(top)
        self.progress = SeekSlider()
        self.progress.setToolTip("Seek (Left/Right: ±5 s)")
        layout.addWidget(self.progress)
        times = QHBoxLayout()
        self.elapsed_label = QLabel("0:00")
        self.elapsed_label.setObjectName("time")
        self.total_label = QLabel("0:00")
        self.total_label.setObjectName("time")
        times.addWidget(self.elapsed_label)
        times.addStretch(1)
        times.addWidget(self.total_label)
        layout.addLayout(times)

    def _connect(self) -> None:
        self.progress.seek_fraction_requested.connect(self._on_seek_fraction)

    def _on_seek_fraction(self, fraction: float) -> None:
        if self._duration > 0:
            self.seek_requested.emit(fraction * self._duration)

    def set_track(self, title: str | None, artist: str | None, playlist: str | None) -> None:
        self.title_label.setText(title or "Nothing playing")
        self.artist_label.setText(artist or ("" if title else "Choose a playlist or press Play"))
        self.playlist_chip.setText(display_name(playlist) if playlist else "no playlist")
        self.art.set_playlist(playlist)

    def set_mode(self, auto: bool, mood_word: str | None = None) -> None:
        if auto:
            self.mode_chip.setText("AUTO · " + (mood_word or "follows your mood"))
            self.mode_chip.setToolTip("The playlist follows your mood (A)")
        else:
            self.mode_chip.setText("MANUAL")
            self.mode_chip.setToolTip("You chose the playlist; press A to follow your mood again")

    def set_position(self, position: float, duration: float | None) -> None:
        self._duration = float(duration or 0.0)
        if not self.progress.isSliderDown():
            if self._duration > 0:
                fraction = max(0.0, min(1.0, position / self._duration))
                self.progress.setValue(round(fraction * SeekSlider.RESOLUTION))
            else:
                self.progress.setValue(0)
        self.progress.setEnabled(self._duration > 0)
        self.elapsed_label.setText(format_time(position))
        self.total_label.setText(format_time(self._duration if self._duration > 0 else None))


class TransportBar(QWidget):
    """Previous, play/pause, next, repeat, shuffle, mute and volume."""

    previous_requested = Signal()
    play_pause_requested = Signal()
    next_requested = Signal()
    # Cycle all -> one -> off -> all.
    repeat_cycle_requested = Signal()
    shuffle_requested = Signal(bool)
    mute_requested = Signal(bool)
    # 0..1
    volume_requested = Signal(float)

    REPEAT_TIPS: ClassVar[dict[str, str]] = {
        "all": "Repeat: the whole playlist (R)",
        "one": "Repeat: this track (R)",
        "off": "Repeat: off (R)",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._repeat = "all"
        self._playing: bool | None = None
        self._shown_volume: tuple[float, bool] | None = None
        self._setup_ui()
        self._connect()
        self.set_repeat("all")

    def _setup_ui(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.shuffle_button = _tool_button("shuffle", "Shuffle (S)", 20, checkable=True)
        self.previous_button = _tool_button("previous", "Previous track (Ctrl+Left)", 22)
        self.play_button = QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setIconSize(QSize(28, 28))
        self.play_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.next_button = _tool_button("next", "Next track (Ctrl+Right)", 22)
        self.repeat_button = _tool_button("repeat", "", 20, checkable=True)
        self.mute_button = _tool_button("volume", "Mute (M)", 20, checkable=True)
        self.mute_button.setIcon(icons.icon("volume", theme.TEXT, theme.TEXT))
        self.volume_slider = ClickSlider()
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(120)
        self.volume_slider.setToolTip("Volume (Up/Down)")
        layout.addWidget(self.shuffle_button)
        layout.addSpacing(4)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.play_button)
        layout.addWidget(self.next_button)
        layout.addSpacing(4)
        layout.addWidget(self.repeat_button)
        layout.addStretch(1)
        layout.addWidget(self.mute_button)
        layout.addWidget(self.volume_slider)
        self.set_playing(False)

    def _connect(self) -> None:
        self.previous_button.clicked.connect(self.previous_requested)
        self.play_button.clicked.connect(self.play_pause_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.repeat_button.clicked.connect(self._on_repeat_clicked)
        self.shuffle_button.toggled.connect(self.shuffle_requested)
        self.mute_button.toggled.connect(self._on_mute_toggled)
        self.volume_slider.valueChanged.connect(self._on_volume)

    def _on_repeat_clicked(self) -> None:
        # The checked look follows the player's state, not the click.
        self.repeat_button.setChecked(self._repeat != "off")
        self.repeat_cycle_requested.emit()

    def _on_mute_toggled(self, muted: bool) -> None:
        self.mute_button.setIcon(icons.icon("muted" if muted else "volume", theme.TEXT, theme.TEXT))
        self.mute_requested.emit(muted)

    def _on_volume(self, value: int) -> None:
        self.volume_requested.emit(value / 100.0)

    def set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        self.play_button.setIcon(icons.icon("pause" if playing else "play", "#ffffff"))
        self.play_button.setToolTip(("Pause" if playing else "Play") + " (Space)")

    def set_repeat(self, mode: str) -> None:
        if mode == self._repeat and self.repeat_button.toolTip():
            self.repeat_button.setChecked(mode != "off")
            return
        self._repeat = mode
        self.repeat_button.setIcon(
            icons.icon("repeat_one" if mode == "one" else "repeat", theme.TEXT_DIM, theme.ACCENT)
        )
        self.repeat_button.setChecked(mode != "off")
        self.repeat_button.setToolTip(self.REPEAT_TIPS.get(mode, mode))

    @property
    def repeat(self) -> str:
        return self._repeat

    def set_shuffle(self, on: bool) -> None:
        self.shuffle_button.blockSignals(True)
        self.shuffle_button.setChecked(on)
        self.shuffle_button.blockSignals(False)

    def set_volume(self, volume: float, muted: bool) -> None:
        if (volume, muted) == self._shown_volume:
            return
        self._shown_volume = (volume, muted)
        self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(round(volume * 100))
        self.volume_slider.blockSignals(False)
        self.mute_button.blockSignals(True)
        self.mute_button.setChecked(muted)
        self.mute_button.setIcon(icons.icon("muted" if muted else "volume", theme.TEXT, theme.TEXT))
        self.mute_button.blockSignals(False)


class PlaylistBar(QWidget):
    """Auto or a playlist, with previous/next playlist buttons."""

    # The listener picked this playlist (manual override).
    override_requested = Signal(str)
    # The listener handed the choice back to the mood.
    auto_requested = Signal()
    previous_playlist_requested = Signal()
    next_playlist_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_ui()
        self._connect()

    def _setup_ui(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.previous_button = _tool_button("chevron_left", "Previous playlist (PgUp)", 18)
        self.combo = QComboBox()
        self.combo.setToolTip("Choose a playlist, or Auto to follow your mood (A)")
        self.combo.setMinimumWidth(220)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.addItem(icons.icon("auto", theme.ACCENT), AUTO_LABEL, None)
        self.next_button = _tool_button("chevron_right", "Next playlist (PgDn)", 18)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.next_button)

    def _connect(self) -> None:
        self.combo.activated.connect(self._on_activated)
        self.previous_button.clicked.connect(self.previous_playlist_requested)
        self.next_button.clicked.connect(self.next_playlist_requested)

    def _on_activated(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name is None:
            self.auto_requested.emit()
        else:
            self.override_requested.emit(str(name))

    def set_playlists(self, names: Sequence[str]) -> None:
        current = [self.combo.itemData(i) for i in range(1, self.combo.count())]
        if current == list(names):
            return
        self.combo.blockSignals(True)
        while self.combo.count() > 1:
            self.combo.removeItem(1)
        for name in names:
            self.combo.addItem(display_name(name), name)
        self.combo.blockSignals(False)

    def set_selection(self, auto: bool, name: str | None) -> None:
        index = 0 if auto else max(0, self.combo.findData(name))
        if self.combo.currentIndex() != index:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)

    def choose(self, index: int) -> None:
        """Select entry ``index`` as the listener would (0 = Auto)."""
        self.combo.setCurrentIndex(index)
        self._on_activated(index)


# Rows added to the track list per event-loop turn.
FILL_CHUNK = 100
MOOD_NAMES = ("calm", "gentle", "upbeat", "energetic", "melancholy", "intense")


class TrackList(QTreeWidget):
    """The current playlist's tracks; double-click plays one. The context menu says why a track
    is in its mood playlist and lets the listener move, pin or exclude it."""

    # Index in the current playlist.
    track_requested = Signal(int)
    # The selected track changed: its index (-1: none).
    selection_changed = Signal(int)
    # (index, action, mood): action "move" (to mood), "pin", "unpin", "exclude", "include",
    # "reset" -- the listener's choice for that track's place in the mood playlists.
    choice_requested = Signal(int, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tracks: list[Any] = []
        self._current = -1
        self._filled = 0
        self._fill_generation = 0
        self.setColumnCount(4)
        self.setHeaderLabels(["#", "TITLE", "ARTIST", "TIME"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        header = self.header()
        header.setStretchLastSection(False)
        # Fixed widths, not ResizeToContents: measuring every row of a long playlist at each
        # change held the window for 0.2 s at 5,000 tracks.
        digits = self.fontMetrics().horizontalAdvance("00000") + 16
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, digits)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(3, self.fontMetrics().horizontalAdvance("00:00:00") + 20)
        self.setToolTip("Double-click a track to play it; right-click: why it is here")
        self.itemActivated.connect(self._on_activated)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.currentItemChanged.connect(
            lambda item, _old: self.selection_changed.emit(
                self.indexOfTopLevelItem(item) if item is not None else -1
            )
        )
        # What the window last learnt about the selected track ("why it is here"), for the menu:
        # (index, text, mood, pinned, excluded).
        self.placement: tuple[int, str, str | None, bool, bool] | None = None
        self.menu: QMenu | None = None

    def set_placement(
        self, index: int, text: str, mood: str | None, pinned: bool, excluded: bool
    ) -> None:
        self.placement = (index, text, mood, pinned, excluded)

    def build_menu(self, index: int) -> QMenu:
        """The context menu of track ``index`` (also what tests drive)."""
        menu = QMenu(self)
        placed = self.placement if self.placement and self.placement[0] == index else None
        why = menu.addAction(f"Why here: {placed[1]}" if placed else "Why here: looking…")
        why.setEnabled(False)
        menu.addSeparator()
        move = menu.addMenu("Move to mood")
        move.setObjectName("move")
        for mood in MOOD_NAMES:
            action = move.addAction(mood.capitalize())
            action.setObjectName(f"move:{mood}")
            action.setCheckable(True)
            action.setChecked(bool(placed and placed[2] == mood))
            action.triggered.connect(
                lambda _checked=False, m=mood: self.choice_requested.emit(index, "move", m)
            )
        pinned = bool(placed and placed[3])
        pin = menu.addAction("Pin to this mood")
        pin.setObjectName("pin")
        pin.setCheckable(True)
        pin.setChecked(pinned)
        pin.triggered.connect(
            lambda: self.choice_requested.emit(index, "unpin" if pinned else "pin", "")
        )
        excluded = bool(placed and placed[4])
        exclude = menu.addAction("Leave out of the mood playlists")
        exclude.setObjectName("exclude")
        exclude.setCheckable(True)
        exclude.setChecked(excluded)
        exclude.triggered.connect(
            lambda: self.choice_requested.emit(index, "include" if excluded else "exclude", "")
        )
        reset = menu.addAction("Back to where its sound puts it")
        reset.setObjectName("reset")
        reset.triggered.connect(lambda: self.choice_requested.emit(index, "reset", ""))
        return menu

    def _show_menu(self, point: Any) -> None:
        item = self.itemAt(point)
        if item is None:
            return
        index = self.indexOfTopLevelItem(item)
        self.setCurrentItem(item)
        self.menu = self.build_menu(index)
        self.menu.popup(self.viewport().mapToGlobal(point))

    def _on_activated(self, item: QTreeWidgetItem, column: int) -> None:
        self.track_requested.emit(self.indexOfTopLevelItem(item))

    def set_tracks(self, tracks: Sequence[Any]) -> None:
        """Show ``tracks``: the first rows at once, the rest ``FILL_CHUNK`` rows per event-loop
        turn, so a playlist of 10,000 tracks never holds the window (the 50 ms rule)."""
        if list(tracks) == self._tracks:
            return
        self._tracks = list(tracks)
        self._current = -1
        self._fill_generation += 1
        self._filled = 0
        self.clear()
        self._fill_more(self._fill_generation)

    def _fill_more(self, generation: int) -> None:
        if generation != self._fill_generation:
            return  # another playlist is shown meanwhile
        dim = QColor(theme.TEXT_DIM)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        start = self._filled
        end = min(len(self._tracks), start + FILL_CHUNK)
        items = []
        for i in range(start, end):
            track = self._tracks[i]
            item = QTreeWidgetItem(
                [
                    str(i + 1),
                    str(getattr(track, "title", "") or getattr(track, "path", "")),
                    str(getattr(track, "artist", "") or ""),
                    format_time(getattr(track, "duration", None)),
                ]
            )
            item.setForeground(0, dim)
            item.setForeground(2, dim)
            item.setForeground(3, dim)
            item.setTextAlignment(3, right)
            items.append(item)
        self.addTopLevelItems(items)
        self._filled = end
        if start <= self._current < end:
            self._highlight(self._current, True)
        if end < len(self._tracks):
            QTimer.singleShot(0, lambda: self._fill_more(generation))

    @property
    def filled(self) -> bool:
        """Every row of the playlist is in the list (it fills over a few event-loop turns)."""
        return self._filled >= len(self._tracks)

    def _highlight(self, index: int, on: bool) -> None:
        item = self.topLevelItem(index) if 0 <= index < self._filled else None
        if item is None:
            return
        font = item.font(1)
        font.setBold(on)
        item.setFont(1, font)
        item.setForeground(1, QColor(theme.ACCENT if on else theme.TEXT))
        item.setText(0, "▶" if on else str(index + 1))
        if on:
            self.scrollToItem(item)

    def set_current(self, index: int | None) -> None:
        index = -1 if index is None else index
        if index == self._current:
            return
        if self._current >= 0:
            self._highlight(self._current, False)
        self._current = index
        if index >= 0:
            self._highlight(index, True)  # or when its row is filled in

    @property
    def current(self) -> int:
        return self._current


class LibraryBar(QWidget):
    """The background library scan: "Listening to your library: 312 of 2,000", a bar and
    Cancel; hidden while no scan runs."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.label = QLabel()
        self.label.setObjectName("dim")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop listening for now; what was analysed is kept and the next start goes on"
        )
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        row.addWidget(self.label)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.setVisible(False)
        self._shown: tuple[str, int, int] | None = None

    def set_progress(self, progress: Any) -> None:
        """A ``ScanProgress`` (or None: no scan)."""
        if progress is None:
            if self._shown is not None:
                self._shown = None
                self.setVisible(False)
            return
        done, total = int(progress.done), int(progress.total)
        shown = (progress.text(), done, total)
        if shown == self._shown:
            return
        self._shown = shown
        self.label.setText(shown[0])
        if progress.phase == "listening" and total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)  # busy: the number of files is not known yet
        self.setVisible(True)

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class Card(QFrame):
    """A rounded panel with a title."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(18, 14, 18, 16)
        self.body.setSpacing(10)
        if title:
            label = QLabel(title)
            label.setObjectName("cardTitle")
            self.body.addWidget(label)
