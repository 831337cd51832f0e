"""Kiosk mode: a full-screen, frameless, always-on-top room display of the mood and the music.

``KioskWindow(session)`` shows the same :class:`app.ui.session.Session` as the main window (it never
stops it), rendering its read-only view (``Session.view()``). Large type for reading across a
room: the mood as a big coloured word, what is playing, and big controls — only those in
``settings.kiosk.allowed_controls`` (``play_pause``, ``skip``, ``volume``, ``playlist``; none at
all is fine).

- With nobody in front of the camera for ``kiosk.idle_after_s`` an idle screen asks people to look
  at the camera; it goes back the moment a face is seen. Going idle also hands a hand-picked
  playlist back to the mood ("Auto"), so the next visitor gets music that follows them.
- The pointer hides after ``kiosk.cursor_hide_s`` without mouse or touch activity.
- While music plays the screen is kept awake (``kiosk_awake``).
- Closing (the window manager's close, Alt+F4), Escape and un-full-screening do nothing; the app
  quitting on its own (``QApplication.quit()``) still closes the window.
  Ctrl+Shift+K opens the admin PIN dialog; the right PIN *exits kiosk mode, which quits the app*:
  ``exit_requested`` is emitted and the window closes (with ``--supervised`` or the systemd unit a
  PIN exit is a clean exit, so it is not restarted). Three wrong PINs lock the dialog for 30 s,
  doubling with each further wrong PIN. With no PIN set, leaving is disabled.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QIcon,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QRadialGradient,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, paths
from app.controller import ControlMode
from app.errors import UserError
from app.kiosk import (
    CursorTimer,
    IdleTracker,
    PinAnswer,
    PinGate,
    PinResult,
    SessionHours,
    allowed_controls,
    limit_volume,
    throttle_file,
)
from app.session import CameraState, SessionView, playlist_word
from app.settings import Settings
from app.ui import icons, theme
from app.ui.kiosk_awake import ScreenAwake, find_backend
from app.ui.kiosk_guard import KioskGuard
from app.ui.kiosk_pin import PinDialog
from app.ui.session import Session

log = logging.getLogger(__name__)

# The camera chip in the corner: (dot colour, words) per camera state.
CAMERA_CHIP = {
    CameraState.RUNNING: (theme.OK, "Camera on"),
    CameraState.LOADING: (theme.TEXT_DIM, "Camera starting…"),
    CameraState.STARTING: (theme.TEXT_DIM, "Camera starting…"),
    CameraState.RECONNECTING: (theme.WARN, "Camera lost, retrying…"),
    CameraState.FAILED: (theme.LIVE, "Camera unavailable"),
}
VOLUME_STEP = 0.1


def kiosk_faces(view: SessionView) -> str:
    """The faces in view for the room ("2 faces"; "" when the camera is not running or nobody
    is there: the idle screen says that)."""
    seen = view.faces_seen if view.camera is CameraState.RUNNING else 0
    return f"{seen} face{'s' if seen != 1 else ''}" if seen else ""


IDLE_MESSAGE = "Look at the camera to choose the music"
PRIVACY_NOTE = "Your expression is read on this device only. Nothing is recorded or sent."
# While a caregiver's session report is on, the note must not say "nothing is recorded".
REPORT_NOTE = (
    "Your expression is read on this device only. A session report (mood and music, no images) "
    "is being kept here; nothing is sent."
)
# Designed at 1080 px high; everything scales with the window's height.
DESIGN_HEIGHT = 1080.0
_ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.MouseMove,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.Wheel,
        QEvent.Type.TabletMove,
    }
)


class _RoundButton(QPushButton):
    """A big round control with an icon; the size follows the kiosk's scale."""

    def __init__(self, icon_name: str, accessible: str, primary: bool = False) -> None:
        super().__init__()
        self.setObjectName("kioskPrimary" if primary else "kioskButton")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName(accessible)
        self.setToolTip(accessible)
        self.icon_name = icon_name
        self.set_icon(icon_name)

    def set_icon(self, name: str) -> None:
        """``name`` from ``app.ui.icons``; an empty name for a text-only button."""
        if self.icon_name == name and not self.icon().isNull():
            return
        self.icon_name = name
        self.setIcon(icons.icon(name) if name else QIcon())

    def set_diameter(self, diameter: int) -> None:
        self.setFixedSize(diameter, diameter)
        self.setIconSize(QSize(int(diameter * 0.46), int(diameter * 0.46)))


