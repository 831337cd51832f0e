"""The main window: camera and mood on the left, the player on the right.

The window shows a :class:`~app.ui.session.Session` and sends the listener's commands to its
controller and player. It renders the session's read-only view (``Session.view()``) after every
poll (~250 ms) and repaints the camera preview from the worker's newest frame on its own timer,
only when the frame changed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.controller import Controller, ControlMode
from app.music.player import Player, RepeatMode
from app.session import CameraState, SessionView, faces_text
from app.settings import Settings
from app.ui import theme
from app.ui.calibration_view import CalibrationDialog
from app.ui.camera_view import CameraPanel
from app.ui.mood_view import MoodPanel
from app.ui.player_view import (
    Card,
    LibraryBar,
    NowPlaying,
    PlaylistBar,
    TrackList,
    TransportBar,
    format_time,
)
from app.ui.session import Session
from app.vision.reading import Reading

log = logging.getLogger(__name__)

# The smallest window: fits an 800×600 screen with a panel or title bar (the panels shrink).
MIN_WIDTH, MIN_HEIGHT = 760, 540
LEFT_MIN_WIDTH = 290
PREVIEW_INTERVAL_MS = 66  # 15 fps at most; only repainted when a new frame arrived
SEEK_STEP_S = 5.0
VOLUME_STEP = 0.05
REPEAT_CYCLE = (RepeatMode.ALL, RepeatMode.ONE, RepeatMode.OFF)
NO_PLAYLISTS = "No playlists found: add a folder of music in Settings → Music (Ctrl+,)."
# The dot before "camera <state>" in the status bar.
CAMERA_DOT = {
    CameraState.RUNNING: theme.OK,
    CameraState.RECONNECTING: theme.WARN,
    CameraState.STARTING: theme.WARN,
    CameraState.LOADING: theme.WARN,
    CameraState.FAILED: theme.LIVE,
}


class MainWindow(QMainWindow):
    """The player window."""

    # The listener asked for the settings dialog / the about dialog / to quit.
    settings_requested = Signal()
    about_requested = Signal()
    quit_requested = Signal()
    # "Enter kiosk mode" now (the setting "Start in kiosk mode" is for the next start)
    kiosk_requested = Signal()
    # ... for the Problems view (View → Problems: the files that were skipped, and why)
    problems_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.actions_by_name: dict[str, QAction] = {}
        self._last_frame: Any = None
        self._last_error: str | None = None
        self._explaining: Any = None  # the track whose "why here" is being asked
        self._calibration_dialog: CalibrationDialog | None = None
        self.setWindowTitle(APP_NAME)
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)  # fits an 800×600 screen
        self._setup_ui()
        self._setup_actions()
        self._connect()
        self.camera_panel.set_preview_visible(session.settings.camera.preview_visible)
        self.camera_panel.set_status(session.camera_state, session.camera_text)
        self._preview_timer = QTimer(self)
        self._preview_timer.setInterval(PREVIEW_INTERVAL_MS)
        self._preview_timer.timeout.connect(self.repaint_preview)
        self._preview_timer.start()
        self.refresh()

    # -- building -------------------------------------------------------------------------------

    def _setup_ui(self) -> None:
        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(16, 16, 16, 12)
        outer.setSpacing(16)

        left = QVBoxLayout()
        left.setSpacing(16)
        self.camera_panel = CameraPanel()
        self.mood_panel = MoodPanel()
        left.addWidget(self.camera_panel, 1)  # the preview takes what the mood panel leaves
        left.addWidget(self.mood_panel, 0)
        # The mood panel keeps its height (its bars and strip must not overlap); the preview
        # shrinks, and on a screen too low even for that the column scrolls.
        self.mood_panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        left_box = QWidget()
        left_box.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        self.left_scroll = QScrollArea()
        self.left_scroll.setObjectName("leftColumn")
        self.left_scroll.setWidget(left_box)
        self.left_scroll.setWidgetResizable(True)
        self.left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.left_scroll.viewport().setAutoFillBackground(False)
        left_box.setAutoFillBackground(False)
        # Full width on a large screen; narrower (down to LEFT_MIN_WIDTH) on an 800 px one.
        self.left_scroll.setMinimumWidth(LEFT_MIN_WIDTH)
        self.left_scroll.setMaximumWidth(380)
        self.left_scroll.setMinimumHeight(0)
        outer.addWidget(self.left_scroll)

        right = QVBoxLayout()
        right.setSpacing(16)
        self.player_card = Card()
        self.now_playing = NowPlaying()
        self.transport = TransportBar()
        self.player_card.body.addWidget(self.now_playing)
        self.player_card.body.addWidget(self.transport)
        right.addWidget(self.player_card)

        self.playlist_card = Card("PLAYLIST")
        self.playlist_bar = PlaylistBar()
        self.track_list = TrackList()
        self.playlist_card.body.addWidget(self.playlist_bar)
        self.playlist_info = QLabel()
        self.playlist_info.setObjectName("dim")
        self.playlist_info.setWordWrap(True)  # the reason may be long on a narrow window
        self.playlist_card.body.addWidget(self.playlist_info)
        self.playlist_card.body.addWidget(self.track_list, 1)
        self.track_details = QLabel()
        self.track_details.setObjectName("dim")
        self.track_details.setWordWrap(True)
        self.track_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.playlist_card.body.addWidget(self.track_details)
        self.library_bar = LibraryBar()
        self.playlist_card.body.addWidget(self.library_bar)
        right.addWidget(self.playlist_card, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)

        # Keys belong to the window's shortcuts, not to whichever button was clicked last.
        for widget in (
            self.transport.previous_button,
            self.transport.play_button,
            self.transport.next_button,
            self.transport.repeat_button,
            self.transport.shuffle_button,
            self.transport.mute_button,
            self.transport.volume_slider,
            self.now_playing.progress,
            self.playlist_bar.previous_button,
            self.playlist_bar.next_button,
            self.camera_panel.preview_button,
        ):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.camera_status_label = QLabel()
        self.rate_label = QLabel()
        self.latency_label = QLabel()
        # shown while a session report is written (Settings → Session)
        self.report_label = QLabel(
            f"<span style='color:{theme.LIVE}'>●</span>&nbsp; <b>Session report on</b>"
        )
        self.report_label.setToolTip(
            "A session report is being written: time, mood seen, music, volume. No images. "
            "Turn it off in Settings → Session."
        )
        self.report_label.hide()
        status.addPermanentWidget(self.report_label)
        # "2 files skipped": shown once something was skipped; opens the Problems view
        self.problems_button = QPushButton()
        self.problems_button.setObjectName("problems")
        self.problems_button.setFlat(True)
        self.problems_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.problems_button.setToolTip("Files that could not be played or read (View → Problems)")
        self.problems_button.clicked.connect(lambda: self.problems_requested.emit())
        self.problems_button.hide()
        status.addPermanentWidget(self.problems_button)
        status.addPermanentWidget(self.rate_label)
        status.addPermanentWidget(self.latency_label)
        status.addPermanentWidget(self.camera_status_label)

    def _add_action(
        self,
        name: str,
        text: str,
        keys: str | QKeySequence.StandardKey | None,
        slot: Callable[[], Any],
        menu: Any,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _setup_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&MoodPlayer")
        self._add_action("settings", "Settings…", "Ctrl+,", self.settings_requested.emit, file_menu)
        self._add_action(
            "kiosk", "Enter kiosk mode", "Ctrl+Shift+K", self.kiosk_requested.emit, file_menu
        )
        file_menu.addSeparator()
        self._add_action("quit", "Quit", "Ctrl+Q", self.quit_requested.emit, file_menu)

        play = bar.addMenu("&Playback")
        self._add_action("play_pause", "Play / Pause", "Space", self.play_pause, play)
        self._add_action("next", "Next track", "Ctrl+Right", self.next_track, play)
        self._add_action("previous", "Previous track", "Ctrl+Left", self.previous_track, play)
        self._add_action("forward", "Forward 5 s", "Right", lambda: self.seek_by(SEEK_STEP_S), play)
        self._add_action("back", "Back 5 s", "Left", lambda: self.seek_by(-SEEK_STEP_S), play)
        play.addSeparator()
        self._add_action("repeat", "Repeat: all / one / off", "R", self.cycle_repeat, play)
        self._add_action("shuffle", "Shuffle", "S", self.toggle_shuffle, play)
        play.addSeparator()
        self._add_action("volume_up", "Volume up", "Up", lambda: self.change_volume(1), play)
        self._add_action("volume_down", "Volume down", "Down", lambda: self.change_volume(-1), play)
        self._add_action("mute", "Mute", "M", self.toggle_mute, play)

        lists = bar.addMenu("P&laylists")
        self._add_action("auto", "Auto (follow my mood)", "A", self.choose_auto, lists)
        self._add_action("next_playlist", "Next playlist", "PgDown", self.next_playlist, lists)
        self._add_action(
            "previous_playlist", "Previous playlist", "PgUp", self.previous_playlist, lists
        )

        mood = bar.addMenu("M&ood")
        self._add_action(
            "calibrate", "Calibrate my neutral face…", None, self.open_calibration, mood
        )
        self._add_action(
            "calibration_on",
            "Correct by my neutral face",
            None,
            self.toggle_calibration,
            mood,
            checkable=True,
        )
        self._add_action(
            "calibration_reset", "Forget my neutral face", None, self.reset_calibration, mood
        )

        view = bar.addMenu("&View")
        self._add_action("preview", "Camera preview", "C", self.toggle_preview, view, True)
        self._add_action(
            "camera", "Use the camera", "Ctrl+Shift+C", self.toggle_camera, view, checkable=True
        )
        self._add_action("fullscreen", "Full screen", "F11", self.toggle_full_screen, view, True)
        view.addSeparator()
        self._add_action("problems", "Problems…", None, self.problems_requested.emit, view)

        help_menu = bar.addMenu("&Help")
        self._add_action("about", f"About {APP_NAME}", None, self.about_requested.emit, help_menu)

        for action in self.actions_by_name.values():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                action.setToolTip(f"{action.text()} ({keys})")

    def _connect(self) -> None:
        s = self.session
        s.ticked.connect(self.refresh)
        s.reading_received.connect(self._on_reading)
        s.camera_state_changed.connect(self._on_camera_state)
        s.mood_changed.connect(lambda _change: self.refresh())
        s.notice.connect(self.show_notice)
        s.settings_changed.connect(self._on_settings_changed)

        t = self.transport
        t.play_pause_requested.connect(self.play_pause)
        t.previous_requested.connect(self.previous_track)
        t.next_requested.connect(self.next_track)
        t.repeat_cycle_requested.connect(self.cycle_repeat)
        t.shuffle_requested.connect(self.set_shuffle)
        t.mute_requested.connect(self.set_muted)
        t.volume_requested.connect(self.set_volume)
        self.now_playing.seek_requested.connect(self.seek_to)

        p = self.playlist_bar
        p.override_requested.connect(self.choose_playlist)
        p.auto_requested.connect(self.choose_auto)
        p.next_playlist_requested.connect(self.next_playlist)
        p.previous_playlist_requested.connect(self.previous_playlist)
        self.track_list.track_requested.connect(self.play_track)
        self.track_list.selection_changed.connect(self.explain_track)
        self.track_list.choice_requested.connect(self.change_track)
        self.library_bar.cancel_requested.connect(self.cancel_scan)
        self.camera_panel.preview_visibility_requested.connect(self._on_preview_visibility)

    # -- commands (what the listener asked for) -------------------------------------------------

    def _command(self, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except Exception as exc:
            log.exception("%s failed", what)
            self.show_notice(f"Could not {what}: {exc}")
        self.refresh()

    @property
    def player(self) -> Player:
        return self.session.player

    @property
    def controller(self) -> Controller:
        return self.session.controller

    def play_pause(self) -> None:
        if self.player.playlist is None:
            # Nothing chosen yet: let the controller pick (Auto) or the first playlist.
            self._command("start playing", self._start_something)
            return
        self._command("play or pause", self.player.toggle)

    def _start_something(self) -> None:
        names = list(self.controller.playlist_names())
        if not names:
            self.show_notice(NO_PLAYLISTS)
        elif self.controller.mode is ControlMode.AUTO:
            self.controller.set_auto()
        else:
            self.controller.select(names[0])

    def next_track(self) -> None:
        self._command("skip to the next track", self.player.next)

    def previous_track(self) -> None:
        self._command("go back a track", self.player.previous)

    def seek_to(self, seconds: float) -> None:
        self._command("seek", lambda: self.player.seek(max(0.0, seconds)))

    def seek_by(self, delta: float) -> None:
        if self.player.current is None:
            return
        duration = self.player.duration or 0.0
        target = max(0.0, self.player.position + delta)
        if duration:
            target = min(target, max(0.0, duration - 0.5))
        self.seek_to(target)

    def cycle_repeat(self) -> None:
        current = self.player.repeat
        following = REPEAT_CYCLE[(REPEAT_CYCLE.index(current) + 1) % len(REPEAT_CYCLE)]

        def apply() -> None:
            self.player.repeat = following

        self._command("change repeat", apply)
        self.show_notice(TransportBar.REPEAT_TIPS[following.value].split(" (")[0], 2000)

    def toggle_shuffle(self) -> None:
        self.set_shuffle(not self.player.shuffle)

    def set_shuffle(self, on: bool) -> None:
        def apply() -> None:
            self.player.shuffle = on

        self._command("change shuffle", apply)

    def set_volume(self, volume: float) -> None:
        volume = max(0.0, min(1.0, volume))

        def apply() -> None:
            self.player.set_volume(volume)
            if self.player.muted and volume > 0:
                self.player.set_muted(False)

        self._command("change the volume", apply)

    def change_volume(self, direction: int) -> None:
        self.set_volume(self.player.volume + direction * VOLUME_STEP)

    def set_muted(self, muted: bool) -> None:
        self._command("mute", lambda: self.player.set_muted(muted))

    def toggle_mute(self) -> None:
        self.set_muted(not self.player.muted)

    def choose_playlist(self, name: str) -> None:
        self._command(f"play {name}", lambda: self.controller.select(name))

    def choose_auto(self) -> None:
        self._command("follow your mood", self.controller.set_auto)
        if self.session.source is None or not self.session.settings.camera.enabled:
            self.show_notice("Auto follows your mood once the camera is on (Settings → Camera).")

    def next_playlist(self) -> None:
        self._command("change playlist", self.controller.next_playlist)

    def previous_playlist(self) -> None:
        self._command("change playlist", self.controller.previous_playlist)

    def play_track(self, index: int) -> None:
        playlist = self.player.playlist
        if playlist is None:
            return
        self._command("play that track", lambda: self.player.set_playlist(playlist, index=index))

    def cancel_scan(self) -> None:
        if self.session.cancel_scan():
            self.library_bar.label.setText("Stopping after this file…")

    def _track_at(self, index: int) -> Any:
        tracks = self.session.view().tracks
        return tracks[index] if 0 <= index < len(tracks) else None

    def explain_track(self, index: int) -> None:
        """Show why the track at ``index`` is in its playlist (asked off the GUI thread)."""
        track = self._track_at(index)
        if track is None:
            self.track_details.setText("")
            return
        self._explaining = track.path

        def shown(placement: Any) -> None:
            if self._explaining != track.path:
                return  # another track was selected meanwhile
            if placement is None:
                text = "not analysed yet: the library scan has not listened to it"
                self.track_list.set_placement(index, text, None, False, False)
            else:
                text = placement.explain()
                self.track_list.set_placement(
                    index,
                    text,
                    placement.mood,
                    placement.pinned,
                    placement.source == "excluded",
                )
            self.track_details.setText(f"Why here — {track.title}: {text}")

        if not self.session.explain_track(track.path, shown):
            self.track_details.setText("")

    def change_track(self, index: int, action: str, mood: str) -> None:
        track = self._track_at(index)
        if track is None:
            return

        def apply() -> None:
            # Read back once stored: the details line and the menu show the new place.
            self.session.change_track(
                track.path, action, mood or None, on_done=lambda: self.explain_track(index)
            )

        self._command("store your choice", apply)

    def open_calibration(self) -> CalibrationDialog:
        """Mood → Calibrate my neutral face…: the calibration panel in a small window."""
        dialog = self._calibration_dialog
        if dialog is None:
            dialog = CalibrationDialog(self.session, self)
            self._calibration_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def toggle_calibration(self) -> None:
        mood = self.session.settings.mood
        self.session.set_calibration_on(not mood.calibration_on)
        self.show_notice(
            "Readings corrected by your neutral face."
            if mood.calibration_on
            else "Correction off: the readings are used as the model gives them (the "
            "calibration is kept).",
            4000,
        )
        self.refresh()

    def reset_calibration(self) -> None:
        self.session.reset_calibration()
        self.refresh()

    def toggle_preview(self) -> None:
        self.camera_panel.set_preview_visible(not self.camera_panel.preview_visible)
        self._on_preview_visibility(self.camera_panel.preview_visible)

    def toggle_camera(self) -> None:
        """Camera on/off for privacy; the music goes on either way."""
        enabled = not (self.session.settings.camera.enabled and self.session.camera_wanted)
        if enabled and not self.session.source:
            self.session.source = self.session.settings.camera.source
        self.session.set_camera_enabled(enabled)
        self.show_notice(
            "Camera on."
            if enabled
            else "Camera off: nothing is watched; the music plays on (Auto waits for the camera)."
        )
        self.refresh()

    def _on_preview_visibility(self, visible: bool) -> None:
        self.session.settings.camera.preview_visible = visible
        self.actions_by_name["preview"].setChecked(visible)
        self._last_frame = None
        self._sync_preview()

    def _sync_preview(self) -> None:
        """The worker decodes frames for the preview only while it is on screen."""
        shown = self.camera_panel.preview_visible and self.isVisible() and not self.isMinimized()
        if shown != self.session.core.preview:
            self.session.set_preview(shown)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._sync_preview()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._sync_preview()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._sync_preview()

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.actions_by_name["fullscreen"].setChecked(self.isFullScreen())

    def set_problem_count(self, count: int) -> None:
        """How many files were skipped so far (the Problems view lists them)."""
        self.actions_by_name["problems"].setText(f"Problems ({count})…" if count else "Problems…")
        self.problems_button.setText(f"⚠ {count} file{'s' if count != 1 else ''} skipped")
        self.problems_button.setVisible(count > 0)

    def show_notice(self, message: str, timeout_ms: int = 8000) -> None:
        log.info("notice: %s", message)
        self.statusBar().showMessage(message, timeout_ms)

    # -- showing state --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Render the session's view into the widgets (cheap; every 250 ms)."""
        session = self.session
        view = session.view()
        track = view.track
        auto = view.auto
        name = view.playlist
        title = track.title if track is not None else None
        self.now_playing.set_track(title, track.artist if track is not None else None, name)
        window_title = f"{title} — {APP_NAME}" if title else APP_NAME
        if self.windowTitle() != window_title:
            self.setWindowTitle(window_title)
        camera_on = view.watching
        mood = view.music_mood if auto and camera_on else None
        if auto and not camera_on:
            self.now_playing.set_mode(auto, "camera off")
        else:
            self.now_playing.set_mode(auto, theme.MOOD_WORDS.get(mood or "") if mood else None)
        self.now_playing.set_position(view.position, view.duration)
        self.transport.set_playing(view.playing)
        self.transport.set_repeat(view.repeat.value)
        self.transport.set_shuffle(view.shuffle)
        self.transport.set_volume(view.volume, view.muted)
        self.playlist_bar.set_playlists(list(view.playlists))
        self.playlist_bar.set_selection(auto, name)
        self.track_list.set_tracks(list(view.tracks))
        self.track_list.set_current(view.index)
        self.library_bar.set_progress(view.scan)
        self.actions_by_name["preview"].setChecked(self.camera_panel.preview_visible)
        self.actions_by_name["camera"].setChecked(view.camera_wanted)
        mood_settings = session.settings.mood
        self.actions_by_name["calibration_on"].setEnabled(view.calibrated)
        self.actions_by_name["calibration_on"].setChecked(
            view.calibrated and mood_settings.calibration_on
        )
        self.actions_by_name["calibration_reset"].setEnabled(view.calibrated)
        self.playlist_info.setText(self._playlist_summary(view))

        self.mood_panel.set_mood(
            view.mood if camera_on else None,
            view.confidence,
            face=view.face_present,
            camera=camera_on,
        )
        self.mood_panel.timeline.set_points(session.timeline, view.now)
        if not camera_on:
            self.mood_panel.set_probabilities({})
        self._refresh_status(view)
        error = view.error
        bar = self.statusBar()
        if error and error != self._last_error:
            self.show_notice(error, 15000)
        elif error and not bar.currentMessage():
            bar.showMessage(error)  # still so (e.g. no audio device): keep saying it
        elif not error and self._last_error and bar.currentMessage() == self._last_error:
            bar.clearMessage()  # over: no stale error left up
        self._last_error = error

    def _playlist_summary(self, view: SessionView) -> str:
        if view.playlist is None:
            if not view.playlists:
                return NO_PLAYLISTS
            return "No playlist yet: press Play, or choose one above."
        tracks = view.tracks
        total = sum(t.duration or 0.0 for t in tracks)
        parts = [f"{len(tracks)} tracks", format_time(total)]
        if view.auto:
            parts.append(view.reason)
        else:
            parts.append("your choice (A hands back to your mood)")
        return "  ·  ".join(parts)

    def _refresh_status(self, view: SessionView) -> None:
        self.report_label.setVisible(view.report)
        state = view.camera
        if state is CameraState.RUNNING:
            self.rate_label.setText(f"{view.analyses_per_second:.1f} analyses/s")
            latency = view.latency_s
            self.latency_label.setText(
                f"latency {latency * 1000:.0f} ms" if latency is not None else "latency –"
            )
        else:
            self.rate_label.setText("")
            self.latency_label.setText("")
        color = CAMERA_DOT.get(state, theme.TEXT_DIM)
        faces = faces_text(view)
        self.camera_status_label.setText(
            f"<span style='color:{color}'>●</span>&nbsp; camera {state.value}"
            + (f" · {faces}" if faces else "")
        )
        self.camera_status_label.setToolTip(
            "Faces in view; with Settings → Mood → 'Every face in view votes' each one counts."
            if faces
            else ""
        )

    def _on_reading(self, reading: Reading) -> None:
        shown, raw = self.session.shown_probabilities(reading)
        self.mood_panel.set_probabilities(shown, raw)

    def _on_camera_state(self, status: CameraState, text: str) -> None:
        self.camera_panel.preview.mirrored = (self.session.source or "").isdigit()
        self.camera_panel.set_status(status, text)
        self._last_frame = None
        self.refresh()

    def _on_settings_changed(self, settings: Settings) -> None:
        self.camera_panel.set_preview_visible(settings.camera.preview_visible)
        self.refresh()

    def repaint_preview(self) -> None:
        """Show the newest frame if it is new (the dirty check keeps idle repaints at zero)."""
        if not self.camera_panel.preview_visible or not self.isVisible():
            return
        frame = self.session.latest_frame()
        if frame is None or frame is self._last_frame:
            return
        self._last_frame = frame
        reading = self.session.last_reading
        if reading is not None and reading.probabilities:
            shown, raw = self.session.shown_probabilities(reading)
            if raw is not None:  # the box's label says what the voter counts
                reading = dataclasses.replace(reading, probabilities=shown)
        self.camera_panel.show_frame(frame, reading)

    # -- geometry -------------------------------------------------------------------------------

    def restore_geometry(self, encoded: str) -> bool:
        if not encoded:
            return False
        try:
            return bool(self.restoreGeometry(QByteArray.fromBase64(encoded.encode("ascii"))))
        except (UnicodeEncodeError, ValueError):
            return False

    def encoded_geometry(self) -> str:
        return bytes(self.saveGeometry().toBase64().data()).decode("ascii")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.session.settings.window.geometry = self.encoded_geometry()
        self._preview_timer.stop()
        super().closeEvent(event)
