"""`moodplayer library ...`: the music library database from the terminal.

    moodplayer library scan [FOLDER ...] [--json]   analyse new and changed files
    moodplayer library show [--json]                what the database holds
    moodplayer library why PATH                     why a track is in its mood playlist
    moodplayer library move PATH MOOD | pin PATH | exclude PATH | reset PATH

``scan`` without folders scans the configured ones: the shipped playlists, the user's playlist
folder and ``music.playlist_folders`` from the settings. With ``--json`` it prints one object per
track (``path`` absolute, ``mood``, ``energy``, ``valence``, ``tempo``, ``loudness`` (LUFS),
``replaygain`` (dB to -18 LUFS), ``source``, ``decoded``, ``why``), then a summary object
(``tracks``, ``analysed``: files decoded in this run, ``skipped``, ``removed``, ``seconds``,
``cancelled``, ``notes``, ``skipped_files``). Skipped entries are also lines on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from app import paths
from app import settings as settings_module
from app.commands.quiet import native_stderr_silenced
from app.errors import ExitStatus, UserError
from app.music import database as database_module
from app.music import library as library_module
from app.music import mood_playlists, moods
from app.music.analysis import Analysis, analyse_file
from app.music.database import DatabaseError, LibraryDatabase, TrackRecord
from app.music.scanner import ScannedTrack, ScanProgress, scan_library, shown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="FILE",
        help=f"the library database (default: {database_module.FILE_NAME} in the data folder)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    scan = actions.add_parser("scan", help="analyse new and changed music files")
    scan.add_argument("folders", nargs="*", metavar="FOLDER", help="default: the configured ones")
    scan.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", help="list the tracks in the database")
    show.add_argument("--json", action="store_true", help="one JSON object per line")
    why = actions.add_parser("why", help="why a track is in its mood playlist")
    why.add_argument("path", metavar="PATH")
    move = actions.add_parser("move", help="put a track in another mood playlist")
    move.add_argument("path", metavar="PATH")
    move.add_argument("mood", choices=moods.MOODS)
    pin = actions.add_parser("pin", help="keep a track in the mood playlist it is in now")
    pin.add_argument("path", metavar="PATH")
    exclude = actions.add_parser("exclude", help="leave a track out of the mood playlists")
    exclude.add_argument("path", metavar="PATH")
    reset = actions.add_parser("reset", help="forget what you chose for a track")
    reset.add_argument("path", metavar="PATH")


def _settings(args: argparse.Namespace) -> settings_module.Settings:
    path = Path(args.settings) if getattr(args, "settings", None) else paths.settings_file()
    return settings_module.load(path).settings


def _open(args: argparse.Namespace) -> LibraryDatabase:
    path = Path(args.database).expanduser() if getattr(args, "database", None) else None
    try:
        db = LibraryDatabase(path)
    except (DatabaseError, OSError) as exc:
        raise UserError(f"{exc}; choose another file with --database") from None
    if db.set_aside is not None:
        print(
            f"moodplayer: the library database was damaged; kept it as {db.set_aside} and "
            "started a new one",
            file=sys.stderr,
        )
    return db


def _track_object(record: TrackRecord, db: LibraryDatabase) -> dict[str, Any]:
    placement = mood_playlists.placement_of(db, record.path)
    return {
        "path": shown(record.path),
        "mood": placement.mood,
        "energy": record.energy,
        "valence": record.valence,
        "tempo": record.tempo,
        "loudness": record.loudness,
        "replaygain": record.replaygain,
        "source": placement.source,
        "title": record.title,
        "artist": record.artist,
        "album": record.album,
        "why": placement.explain(),
    }


def _track_line(record: TrackRecord, db: LibraryDatabase) -> str:
    placement = mood_playlists.placement_of(db, record.path)
    mood = placement.mood or "excluded"
    return (
        f"{mood:<10} energy {record.energy or 0:.2f}  valence {record.valence or 0:.2f}  "
        f"{record.tempo or 0:5.1f} BPM  {record.loudness or 0:6.1f} LUFS  {shown(record.path)}"
    )


class _Progress:
    """Progress on stderr: one rewritten line on a terminal; otherwise a line at each phase and
    every 2 s."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0
        self.phase = ""

    def __call__(self, update: ScanProgress) -> None:
        now = time.monotonic()
        new_phase = update.phase != self.phase
        if not new_phase and not self.tty and now - self.last < 2.0:
            return
        self.last = now
        self.phase = update.phase
        if self.tty:
            self.stream.write(
                "\r" + update.text().ljust(60) + ("\n" if update.phase == "done" else "")
            )
        else:
            self.stream.write(update.text() + "\n")
        self.stream.flush()


