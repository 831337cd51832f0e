"""Start the window: the Qt application, the session, the main (or kiosk) window, and a clean exit.

``run(args)`` is called by :mod:`app.cli` with ``source``, ``no_camera``, ``kiosk``,
``settings`` and ``debug``. The window is shown first and the session (camera, model, music)
starts on the next turn of the event loop, so the window paints before the model loads.

``MOODPLAYER_SCREENSHOT=PATH`` (with ``MOODPLAYER_SCREENSHOT_AFTER=seconds``, default 6) grabs the
window into PATH and quits: ``make screenshot`` uses it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from app import APP_ID, APP_NAME, __version__, crash, paths
from app import settings as settings_mod
from app.errors import ExitStatus, UserError
from app.problems import problems
from app.ui import theme
from app.ui.crash import CrashReporter, route_qt_messages
from app.ui.desktop_integration import DesktopIntegration
from app.ui.main_window import MainWindow
from app.ui.problems_view import ProblemFeed, ProblemsDialog
from app.ui.session import Session, build_session
from app.ui.single_instance import SingleInstance

if TYPE_CHECKING:
    from app.ui.kiosk import KioskWindow

log = logging.getLogger(__name__)

# Set when the process started, for the cold-start measurement in bench/gui.py.
STARTED_AT = time.monotonic()


def app_icon() -> QIcon:
    icon = QIcon()
    folder = paths.assets_dir()
    svg = folder / "moodplayer.svg"
    for png in sorted(folder.glob("icons/hicolor/*/apps/moodplayer.png")):
        icon.addFile(str(png))
    if svg.is_file():
        icon.addFile(str(svg))
    return icon


def make_qapplication(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    route_qt_messages()
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    theme.apply(app)
    return app


def _open_settings(window: MainWindow, session: Session) -> None:
    from app.ui.settings_dialog import SettingsDialog

    session.remember_state()
    dialog = SettingsDialog(
        session.settings,
        session.settings_path,
        playlist_names=list(session.controller.playlist_names()),
        parent=window,
        session=session,
    )
    dialog.settings_accepted.connect(session.apply_settings)
    if dialog.exec() == SettingsDialog.DialogCode.Accepted:
        window.show_notice("Settings saved.", 3000)


def _open_about(window: QWidget) -> None:
    from app.ui.about_dialog import AboutDialog

    AboutDialog(window).exec()


def _kiosk_window(session: Session) -> KioskWindow:
    from app.ui.kiosk import KioskWindow

    return KioskWindow(session)


def _schedule_screenshot(window: QWidget, done: Callable[[], object]) -> None:
    target = os.environ.get("MOODPLAYER_SCREENSHOT")
    if not target:
        return
    delay = float(os.environ.get("MOODPLAYER_SCREENSHOT_AFTER", "6"))

    def grab() -> None:
        window.grab().save(target)
        log.info("screenshot written to %s", target)
        done()

    QTimer.singleShot(int(delay * 1000), grab)


def window_state(window: QWidget) -> str:
    """ "fullscreen", "maximized" or "" (normal), as kept in ``settings.window.state``."""
    if window.isFullScreen():
        return "fullscreen"
    if window.isMaximized():
        return "maximized"
    return ""


@dataclass
class Running:
    """What ``start`` built: shown, with the session starting on the next event-loop turn."""

    app: QApplication
    session: Session
    window: QWidget
    main: MainWindow | None
    reporter: CrashReporter
    problems: tuple[str, ...]
    kiosk: bool = False
    stopped: bool = False
    # MPRIS, tray, media keys, one instance (None until start() attached them)
    desktop: DesktopIntegration | None = None
    kiosk_window: KioskWindow | None = None
    # the Problems view's feed of skipped files (main window only)
    feed: ProblemFeed | None = None

    def shut_down(self) -> None:
        """Remember geometry and choices, stop camera and music, save settings (once)."""
        if self.stopped:
            return
        self.stopped = True
        if self.desktop is not None:
            self.desktop.close()  # off the bus, tray icon gone, a next launch may start
        if self.feed is not None:
            self.feed.close()  # no longer told of problems
        if self.main is not None:
            window = self.session.settings.window
            window.geometry = self.main.encoded_geometry()
            if not self.kiosk:  # kiosk full screen is not the listener's choice of window state
                window.state = window_state(self.main)
        self.session.remember_state()
        self.session.stop(timeout=1.0)
        self.session.save_settings()
        log.info("session ended")

    def close(self) -> None:
        self.shut_down()
        self.reporter.uninstall()
        windows: list[QWidget] = [self.window]
        for other in (self.main, self.kiosk_window):
            if other is not None and other not in windows:
                windows.append(other)
        for window in windows:
            window.close()
            window.deleteLater()


def _show_main(running: Running) -> MainWindow:
    """The normal window (built on first use), shown; kiosk mode is over."""
    main = running.main
    app, session = running.app, running.session
    settings = session.settings
    if main is None:
        main = MainWindow(session)
        running.main = main
        window = main
        main.settings_requested.connect(lambda: _open_settings(window, session))
        main.about_requested.connect(lambda: _open_about(window))
        main.quit_requested.connect(app.quit)
        main.kiosk_requested.connect(lambda: _enter_kiosk(running))
        running.reporter.reported.connect(main.show_notice)
        if not main.restore_geometry(settings.window.geometry):
            main.resize(default_size(main))
        running.feed = _connect_problems(main)
    running.window = main
    running.kiosk = False
    running.reporter.quiet = False
    if running.desktop is not None:  # tray, media keys as at a normal start; MPRIS "raise"
        running.desktop.use_window(main, main)  # shows the window that is up
    if settings.window.state == "fullscreen":
        main.showFullScreen()
    elif settings.window.state == "maximized":
        main.showMaximized()
    else:
        main.showNormal()
    main.raise_()
    main.activateWindow()
    return main


def _enter_kiosk(running: Running) -> KioskWindow:
    """Kiosk mode now: the kiosk window full screen, the normal window hidden."""
    window = _kiosk_window(running.session)
    window.exit_requested.connect(lambda: _leave_kiosk(running, window))
    running.kiosk_window = window
    running.window = window
    running.kiosk = True
    if running.desktop is not None:  # no tray in the kiosk
        running.desktop.use_window(window, running.main)
    running.reporter.quiet = True
    window.show_kiosk()
    if running.main is not None:
        running.main.hide()
    log.info("kiosk mode entered")
    return window


def _leave_kiosk(running: Running, window: KioskWindow) -> None:
    """The right PIN: the normal window with Settings, instead of quitting."""
    main = _show_main(running)  # shown before the kiosk closes, so the app does not quit
    if running.kiosk_window is window:
        running.kiosk_window = None
    window.deleteLater()
    main.show_notice(
        "Kiosk mode ended. MoodPlayer → Enter kiosk mode goes back to it; Settings → Kiosk → "
        "'Start in kiosk mode' decides how the next start opens.",
        15000,
    )


class AlreadyRunning(Exception):
    """Another MoodPlayer with the same settings folder runs; it was asked to come to the front."""


def start(args: Any) -> Running:
    """Build the app, the session and the window, and show it (``run`` then enters the loop).

    Raises :class:`AlreadyRunning` when another instance (same settings folder) runs: it was
    handed over to and raises its window; this one should exit."""
    app = make_qapplication()
    settings_path = Path(args.settings) if getattr(args, "settings", None) else None
    settings_path = settings_path or paths.settings_file()
    instance = SingleInstance(settings_path.parent, settings_path.parent)
    if not instance.claim():
        raise AlreadyRunning(f"MoodPlayer already runs with the settings in {settings_path.parent}")
    try:
        return _start(app, args, settings_path, instance)
    except BaseException:
        instance.release()
        raise


def _start(app: QApplication, args: Any, settings_path: Path, instance: SingleInstance) -> Running:
    loaded = settings_mod.load(settings_path)
    settings = loaded.settings

    kiosk = bool(getattr(args, "kiosk", False) or settings.kiosk.enabled)
    reporter = CrashReporter(quiet=kiosk)
    reporter.install()
    try:
        session = build_session(
            settings,
            settings_path,
            source=getattr(args, "source", None),
            no_camera=bool(getattr(args, "no_camera", False)),
        )
    except UserError:
        reporter.uninstall()
        raise

    running = Running(app, session, QWidget(), None, reporter, loaded.problems, kiosk=kiosk)
    if not kiosk:
        main = _show_main(running)
        crash_log = crash.current()
        if crash_log is not None and crash_log.previous is not None:
            main.show_notice(
                f"MoodPlayer stopped unexpectedly last time; the details are in "
                f"{crash_log.previous}.",
                15000,
            )
        for problem in loaded.problems:
            main.show_notice(f"Settings: {problem}", 15000)
        if len(loaded.problems) > 1:
            main.show_notice(
                f"Settings: {len(loaded.problems)} problems, defaults used "
                f"(details in the log). First: {loaded.problems[0]}",
                20000,
            )
    else:
        _enter_kiosk(running)

    log.info("window shown %.0f ms after start", (time.monotonic() - STARTED_AT) * 1000)
    if settings.desktop.resume:
        resume(session)
    desktop = DesktopIntegration(app, session, running.window, running.main, instance, parent=app)
    desktop.attach()
    QTimer.singleShot(0, session.start)
    running.desktop = desktop
    return running


def default_size(window: QWidget) -> QSize:
    """The first window: 1180×760, or what the screen has room for (an 800×600 one)."""
    screen = window.screen()
    if screen is None:
        return QSize(1180, 760)
    room = screen.availableGeometry()
    # leave room for the window manager's frame and title bar
    return QSize(min(1180, room.width() - 16), min(760, room.height() - 40)).expandedTo(
        window.minimumSize()
    )


def _connect_problems(main: MainWindow) -> ProblemFeed:
    """View → Problems and the status bar's count, fed by the process's list of skipped files."""
    feed = ProblemFeed(problems, parent=main)
    main.set_problem_count(len(problems))
    feed.added.connect(
        lambda _problem: main.set_problem_count(len(problems)), Qt.ConnectionType.QueuedConnection
    )
    dialogs: list[ProblemsDialog] = []

    def show() -> None:
        if dialogs and dialogs[0].isVisible():
            dialogs[0].raise_()
            dialogs[0].activateWindow()
            return
        dialogs.clear()
        dialog = ProblemsDialog(feed, main)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.clear_button.clicked.connect(lambda: main.set_problem_count(len(problems)))
        dialogs.append(dialog)
        dialog.show()

    main.problems_requested.connect(show)
    return feed


def resume(session: Session) -> bool:
    """Put back the playlist, track and position the last run ended in (``desktop.resume``)."""
    window = session.settings.window
    if not window.resume_playlist:
        return False
    return session.controller.restore(
        window.resume_playlist, window.resume_track, window.resume_position
    )


def run(args: Any) -> int:
    """Show the player until the listener quits; returns the exit status.

    SIGTERM, SIGHUP and SIGINT quit through the same path as the menu (everything saved). The GUI
    thread sends the service manager's heartbeat. A kiosk whose window went away without the
    admin PIN or a signal exits with ``ExitStatus.RESTART`` so it is started again."""
    from app.ui import lifecycle

    try:
        running = start(args)
    except AlreadyRunning as exc:
        log.info("%s; it comes to the front and this launch ends", exc)
        return int(ExitStatus.OK)
    app = running.app
    watcher = lifecycle.SignalWatcher(parent=app)
    signalled: list[int] = []
    watcher.received.connect(signalled.append)
    lifecycle.connect_quit(watcher, app.quit)
    watcher.install()
    heartbeat = lifecycle.Heartbeat(parent=app)
    autosave = lifecycle.AutoSave(running.session, parent=app)
    QTimer.singleShot(0, lambda: heartbeat.ready("window shown"))
    QTimer.singleShot(0, autosave.start)

    def stopping() -> None:
        heartbeat.stopping()
        autosave.stop()
        running.shut_down()

    _schedule_screenshot(running.window, app.quit)
    app.aboutToQuit.connect(stopping)
    try:
        code = app.exec()
    finally:
        app.aboutToQuit.disconnect(stopping)
        running.close()
        watcher.uninstall()
        heartbeat.close()
    if code:
        return int(code)
    if running.kiosk and not signalled and not os.environ.get("MOODPLAYER_SCREENSHOT"):
        log.warning("kiosk: the window went away without the admin PIN; exiting to be restarted")
        return int(ExitStatus.RESTART)
    return int(ExitStatus.OK)
