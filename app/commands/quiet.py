"""Hide what C libraries print straight to file descriptor 2 while a command reads media."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device for the block (FFmpeg's "moov atom not found",
    libmpg123's "part2_3_length too large"), so a bad file gives the command's one line and
    nothing else. Only for commands that read on their one thread, between their own writes."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr: nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