class KioskWindow(QWidget):
    """The kiosk view of ``session``. ``clock`` defaults to the session's; ``screen_awake`` to
    a :class:`ScreenAwake` with the platform's backend."""

    # The admin PIN was accepted: kiosk mode ends and the app quits.
    exit_requested = Signal()

    def __init__(
        self,
        session: Session,
        *,
        clock: Callable[[], float] | None = None,
        screen_awake: ScreenAwake | None = None,
        local_time: Callable[[], dt.datetime] = dt.datetime.now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kiosk")
        # local wall-clock time, for the session hours
        self._local_time = local_time
        self._hours_text: str | None = None
        self._hours = SessionHours()
        self.setWindowTitle(f"{APP_NAME} — kiosk")
        self.setWindowFlags(
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.session = session
        self._clock: Callable[[], float] = clock if clock is not None else session.clock
        now = self._clock()
        kiosk = session.settings.kiosk
        self._pin_hash = kiosk.pin_hash
        self._gate = self._make_gate(kiosk.pin_hash, now)
        self._idle = IdleTracker(kiosk.idle_after_s, now)
        self._cursor = CursorTimer(kiosk.cursor_hide_s, now)
        self._allowed = allowed_controls(kiosk.allowed_controls)
        self._awake = screen_awake or ScreenAwake(
            find=lambda: find_backend(lambda: int(self.winId()))
        )
        self._exit_allowed = False
        self._app_quitting = False
        self._mood_color = QColor(theme.ACCENT)
        self.pin_dialog: PinDialog | None = None
        # brings the window back when minimised, hidden, moved away (started by show_kiosk)
        self.guard: KioskGuard | None = None
        self._setup_ui()
        self._connect()
        self._apply_allowed()
        self._apply_scale(600)
        self.refresh()

    # -- building ---------------------------------------------------------------------------

    def _setup_ui(self) -> None:
        outer = QVBoxLayout(self)
        self._outer = outer

        top = QHBoxLayout()
        self.logo = QLabel()
        self.brand = QLabel(APP_NAME)
        self.brand.setObjectName("kioskBrand")
        self.camera_chip = QLabel()
        self.camera_chip.setObjectName("kioskChip")
        top.addWidget(self.logo)
        top.addWidget(self.brand)
        top.addStretch(1)
        self.report_chip = QLabel()
        self.report_chip.setObjectName("kioskChip")
        self.report_chip.setText(
            f'<span style="color:{theme.LIVE}">●</span>&nbsp;Session report on'
        )
        self.report_chip.setToolTip(
            "A session report is being written: time, mood seen, music, volume. No images."
        )
        self.report_chip.hide()
        top.addWidget(self.report_chip)
        top.addWidget(self.camera_chip)
        outer.addLayout(top)

        self.pages = QStackedWidget()
        outer.addWidget(self.pages, 1)

        # the live view
        self.live_page = QWidget()
        live = QVBoxLayout(self.live_page)
        live.setContentsMargins(0, 0, 0, 0)
        live.addStretch(3)
        self.caption = QLabel()
        self.caption.setObjectName("kioskCaption")
        self.mood_word = QLabel()
        self.mood_word.setObjectName("kioskMood")
        self.title = QLabel()
        self.title.setObjectName("kioskTitle")
        self.artist = QLabel()
        self.artist.setObjectName("kioskArtist")
        self.playlist_line = QLabel()
        self.playlist_line.setObjectName("kioskPlaylist")
        # the session plan: where we are ("Step 2 of 3: Gentle · Upbeat in 7 min")
        self.plan_line = QLabel()
        self.plan_line.setObjectName("kioskPlan")
        labels = (self.caption, self.mood_word, self.title, self.artist, self.playlist_line)
        for label in (*labels, self.plan_line):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        live.addWidget(self.caption)
        live.addWidget(self.mood_word)
        live.addStretch(2)
        live.addWidget(self.title)
        live.addWidget(self.artist)
        live.addSpacing(8)
        live.addWidget(self.playlist_line)
        live.addWidget(self.plan_line)
        live.addStretch(2)

        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.playlist_group = QWidget()
        group = QHBoxLayout(self.playlist_group)
        group.setContentsMargins(0, 0, 0, 0)
        self.previous_playlist_button = _RoundButton("chevron_left", "Previous playlist")
        self.auto_button = _RoundButton("auto", "Follow the mood")
        self.next_playlist_button = _RoundButton("chevron_right", "Next playlist")
        for button in (
            self.previous_playlist_button,
            self.auto_button,
            self.next_playlist_button,
        ):
            group.addWidget(button)
        self.play_button = _RoundButton("play", "Play or pause", primary=True)
        self.skip_button = _RoundButton("next", "Next track")
        self.volume_group = QWidget()
        volume = QHBoxLayout(self.volume_group)
        volume.setContentsMargins(0, 0, 0, 0)
        self.volume_down_button = _RoundButton("", "Quieter")
        self.volume_down_button.setText("−")
        self.volume_label = QLabel()
        self.volume_label.setObjectName("kioskVolume")
        self.volume_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.volume_up_button = _RoundButton("", "Louder")
        self.volume_up_button.setText("+")
        volume.addWidget(self.volume_down_button)
        volume.addWidget(self.volume_label)
        volume.addWidget(self.volume_up_button)
        for widget in (self.playlist_group, self.play_button, self.skip_button, self.volume_group):
            row.addWidget(widget)
        row.addStretch(1)
        live.addWidget(self.controls)
        live.addStretch(1)
        self.pages.addWidget(self.live_page)

        # the idle screen
        self.idle_page = QWidget()
        idle = QVBoxLayout(self.idle_page)
        idle.addStretch(3)
        self.idle_icon = QLabel()
        self.idle_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle_message = QLabel(IDLE_MESSAGE)
        self.idle_message.setObjectName("kioskIdle")
        self.idle_now = QLabel()
        self.idle_now.setObjectName("kioskIdleNow")
        for label in (self.idle_message, self.idle_now):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        idle.addWidget(self.idle_icon)
        idle.addSpacing(24)
        idle.addWidget(self.idle_message)
        idle.addSpacing(12)
        idle.addWidget(self.idle_now)
        idle.addStretch(4)
        self.pages.addWidget(self.idle_page)

        # resting outside the session hours: a quiet screen, camera off, no music
        self.rest_page = QWidget()
        rest = QVBoxLayout(self.rest_page)
        rest.addStretch(1)
        self.rest_message = QLabel()
        self.rest_message.setObjectName("kioskRest")
        self.rest_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rest_message.setWordWrap(True)
        rest.addWidget(self.rest_message)
        rest.addStretch(1)
        self.pages.addWidget(self.rest_page)

        self.privacy = QLabel(PRIVACY_NOTE)
        self.privacy.setObjectName("kioskPrivacy")
        self.privacy.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.privacy)

    def _connect(self) -> None:
        session = self.session
        session.ticked.connect(self.refresh)
        session.face_presence_changed.connect(self._on_face)
        session.mood_changed.connect(self._on_any)
        session.camera_state_changed.connect(self._on_any)
        session.settings_changed.connect(self._on_settings)
        player, controller = session.player, session.controller
        self.play_button.clicked.connect(lambda: self._command(player.toggle))
        self.skip_button.clicked.connect(lambda: self._command(player.next))
        self.volume_down_button.clicked.connect(lambda: self._change_volume(-VOLUME_STEP))
        self.volume_up_button.clicked.connect(lambda: self._change_volume(VOLUME_STEP))
        self.previous_playlist_button.clicked.connect(
            lambda: self._command(controller.previous_playlist)
        )
        self.next_playlist_button.clicked.connect(lambda: self._command(controller.next_playlist))
        self.auto_button.clicked.connect(lambda: self._command(controller.set_auto))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _apply_allowed(self) -> None:
        allowed = self._allowed
        self.play_button.setVisible("play_pause" in allowed)
        self.skip_button.setVisible("skip" in allowed)
        fixed = self.session.settings.kiosk.fixed_volume
        self.volume_group.setVisible("volume" in allowed and not fixed)
        self.playlist_group.setVisible("playlist" in allowed)
        self.controls.setVisible(bool(allowed))

    @property
    def allowed(self) -> frozenset[str]:
        return self._allowed

    # -- sizes and painting -----------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_scale(event.size().height())

    def _apply_scale(self, height: int) -> None:
        s = max(0.35, height / DESIGN_HEIGHT)

        def px(value: float) -> int:
            return max(1, round(value * s))

        margin = px(56)
        self._outer.setContentsMargins(margin, px(36), margin, px(28))
        diameter = px(128)
        for button in self.findChildren(_RoundButton):
            button.set_diameter(diameter)
        self.play_button.set_diameter(px(160))
        for layout_owner, spacing in (
            (self.controls, px(72)),
            (self.playlist_group, px(20)),
            (self.volume_group, px(20)),
        ):
            layout = layout_owner.layout()
            if layout is not None:
                layout.setSpacing(spacing)
        self.logo.setPixmap(self._icon_pixmap(px(44)))
        self.idle_icon.setPixmap(self._icon_pixmap(px(220)))
        self.setStyleSheet(
            f"""
            QLabel {{ background: transparent; }}
            QLabel#kioskBrand {{ font-size: {px(30)}px; font-weight: 600; color: {theme.TEXT};
                padding-left: {px(10)}px; }}
            QLabel#kioskChip {{ font-size: {px(24)}px; color: {theme.TEXT_DIM};
                background: rgba(255, 255, 255, 0.06); border-radius: {px(20)}px;
                padding: {px(8)}px {px(20)}px; }}
            QLabel#kioskCaption {{ font-size: {px(34)}px; font-weight: 600;
                letter-spacing: {px(6)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskMood {{ font-size: {px(200)}px; font-weight: 800; }}
            QLabel#kioskTitle {{ font-size: {px(76)}px; font-weight: 700; color: {theme.TEXT}; }}
            QLabel#kioskArtist {{ font-size: {px(46)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskPlaylist {{ font-size: {px(32)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskPlan {{ font-size: {px(28)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskRest {{ font-size: {px(44)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskVolume {{ font-size: {px(34)}px; font-weight: 600; color: {theme.TEXT};
                min-width: {px(120)}px; }}
            QLabel#kioskIdle {{ font-size: {px(66)}px; font-weight: 700; color: {theme.TEXT}; }}
            QLabel#kioskIdleNow {{ font-size: {px(38)}px; color: {theme.TEXT_DIM}; }}
            QLabel#kioskPrivacy {{ font-size: {px(22)}px; color: {theme.TEXT_DIM}; }}
            QPushButton#kioskButton, QPushButton#kioskPrimary {{
                border-radius: {diameter // 2}px; font-size: {px(56)}px; font-weight: 700;
                color: {theme.TEXT}; background: rgba(255, 255, 255, 0.08);
                border: {px(2)}px solid rgba(255, 255, 255, 0.14); }}
            QPushButton#kioskPrimary {{ border-radius: {px(160) // 2}px;
                background: {theme.ACCENT}; border: none; }}
            QPushButton#kioskButton:pressed {{ background: rgba(255, 255, 255, 0.2); }}
            QPushButton#kioskPrimary:pressed {{ background: {theme.ACCENT_SOFT}; }}
            """
        )

    def _icon_pixmap(self, size: int) -> QPixmap:
        svg = paths.assets_dir() / "moodplayer.svg"
        try:
            from PySide6.QtSvg import QSvgRenderer
        except ImportError:  # pragma: no cover - QtSvg ships with PySide6-Essentials
            return QPixmap(str(paths.assets_dir() / "icons/hicolor/256x256/apps/moodplayer.png"))
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(int(size * ratio), int(size * ratio))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        QSvgRenderer(str(svg)).render(painter)
        painter.end()
        pixmap.setDevicePixelRatio(ratio)
        return pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect())
        painter.fillRect(rect, QColor(theme.BACKGROUND))
        glow = QColor(self._mood_color)
        centre = QPointF(rect.width() / 2, rect.height() * (0.42 if self.idle else 0.36))
        radius = max(rect.width(), rect.height()) * 0.62
        gradient = QRadialGradient(centre, radius)
        glow.setAlpha(70 if not self.idle else 45)
        gradient.setColorAt(0.0, glow)
        glow.setAlpha(0)
        gradient.setColorAt(1.0, glow)
        painter.fillRect(rect, gradient)
        painter.end()

    # -- what is shown ----------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return self._idle.idle

    @property
    def watching(self) -> bool:
        """Whether the camera is on, so that looking at it can change the music."""
        return self.session.camera_state.active

    def refresh(self) -> None:
        """Render the session's view (every poll, ~250 ms); timing decisions use the injected
        clock."""
        now = self._clock()
        self._keep_hours()
        self._keep_volume()
        view = self.session.view()
        if view.resting:
            self._show_resting()
            return
        if view.camera is CameraState.RUNNING:
            if self._idle.update(view.face_present, now) and self._idle.idle:
                self._on_idle()
                view = self.session.view()
        else:
            # no idle screen while the camera is off, starting or lost: looking cannot help
            self._idle.update(True, now)
        self.pages.setCurrentWidget(self.idle_page if self._idle.idle else self.live_page)

        watching = view.watching
        mood = view.mood or view.music_mood
        playlist = view.playlist or ""
        manual = view.mode is ControlMode.MANUAL
        if watching and mood:
            self.caption.setText("THE ROOM FEELS")
            self.mood_word.setText(theme.MOOD_WORDS.get(mood, mood.title()))
            color = QColor(theme.MOOD_COLORS.get(mood, theme.ACCENT))
        elif watching:
            self.caption.setText("READING THE MOOD")
            self.mood_word.setText("Hello")
            color = QColor(theme.ACCENT)
        else:
            self.caption.setText("NOW PLAYING")
            self.mood_word.setText(playlist.title() if playlist else APP_NAME)
            color = QColor(theme.ACCENT)
        hide_word = self.session.settings.kiosk.hide_mood_word
        if hide_word:  # only the music, in a neutral colour
            self.caption.setText("NOW PLAYING")
            self.mood_word.setText(playlist_word(playlist) if playlist else APP_NAME)
            color = QColor(theme.ACCENT)
        if color != self._mood_color:
            self._mood_color = color
            self.update()  # the background glow follows the mood
        if self.mood_word.property("shownColor") != color.name():
            self.mood_word.setProperty("shownColor", color.name())
            self.mood_word.setStyleSheet(f"color: {color.name()};")

        track = view.track
        title = track.title if track is not None else ""
        artist = track.artist if track is not None else ""
        self.title.setText(title or "Nothing playing yet")
        self.artist.setText(artist)
        self.artist.setVisible(bool(artist))
        if playlist:
            how = "chosen by hand" if manual else "follows the mood"
            if not watching and not manual:
                how = "camera off"
            self.playlist_line.setText(f"{playlist.title()} playlist · {how}")
        else:
            self.playlist_line.setText("")
        plan = view.plan
        self.plan_line.setText(plan.describe() if plan is not None and view.auto else "")
        self.plan_line.setVisible(bool(self.plan_line.text()))
        self.report_chip.setVisible(view.report)
        self.privacy.setText(REPORT_NOTE if view.report else PRIVACY_NOTE)
        playing = view.playing
        self.play_button.set_icon("pause" if playing else "play")
        self.volume_label.setText("Muted" if view.muted else f"{round(view.volume * 100)}%")
        self.auto_button.setVisible(manual and watching)
        if title:
            who = f" — {artist}" if artist else ""
            self.idle_now.setText(f"Now playing: {title}{who}")
        else:
            self.idle_now.setText("")
        dot, state = CAMERA_CHIP.get(view.camera, (theme.TEXT_DIM, "Camera off"))
        faces = kiosk_faces(view)
        self.camera_chip.setText(
            f'<span style="color:{dot}">●</span>&nbsp;{state}' + (f" · {faces}" if faces else "")
        )
        self.camera_chip.setToolTip(
            view.camera_text
            + (" Every face seen for a second or more votes." if view.room and faces else "")
        )

        if self._cursor.update(now):
            self.setCursor(Qt.CursorShape.BlankCursor)
        if playing:
            self._awake.hold()
        else:
            self._awake.release()

    def _keep_hours(self) -> None:
        """Rest outside the session hours, play inside them."""
        text = self.session.settings.kiosk.session_hours
        if text != self._hours_text:
            self._hours_text = text
            try:
                self._hours = SessionHours.parse(text)
            except UserError as exc:
                log.warning("%s; the kiosk plays at all hours", exc)
                self._hours = SessionHours()
        self.session.core.rest(not self._hours.is_open(self._local_time()))

    def _keep_volume(self) -> None:
        """Hold the volume at or under the admin's limit, whoever changed it (MPRIS too)."""
        kiosk = self.session.settings.kiosk
        player = self.session.player
        allowed = limit_volume(player.volume, kiosk.max_volume, kiosk.fixed_volume)
        if abs(allowed - player.volume) > 1e-6:
            player.set_volume(allowed)

    def _show_resting(self) -> None:
        now = self._local_time()
        opens = self._hours.next_change(now)
        when = f" until {opens:%H:%M}" if opens is not None else ""
        self.rest_message.setText(f"Resting{when}.\nThe camera is off.")
        self.pages.setCurrentWidget(self.rest_page)
        self.report_chip.setVisible(self.session.view().report)
        dot, state = CAMERA_CHIP.get(CameraState.OFF, (theme.TEXT_DIM, "Camera off"))
        self.camera_chip.setText(f'<span style="color:{dot}">●</span>&nbsp;{state}')
        if self._mood_color != QColor(theme.BACKGROUND):
            self._mood_color = QColor(theme.BACKGROUND)
            self.update()
        self._awake.release()

    @property
    def resting(self) -> bool:
        return self.pages.currentWidget() is self.rest_page

    def _on_idle(self) -> None:
        self.session.core.reset_plan()  # the next visitor's plan starts from their mood
        controller = self.session.controller
        if controller.mode is ControlMode.MANUAL:
            log.info("kiosk: nobody here; the music follows the mood again")
            controller.set_auto()

    def _on_face(self, present: bool) -> None:
        self.refresh()

    def _on_any(self, *args: object) -> None:
        self.refresh()

    def _on_settings(self, settings: Settings) -> None:
        kiosk = settings.kiosk
        if kiosk.pin_hash != self._pin_hash:  # a new PIN starts a fresh count of wrong tries
            self._pin_hash = kiosk.pin_hash
            self._gate = self._make_gate(kiosk.pin_hash, self._clock())
        self._idle.idle_after_s = kiosk.idle_after_s
        self._cursor.hide_after_s = kiosk.cursor_hide_s
        self._allowed = allowed_controls(kiosk.allowed_controls)
        self._apply_allowed()
        self.refresh()

    # -- controls ---------------------------------------------------------------------------

    def _command(self, call: Callable[[], object]) -> None:
        call()
        self.refresh()

    def _change_volume(self, delta: float) -> None:
        player = self.session.player
        kiosk = self.session.settings.kiosk
        volume = limit_volume(round(player.volume + delta, 2), kiosk.max_volume, kiosk.fixed_volume)
        player.set_volume(volume)
        if delta > 0 and player.muted:
            player.set_muted(False)
        self.refresh()

    # -- the pointer ------------------------------------------------------------------------

    def note_activity(self) -> None:
        """Mouse or touch activity: show the pointer again (it hides after a quiet while)."""
        if self._cursor.activity(self._clock()):
            self.unsetCursor()

    @property
    def cursor_hidden(self) -> bool:
        return self._cursor.hidden

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Quit and watched is QApplication.instance():
            # The app itself is quitting (a program decision, e.g. SIGTERM handling), not a
            # person closing the window: let the close through. Reset if the quit is cancelled.
            self._app_quitting = True
            QTimer.singleShot(0, self._quit_cancelled)
        elif kind in _ACTIVITY_EVENTS:
            self.note_activity()
        elif kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            mods = event.modifiers()
            wanted = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
            if event.key() == Qt.Key.Key_K and (mods & wanted) == wanted and self.isVisible():
                self.request_exit()
                return True
        return False

    # -- leaving ----------------------------------------------------------------------------

    def show_kiosk(self) -> None:
        """Show full screen, above other windows, and keep it so (``KioskGuard``). The kiosk
        reads the room (every face in view votes) and shows no camera preview."""
        self.session.set_room(True)
        self.session.set_preview(False)
        self.showFullScreen()
        self.raise_()
        self.activateWindow()
        if self.guard is None:
            self.guard = KioskGuard(self)
            self.guard.start()

    def showFullScreen(self) -> None:
        # Cover the whole screen even without a window manager (a bare X kiosk), where the
        # full-screen hint alone does nothing.
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            self.setGeometry(screen.geometry())
        super().showFullScreen()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if (
            event.type() == QEvent.Type.WindowStateChange
            and self.isVisible()
            and not self._exit_allowed
            and not self.isFullScreen()
        ):
            log.info("kiosk: the window left full screen; going back")
            self.setWindowState(Qt.WindowState.WindowFullScreen)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if key == Qt.Key.Key_Escape or (alt and key == Qt.Key.Key_F4):
            event.accept()  # swallowed: leaving needs the admin PIN (Ctrl+Shift+K)
            return
        super().keyPressEvent(event)

    def _quit_cancelled(self) -> None:
        self._app_quitting = False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not (self._exit_allowed or self._app_quitting):
            log.info("kiosk: close refused; the admin PIN is needed (Ctrl+Shift+K)")
            event.ignore()
            return
        self._awake.release()
        if self.guard is not None:
            self.guard.stop()
            self.guard = None
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        event.accept()

    def request_exit(self) -> PinDialog:
        """Open the admin PIN dialog (Ctrl+Shift+K); it stays open until cancelled or accepted."""
        if self.pin_dialog is not None and self.pin_dialog.isVisible():
            return self.pin_dialog
        dialog = PinDialog(self, enabled=self._gate.enabled, clock=self._clock)
        dialog.pin_entered.connect(lambda pin: dialog.show_answer(self.try_pin(pin)))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.pin_dialog = dialog
        if self.guard is not None:
            self.guard.pause(dialog)
        wait = self._gate.wait_s(self._clock())
        if wait > 0:
            dialog.show_answer(PinAnswer(PinResult.LOCKED, wait))
        dialog.open()
        return dialog

    def _make_gate(self, pin_hash: str, now: float) -> PinGate:
        """The PIN gate, its wrong tries and lock kept in the data folder (they survive a
        restart)."""
        return PinGate(pin_hash, state_path=throttle_file(paths.data_dir()), now=now)

    def _forget_dialog(self, dialog: PinDialog) -> None:
        if self.pin_dialog is dialog:
            self.pin_dialog = None
        dialog.deleteLater()
        if self.guard is not None:
            self.guard.resume()

    def try_pin(self, pin: str) -> PinAnswer:
        """Check ``pin``; the right one leaves kiosk mode (the app quits)."""
        answer = self._gate.attempt(pin, self._clock())
        if answer.result is PinResult.ACCEPTED:
            self.leave_kiosk()
        return answer

    def leave_kiosk(self) -> None:
        log.info("kiosk: leaving kiosk mode (admin PIN)")
        self._exit_allowed = True
        self.session.set_room(None)  # the desktop's own setting (mood.room) again
        self.session.core.rest(False)  # the session hours are the kiosk's, not the window's
        self._awake.release()
        if self.guard is not None:
            self.guard.stop()
            self.guard = None
        self.exit_requested.emit()
        self.close()
