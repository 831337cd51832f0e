"""Long loops off the GUI thread leave the interpreter lock to the window now and then.

A thread that reads 20,000 database rows or tag blocks lets go of the GIL at every row (SQLite
steps, file reads) and takes it back at once, before the GUI thread, woken, can run; and while
another thread (the audio engine) takes it now and then, CPython never asks the reader to hand it
over (its switch request needs a whole interval with no switch at all). The window then waits 70-160
ms for the lock (``bench/library_window.py --why``: docs/BENCHMARKS.md, "Library scan in the
window"). ``breathe()`` in such a loop sleeps ``PAUSE_S`` once every ``EVERY_S`` of work: the GUI
thread gets the lock within a few milliseconds, the loop loses a tenth of its speed. On the main
thread (the command line, where no window waits) it does nothing.
"""

from __future__ import annotations

import threading
import time

# Work between two breaths, and how long each one is. The window's 50 ms rule wants the GUI
# thread back well within 50 ms; its ticks come every 10 ms.
EVERY_S = 0.008
PAUSE_S = 0.0008


class _Breath(threading.local):
    def __init__(self) -> None:
        self.wanted = threading.current_thread() is not threading.main_thread()
        self.next_at = time.perf_counter() + EVERY_S


_breath = _Breath()


def breathe() -> None:
    """Call at every step of a long loop that may run on a worker thread."""
    state = _breath
    if not state.wanted:
        return
    now = time.perf_counter()
    if now >= state.next_at:
        time.sleep(PAUSE_S)
        state.next_at = time.perf_counter() + EVERY_S
