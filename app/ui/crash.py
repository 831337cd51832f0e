"""The window's side of crash handling: unhandled errors (in slots and in threads) logged and shown
once with the last log lines, and Qt's own messages routed into logging (``qt.<category>``)."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import (
    QMessageLogContext,
    QObject,
    Qt,
    QtMsgType,
    Signal,
    Slot,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QMessageBox

from app import APP_NAME, logs, paths
from app.errors import UserError

log = logging.getLogger(__name__)

# lines of the in-memory log shown under "Show Details..."
DIALOG_LOG_LINES = 40

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_to_log(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """A Qt message handler: Qt's warnings go to the log file, not a stderr that may be absent."""
    category = context.category or "default"
    name = "qt" if category == "default" else f"qt.{category}"
    logging.getLogger(name).log(_QT_LEVELS.get(mode, logging.WARNING), "%s", message)


def route_qt_messages() -> Any:
    """Install :func:`qt_message_to_log`; returns the handler it replaced."""
    return qInstallMessageHandler(qt_message_to_log)


class CrashReporter(QObject):
    """``sys.excepthook`` and ``threading.excepthook`` for the GUI: log every unhandled exception,
    show the first one once, with the last log lines under the details.

    A second error while the first is on screen only goes to the log and the status bar, so a
    failing slot called by a timer can never open a stream of error boxes. An error in another
    thread reaches the GUI thread through a queued signal.
    """

    # message for the status bar
    reported = Signal(str)
    # (message, details) from another thread, delivered on the GUI thread
    _thread_failed = Signal(str, str)

    def __init__(self, quiet: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.quiet = quiet  # kiosk: never a dialog, keep running
        self.count = 0
        self._box: QMessageBox | None = None
        self._previous: Any = sys.excepthook
        self._previous_thread: Any = threading.excepthook
        self._thread_failed.connect(self._report, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous = sys.excepthook
        self._previous_thread = threading.excepthook
        sys.excepthook = self.handle
        threading.excepthook = self.handle_thread

    def uninstall(self) -> None:
        if sys.excepthook == self.handle:
            sys.excepthook = self._previous
        if threading.excepthook == self.handle_thread:
            threading.excepthook = self._previous_thread

    def handle(
        self,
        kind: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        details = _details(text)
        log.error("unhandled error:\n%s", text)
        self._report(_message(value), details)

    def handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        details = _details(f"In thread {name}:\n{text}")
        log.error("unhandled error in thread %s:\n%s", name, text)
        self._thread_failed.emit(_message(args.exc_value), details)

    @Slot(str, str)
    def _report(self, message: str, details: str) -> None:
        self.count += 1
        self.reported.emit(message)
        if self.quiet or self._box is not None or self.count > 1:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, message)
        box.setInformativeText(
            "MoodPlayer keeps running. If this happens again, please report it with the log "
            f"from {paths.log_dir()}."
        )
        box.setDetailedText(details)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(self._box_closed)
        self._box = box
        box.show()

    def _box_closed(self) -> None:
        self._box = None


def _details(text: str) -> str:
    """The traceback, then the log lines that led to it (taken before the error is logged)."""
    lines = "\n".join(logs.last_lines(DIALOG_LOG_LINES))
    return f"{text}\nThe last lines of the log:\n{lines}" if lines else text


def _message(value: BaseException) -> str:
    if isinstance(value, UserError):
        return str(value)
    return f"Something went wrong: {value}. The details are in the log file."
