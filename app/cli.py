"""The ``moodplayer`` command: the window by default, plus headless subcommands.

    moodplayer [--source S] [--kiosk] [--debug]                 the player window
    moodplayer analyze PATH [--json]                            readings for an image/folder/video
    moodplayer eval --images DIR --labels CSV [...]             accuracy on a labelled face set
    moodplayer watch [--source S] [--json]                      live mood in the terminal
    moodplayer calibrate [--source S] [--seconds 5]             learn your neutral face
    moodplayer set-pin [--clear]                                the kiosk admin PIN, from stdin
    moodplayer library scan [FOLDER ...] [--json] | show [--json]  the mood-sorted music library

Every failure a person can fix is one line on stderr and a non-zero exit, never a traceback.
Start-up needs no console: under pythonw (``sys.stdout``/``sys.stderr`` None) the window still
comes up, and crash details go to ``crash.log`` in the log folder (:mod:`app.crash`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from app import APP_NAME, __version__, crash, logs
from app.errors import ExitStatus, UserError

log = logging.getLogger(__name__)

# subcommand -> module in app.commands with add_arguments(parser) and run(args) -> int
SUBCOMMANDS: dict[str, str] = {
    "analyze": "Read the expressions in an image, a folder of images or a video.",
    "eval": "Measure the expression model's accuracy on a labelled set of face images.",
    "watch": "Follow the mood live from a camera, video or folder, in the terminal.",
    "calibrate": "Learn your neutral face (5 s with a relaxed face) so readings are corrected.",
    "set-pin": "Set the kiosk admin PIN (read twice from stdin or a hidden prompt), or --clear it.",
    "library": "Sort your music into the six mood playlists: scan, show, why, move, pin, exclude.",
}


def command_module(name: str) -> str:
    """The module in app.commands behind subcommand ``name`` (``set-pin`` -> ``set_pin``)."""
    return f"app.commands.{name.replace('-', '_')}"


class _RefusePin(argparse.Action):
    """``--pin`` is gone: a PIN on a command line shows in ``ps`` and logs. Says what to do
    instead, without repeating the value."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.exit(
            int(ExitStatus.USAGE),
            "moodplayer: --pin is no longer accepted (a PIN on the command line can be read by "
            "anyone with 'ps'); set it with 'moodplayer set-pin', which reads it from stdin.\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moodplayer",
        description=f"{APP_NAME}: music that follows your mood, read privately from your webcam.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    parser.add_argument(
        "--source",
        help="camera index, video file or image folder to watch instead of the configured camera",
    )
    parser.add_argument(
        "--no-camera",
        action="store_true",
        help="start with the camera off (the music plays; Auto waits for a camera)",
    )
    parser.add_argument("--kiosk", action="store_true", help="full-screen unattended kiosk mode")
    parser.add_argument("--pin", nargs="?", action=_RefusePin, help=argparse.SUPPRESS)
    parser.add_argument(
        "--settings", help="settings file to use instead of the one in the config folder"
    )
    parser.add_argument(
        "--install-desktop",
        action="store_true",
        help="install the menu entry and icon for this user, then exit",
    )
    parser.add_argument(
        "--supervised",
        action="store_true",
        help="run under a supervisor that restarts the app after a crash",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        module = importlib.import_module(command_module(name))
        sub_parser = sub.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub_parser)
    return parser


def check_display(environ: Mapping[str, str], platform: str | None = None) -> None:
    """On Linux the window needs an X11 or Wayland session; without one Qt would abort the
    process with a core dump. Say so in one sentence instead."""
    system = platform if platform is not None else sys.platform
    if not system.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return
    raise UserError(
        "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): start "
        "MoodPlayer from a desktop session, or use 'moodplayer watch' in a terminal"
    )


def main(argv: Sequence[str] | None = None) -> int:
    crash.ensure_streams()
    crash.enable_on_stderr()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            if args.install_desktop:
                from app.desktop import install_for_user

                return install_for_user()
            if args.supervised:
                from app.supervisor import run_supervised

                return run_supervised(
                    [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--supervised"]
                )
            check_display(os.environ)
            logs.setup(debug=args.debug)
            crash.start()  # for the rest of the process
            from app.ui.application import run as run_window

            return run_window(args)
        logs.setup(debug=args.debug, log_file=False)
        module = importlib.import_module(command_module(args.command))
        return int(module.run(args))
    except UserError as exc:
        print(f"moodplayer: {exc}", file=sys.stderr)
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