def _quiet_analyse(path: Path) -> Analysis:
    with native_stderr_silenced():
        return analyse_file(path)


def default_roots(settings: settings_module.Settings) -> list[Path]:
    """The shipped playlists, the user's playlist folder (when it exists: it is made only when
    the user puts something there) and the folders in the settings."""
    user = paths.user_playlists_dir()
    return [
        Path(f).expanduser()
        for f in library_module.default_folders(settings.music.playlist_folders)
        if Path(f) != user or user.exists()
    ]


def _scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.folders:
        roots = [Path(f).expanduser() for f in args.folders]
    else:
        roots = default_roots(_settings(args))
    said: set[Path] = set()
    with _open(args) as db:

        def on_track(item: ScannedTrack) -> None:
            record = item.record
            if not record.analysed:
                said.add(record.path)
                err.write(f"skipped {shown(record.path)}: {record.error}\n")
                return
            if args.json:
                line = _track_object(record, db) | {"decoded": item.decoded}
                out.write(json.dumps(line) + "\n")
            else:
                out.write(_track_line(record, db) + "\n")
            out.flush()

        result = scan_library(
            roots, db, progress=_Progress(err), on_track=on_track, analyse=_quiet_analyse
        )
    for skipped in result.skipped:
        if skipped.path not in said:
            err.write(f"skipped {shown(skipped.path)}: {skipped.reason}\n")
    for note in result.notes:
        err.write(note + "\n")
    if args.json:
        summary = {
            "tracks": result.tracks,
            "analysed": result.analysed,
            "skipped": len(result.skipped),
            "removed": result.removed,
            "seconds": round(result.seconds, 3),
            "cancelled": result.cancelled,
            "notes": list(result.notes),
            "skipped_files": [{"path": shown(s.path), "reason": s.reason} for s in result.skipped],
        }
        out.write(json.dumps(summary) + "\n")
    else:
        out.write(
            f"{result.tracks:,} tracks ({result.analysed:,} analysed now, "
            f"{len(result.skipped):,} skipped, {result.removed:,} removed) "
            f"in {result.seconds:.1f} s\n"
        )
    return ExitStatus.INTERRUPTED if result.cancelled else ExitStatus.OK


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as db:
        tracks = failed = 0
        for record in db.tracks():
            if not record.analysed:
                failed += 1
                continue
            tracks += 1
            out.write(
                (json.dumps(_track_object(record, db)) if args.json else _track_line(record, db))
                + "\n"
            )
        if args.json:
            out.write(
                json.dumps({"tracks": tracks, "failed": failed, "database": shown(db.path)}) + "\n"
            )
        else:
            out.write(f"{tracks:,} tracks, {failed:,} could not be analysed ({shown(db.path)})\n")
    return ExitStatus.OK


def _choice(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.path).expanduser().absolute()
    with _open(args) as db:
        if args.action == "move":
            mood_playlists.move(db, path, args.mood)
        elif args.action == "pin":
            mood_playlists.pin(db, path)
        elif args.action == "exclude":
            mood_playlists.exclude(db, path)
        elif args.action == "reset":
            mood_playlists.forget_choice(db, path)
        placement = mood_playlists.placement_of(db, path, paths.playlists_dir())
        unknown = placement.record is None and db.choice(path) is None and placement.mood is None
        if args.action == "why" and unknown:
            raise UserError(f"{shown(path)} is not in the library: run 'moodplayer library scan'")
        out.write(f"{shown(path)}: {placement.explain()}\n")
    return ExitStatus.OK


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        if args.action == "scan":
            return _scan(args, out, err)
        if args.action == "show":
            return _show(args, out)
        return _choice(args, out)
    except BrokenPipeError:  # `moodplayer library show | head`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitStatus.OK
