"""Work off the GUI thread, results on it: the one way the UI runs something that may take long
(loading the expression model, probing cameras, scanning the library).

``run_task(fn, on_done, on_error)`` runs ``fn()`` on a daemon thread and then calls
``on_done(result)`` -- or ``on_error(exception)`` -- on the GUI thread, so the callbacks may touch
widgets (Picard's ``run_task``/``to_main``). ``to_main(call)`` runs ``call()`` on the GUI thread
from any thread. Nothing here blocks the event loop; an exception is never lost: without
``on_error`` it is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Dispatcher(QObject):
    """Lives in the GUI thread; a queued signal carries calls into it."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run)

    @Slot(object)
    def _run(self, call: Callable[[], None]) -> None:
        call()


_dispatcher: _Dispatcher | None = None
_lock = threading.Lock()


def _gui_dispatcher() -> _Dispatcher:
    global _dispatcher
    with _lock:
        if _dispatcher is None or not shiboken6.isValid(_dispatcher):
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("run_task/to_main need a QApplication")
            dispatcher = _Dispatcher()
            if dispatcher.thread() is not app.thread():
                dispatcher.moveToThread(app.thread())
            _dispatcher = dispatcher
        return _dispatcher


def to_main(call: Callable[[], None]) -> None:
    """Run ``call()`` on the GUI thread, later (always queued, also from the GUI thread).

    After the application ended (a late task at exit) the call is dropped: nobody is left to
    tell."""
    try:
        _gui_dispatcher().call.emit(call)
    except RuntimeError:  # no QApplication any more, or its dispatcher was deleted with it
        log.debug("a call for the GUI thread came after the application ended; dropped")


def on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def run_task(
    fn: Callable[[], T],
    on_done: Callable[[T], Any],
    on_error: Callable[[BaseException], Any] | None = None,
    *,
    name: str = "task",
) -> threading.Thread:
    """Run ``fn()`` off the GUI thread; its result (or exception) arrives on the GUI thread."""
    _gui_dispatcher()  # made here, on the caller's (GUI) thread, before the work starts

    def work() -> None:
        try:
            result = fn()
        except Exception as exc:
            error = exc
            if on_error is None:
                log.error("background task %s failed", name, exc_info=error)
            else:
                to_main(lambda: on_error(error))
            return
        to_main(lambda: on_done(result))

    thread = threading.Thread(target=work, name=f"task-{name}", daemon=True)
    thread.start()
    return thread
