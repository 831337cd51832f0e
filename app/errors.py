"""Errors a person can act on, and the process exit codes."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1  # something the user can fix: a bad path, a bad model, a bad card
    USAGE = 2  # wrong command-line words (argparse uses 2 as well)
    # The kiosk window went away without the admin PIN (closed, killed by its window manager):
    # not a deliberate quit, so a supervisor or systemd starts the app again (EX_TEMPFAIL).
    RESTART = 75
    INTERRUPTED = 130  # Ctrl+C


class UserError(Exception):
    """A failure explained in one sentence a person can act on; printed without a traceback."""
