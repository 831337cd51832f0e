"""``moodplayer set-pin``: set or clear the kiosk admin PIN without it ever reaching a command line.

The new PIN is read twice: from a hidden prompt on a terminal, else as two lines on stdin
(``printf '4711\\n4711\\n' | moodplayer set-pin`` or ``moodplayer set-pin < file``). Only its
salted hash is stored in the settings file; nothing of the PIN is printed or logged. Setting a PIN
also forgets earlier wrong tries (the throttle). ``--clear`` removes the PIN, which disables
leaving kiosk mode. A running app reads the new PIN at its next start.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path
from typing import IO

from app import kiosk, paths
from app import settings as settings_mod
from app.errors import ExitStatus, UserError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clear",
        action="store_true",
        help="remove the PIN: leaving kiosk mode is then disabled",
    )
    parser.add_argument(
        "--settings", help="settings file to use instead of the one in the config folder"
    )


def read_new_pin(stdin: IO[str], *, interactive: bool | None = None) -> str:
    """The new PIN, asked twice (hidden on a terminal); raises ``UserError`` when the two differ
    or one is missing. The text of the PIN never appears in a message."""
    tty = stdin.isatty() if interactive is None else interactive
    if tty:
        first = getpass.getpass("New kiosk PIN (4 to 12 digits): ")
        second = getpass.getpass("The same PIN again: ")
    else:
        first = stdin.readline()
        second = stdin.readline()
        if not first or not second:
            raise UserError(
                "set-pin reads the new PIN twice, one line each, on stdin; got fewer lines. "
                "Nothing changed."
            )
    first, second = first.strip("\r\n"), second.strip("\r\n")
    if first != second:
        raise UserError("the two PINs differ; nothing changed")
    kiosk.check_pin_format(first)
    return first


def run(args: argparse.Namespace, stdin: IO[str] | None = None) -> int:
    path = Path(args.settings) if getattr(args, "settings", None) else paths.settings_file()
    loaded = settings_mod.load(path)
    settings = loaded.settings
    if args.clear:
        kiosk.apply_pin_argument(settings, "")
        message = f"Kiosk PIN cleared in {path}: leaving kiosk mode is now disabled."
    else:
        pin = read_new_pin(stdin if stdin is not None else sys.stdin)
        kiosk.apply_pin_argument(settings, pin)
        message = f"Kiosk PIN set; only its salted hash is stored in {path}."
    try:
        settings_mod.save(settings, path)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror}); the PIN was not changed") from exc
    kiosk.clear_throttle(kiosk.throttle_file(paths.data_dir()))
    print(message)
    print("A running MoodPlayer uses it from its next start.")
    return ExitStatus.OK
