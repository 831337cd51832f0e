"""Every setting, declared once: its type, default, range or choices, label and help.

A setting is one field of a section dataclass, declared with :func:`option`::

    fade_s: float = option(1.5, range=(0.0, 30.0), label="Fade between playlists", help="...")

From these declarations come the typed access (``settings.music.fade_s``), the checks when a file is
read (:data:`OPTIONS`, :meth:`Option.check`), the TOML load and save, and the settings dialog's
fields (``app/ui/settings_dialog.py``). An option without a label is kept in the file but not shown
in the dialog (window geometry, the player's volume).

A bad value never stops the app: it is reported naming the key, what was wrong and the default used.
A file that cannot be parsed at all is kept as ``settings.toml.bad-<n>`` and defaults are used.
Keys this version does not know are kept and written back. Writes are atomic (temporary file, then
``os.replace``); a temporary file left by a save that was killed is removed at the next load. The
``version`` key allows upgrades; a file from a newer version is copied aside before it is read.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from app.mood.voter import VoterConfig
from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
# A ``.settings-*.tmp`` file older than this is left over from a save that was killed.
STALE_TEMP_S = 60.0
_TEMP_PREFIX, _TEMP_SUFFIX = ".settings-", ".tmp"

# The default playlists shipped in playlists/, one folder each.
DEFAULT_PLAYLISTS: tuple[str, ...] = (
    "calm",
    "gentle",
    "upbeat",
    "energetic",
    "melancholy",
    "intense",
)

# expression -> playlist, for each strategy. "match" meets the mood; "lift" gently raises it
# (the music-therapy idea: calm an angry listener, comfort a frightened one, cheer a sad one).
STRATEGY_MAPPINGS: dict[str, dict[str, str]] = {
    "match": {
        "angry": "intense",
        "disgust": "intense",
        "fear": "gentle",
        "happy": "upbeat",
        "sad": "melancholy",
        "surprise": "energetic",
        "neutral": "calm",
    },
    "lift": {
        "angry": "calm",
        "disgust": "calm",
        "fear": "gentle",
        "happy": "upbeat",
        "sad": "upbeat",
        "surprise": "energetic",
        "neutral": "calm",
    },
}
# A session plan (the iso principle) first meets the mood as "match" does, then steps toward its
# target (app/mood/plan.py); its mapping is the starting point.
STRATEGY_MAPPINGS["plan"] = dict(STRATEGY_MAPPINGS["match"])

_KIOSK_CONTROL_CHOICES = (
    ("play_pause", "Play / pause"),
    ("skip", "Next / previous track"),
    ("volume", "Volume"),
    ("playlist", "Choose the playlist"),
)
KIOSK_CONTROLS: tuple[str, ...] = tuple(value for value, _ in _KIOSK_CONTROL_CHOICES)

T = TypeVar("T")

# Field metadata keys.
_OPTION = "moodplayer.option"
_SECTION = "moodplayer.section"


@dataclass(frozen=True)
class Choice:
    """One allowed value of a text option (or one allowed item of a list option)."""

    value: str
    label: str


@dataclass(frozen=True)
class Option:
    """One declared setting. Made by :func:`option` in a section dataclass; ``key``, ``type`` and
    ``page`` are filled in from the field (``"music.fade_s"``, ``float``, the section's page)."""

    key: str
    type: Any
    default: Any
    # What the dialog shows; "" = not shown in the dialog (still read, checked and saved).
    label: str = ""
    help: str = ""
    # Inclusive range of a number.
    range: tuple[float, float] | None = None
    # The allowed values of a text option, or the allowed items of a list of text.
    choices: tuple[Choice, ...] = ()
    # The allowed keys of a table (``dict[str, str]``) option.
    keys: tuple[str, ...] = ()
    # The dialog page (tab); "" = the section's page.
    page: str = ""
    # How the dialog shows it: "" (by type: check box, spin box, combo box, text field, check
    # boxes for a list with choices), "radio" (radio buttons), "file" / "folder" (a path with a
    # chooser), "custom" (the dialog builds it by hand: a method named after the key).
    widget: str = ""
    # Spin boxes: step, decimals and unit ("s" shows as "1.5 s").
    step: float = 0.0
    decimals: int = 1
    unit: str = ""
    # For a file chooser: the file filter (Qt syntax).
    file_filter: str = ""
    # When a change takes effect, if not at once: "at the next start".
    applies: str = ""

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]

    @property
    def visible(self) -> bool:
        return bool(self.label)

    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    def new_default(self) -> Any:
        """A fresh copy of the default (lists and tables are never shared)."""
        return copy.deepcopy(self.default)

    def check(self, value: Any) -> tuple[Any, str | None]:
        """(the value to use, None) for a good value, (the default, a problem) for a bad one.

        The problem names the key, what was wrong and the default used."""
        default = self.default
        key = self.key
        hint = self.type
        origin = typing.get_origin(hint)
        if hint is bool:
            if isinstance(value, bool):
                return value, None
            return default, f"{key}: expected true or false, got {value!r}; using {default!r}"
        if hint is int or hint is float:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                what = "a whole number" if hint is int else "a number"
                return default, f"{key}: expected {what}, got {value!r}; using {default!r}"
            if hint is int and not isinstance(value, int):
                return default, f"{key}: expected a whole number, got {value!r}; using {default!r}"
            low, high = self.range if self.range is not None else (-float("inf"), float("inf"))
            if value != value or not low <= value <= high:
                return default, f"{key}: {value!r} is outside {low:g}..{high:g}; using {default!r}"
            return (float(value) if hint is float else value), None
        if hint is str:
            if not isinstance(value, str):
                return default, f"{key}: expected text, got {value!r}; using {default!r}"
            if self.choices and value not in self.choice_values():
                known = ", ".join(self.choice_values())
                return default, f"{key}: {value!r} is not one of {known}; using {default!r}"
            return value, None
        if origin is list and typing.get_args(hint) == (float,):
            if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in value
            ):
                return (
                    default,
                    f"{key}: expected a list of numbers, got {value!r}; using {default!r}",
                )
            return [float(v) for v in value], None
        if origin is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return default, f"{key}: expected a list of text, got {value!r}; using {default!r}"
            bad = [v for v in value if self.choices and v not in self.choice_values()]
            if bad:
                known = ", ".join(self.choice_values())
                return default, f"{key}: unknown items {bad!r} (known: {known}); using {default!r}"
            return list(value), None
        if origin is dict:
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                return default, (
                    f"{key}: expected a table of text, got {value!r}; using {default!r}"
                )
            unknown = [k for k in value if self.keys and k not in self.keys]
            if unknown:
                known = ", ".join(self.keys)
                return default, (
                    f"{key}: unknown keys {unknown!r} (known: {known}); using {default!r}"
                )
            return dict(value), None
        raise TypeError(f"unsupported settings type for {key}: {hint!r}")  # pragma: no cover


def _choices(values: Iterable[str | tuple[str, str]]) -> tuple[Choice, ...]:
    return tuple(Choice(v, v) if isinstance(v, str) else Choice(*v) for v in values)


def _default_detector() -> str:
    from app.vision.detector_registry import default_detector

    return default_detector()


def _registered(kind: str) -> tuple[tuple[str, str], ...]:
    """The visible backends of a vision registry as (name, label) choices, in its order."""
    from app.vision.detector_registry import DETECTORS
    from app.vision.model_registry import MODELS

    backends = MODELS if kind == "model" else DETECTORS
    return tuple((b.name, b.label) for b in backends if not b.hidden)


def option(
    default: T,
    *,
    label: str = "",
    help: str = "",
    range: tuple[float, float] | None = None,
    choices: Iterable[str | tuple[str, str]] = (),
    keys: Sequence[str] = (),
    page: str = "",
    widget: str = "",
    step: float = 0.0,
    decimals: int = 1,
    unit: str = "",
    file_filter: str = "",
    applies: str = "",
) -> T:
    """Declare one setting as a dataclass field (see the module documentation).

    ``choices``: values, or ``(value, label)`` pairs. Typed as the default's type, so the
    section's attribute is typed as declared; at run time it is a ``dataclasses.Field``."""
    declared = Option(
        key="",
        type=None,
        default=default,
        label=label,
        help=help,
        range=range,
        choices=_choices(choices),
        keys=tuple(keys),
        page=page,
        widget=widget,
        step=step,
        decimals=decimals,
        unit=unit,
        file_filter=file_filter,
        applies=applies,
    )
    metadata = {_OPTION: declared}
    made: Any
    if isinstance(default, (list, dict, set)):
        made = field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    else:
        made = field(default=default, metadata=metadata)
    return typing.cast(T, made)


def section(kind: Callable[[], T], *, page: str = "") -> T:
    """Declare a section of the settings file; ``page`` is its tab in the dialog ("" = none)."""
    made: Any = field(default_factory=kind, metadata={_SECTION: page})
    return typing.cast(T, made)


# -- the settings -------------------------------------------------------------------------------

_VOTER = VoterConfig()


@dataclass
class CameraSettings:
    enabled: bool = option(
        True,
        label="Use the camera to follow my mood",
        help="Off: MoodPlayer is a plain player; choose the playlist yourself.",
    )
    source: str = option(
        "0",
        label="Watch",
        help="A camera (its number), a video file or a folder of images.",
        widget="custom",
    )
    loop_video: bool = option(
        True,
        label="Start the video again when it ends",
        help="For a video file or an image folder watched instead of a camera.",
    )
    analysis_rate: float = option(
        10.0,
        range=(0.5, 60.0),
        label="Analyses",
        help="Faces read per second. Fewer use less power.",
        step=1.0,
        unit="per second",
    )
    preview_visible: bool = option(
        True,
        label="Show the camera preview",
        help="The camera picture in the window (never stored).",
    )


@dataclass
class ModelSettings:
    backend: str = option(
        "bundled",
        choices=_registered("model"),
        label="Expression model",
        help="Which model reads the expression from the face.",
        widget="radio",
    )
    onnx_path: str = option(
        "",
        label="ONNX file",
        help="Your own model (.onnx), with its JSON model card beside it.",
        widget="file",
        file_filter="ONNX models (*.onnx)",
    )
    tta: bool = option(
        False,
        label="Also read the mirrored face (slower, often a little more accurate)",
        help="Average each face with its mirror image.",
    )
    detector: str = option(
        _default_detector(),
        choices=_registered("detector"),
        label="Face detector",
        help="What finds the face in the frame.",
    )


@dataclass
class MoodSettings:
    # The defaults are the voter's own (app/mood/voter.py says why each is what it is).
    window_s: float = option(
        _VOTER.window_s,
        range=(0.5, 60.0),
        label="Mood window",
        help="The mood is voted over the readings of this many seconds.",
        step=0.5,
        unit="s",
    )
    margin: float = option(
        _VOTER.margin,
        range=(0.0, 1.0),
        label="Lead needed",
        help="How far a new mood must lead the current one (share of the votes) to win.",
        step=0.01,
        decimals=2,
    )
    dwell_s: float = option(
        _VOTER.dwell_s,
        range=(0.0, 60.0),
        label="Hold for",
        help="…and how long it must keep that lead. Larger = steadier music.",
        unit="s",
    )
    min_face_share: float = option(
        _VOTER.min_face_share,
        range=(0.0, 1.0),
        label="Face needed",
        help="A face seen for less than this share of the window does not vote a mood.",
        step=0.05,
        decimals=2,
    )
    no_face_after_s: float = option(
        _VOTER.no_face_after_s,
        range=(0.5, 3600.0),
        label="Nobody there after",
        help="No face for this long: nobody is there (the kiosk shows its idle screen).",
        step=1.0,
        unit="s",
    )
    room: bool = option(
        False,
        label="Every face in view votes (the room's mood)",
        help="For a shared room: each face seen for a second or more votes, weighted by its "
        "size and how sure the reading is. Off: only the largest face votes.",
    )
    # Your own neutral face (app/mood/calibration.py): 7 numbers, the mean reading of your
    # relaxed face in EXPRESSIONS order, made by `moodplayer calibrate`; [] = not calibrated.
    calibration: list[float] = option(
        [],
        label="Your neutral face",
        help="Your neutral face as the model reads it (7 numbers, never an image).",
        widget="custom",
    )
    calibration_on: bool = option(
        True,
        label="Correct the readings by my neutral face",
        help="Uses the calibration above (or 'moodplayer calibrate'): a face that looks sad at "
        "rest then reads neutral. Nothing happens until you have calibrated.",
    )
    calibration_strength: float = option(
        1.0,
        range=(0.0, 1.0),
        label="Correction strength",
        help="0 = no correction, 1 = your resting face reads fully neutral.",
        step=0.1,
        decimals=1,
    )


@dataclass
class MusicSettings:
    strategy: str = option(
        "lift",
        choices=(
            ("match", "Match it (sad → melancholy songs)"),
            ("lift", "Lift it (sad → upbeat songs, angry → calm songs)"),
            ("plan", "Follow a session plan (meet the mood, then step toward a target)"),
        ),
        label="When a mood is seen",
        help="Match the mood, gently lift it (the music-therapy idea), or follow a session "
        "plan: first the music that matches, then one step at a time toward the target mood "
        "(Session page).",
        widget="radio",
    )
    # The user's edits on top of the strategy's mapping: expression -> playlist name.
    mapping: dict[str, str] = option(
        {},
        keys=EXPRESSIONS,
        label="Playlist for each expression",
        help="Your choices on top of the strategy's.",
        widget="custom",
    )
    fade_s: float = option(
        1.5,
        range=(0.0, 30.0),
        label="Fade between playlists",
        help="How long one playlist fades into the next.",
        step=0.5,
        unit="s",
    )
    level_loudness: bool = option(
        True,
        label="Even out loudness between tracks",
        help="Brings every track to one level (ReplayGain tags, else the loudness the library "
        "measured), so a loud album does not jump out after a quiet one.",
    )
    switch: str = option(
        "now",
        choices=(("now", "at once"), ("track_end", "when the track ends")),
        label="Change playlist",
        help="Fade to the new playlist at once, or when the current track ends.",
        widget="radio",
    )
    min_switch_s: float = option(
        60.0,
        range=(0.0, 900.0),
        label="Least time between mood changes",
        help='A mood change switches the music at most once in this time (with "at once"), so '
        "a flickering face does not thrash the playlist. 0: every change at once.",
        step=10.0,
        decimals=0,
        unit="s",
    )
    playlist_folders: list[str] = option(
        [],
        label="Extra playlist folders",
        help="Folders of folders, M3U or PLS files, beside the shipped playlists.",
        widget="custom",
    )
    # The player's state, remembered between runs (set in the window, not in the dialog).
    volume: float = option(0.8, range=(0.0, 1.0))
    muted: bool = option(False)
    repeat: str = option("all", choices=("all", "one", "off"))
    shuffle: bool = option(False)


@dataclass
class KioskSettings:
    enabled: bool = option(
        False,
        label="Start in kiosk mode (full screen, for a room)",
        help="The next time MoodPlayer starts, it opens full screen for a room.",
        applies="at the next start",
    )
    # sha256-based hash of the admin PIN ("" = leaving kiosk mode is disabled).
    pin_hash: str = option(
        "",
        label="Admin PIN",
        help="Needed to leave kiosk mode (4 to 12 digits).",
        widget="custom",
    )
    allowed_controls: list[str] = option(
        ["play_pause", "skip"],
        choices=_KIOSK_CONTROL_CHOICES,
        label="Visitors may use",
        help="The controls the kiosk screen offers to visitors.",
    )
    idle_after_s: float = option(
        30.0,
        range=(1.0, 86400.0),
        label="Idle screen after",
        help="Nobody there for this long: the kiosk shows its idle screen.",
        step=5.0,
        decimals=0,
        unit="s",
    )
    cursor_hide_s: float = option(3.0, range=(0.5, 3600.0))
    max_volume: float = option(
        1.0,
        range=(0.05, 1.0),
        label="Loudest volume",
        help="Visitors cannot turn the music up further; only the admin changes it (behind the "
        "PIN).",
        step=0.05,
        decimals=2,
    )
    fixed_volume: bool = option(
        False,
        label="Keep the volume fixed at the loudest volume",
        help="The kiosk plays at exactly the loudest volume; visitors cannot change it.",
    )
    hide_mood_word: bool = option(
        False,
        label="Hide the mood word",
        help="Show only the music and a neutral colour, not 'The room feels Sad' in large type.",
    )
    session_hours: str = option(
        "",
        label="Session hours",
        help="When the kiosk plays, e.g. 08:00-12:00, 14:00-20:00 (local time). Outside them it "
        "rests: a quiet screen, the camera off, no music. Empty: always.",
    )


@dataclass
class SessionSettings:
    plan_target: str = option(
        "upbeat",
        choices=tuple(DEFAULT_PLAYLISTS),
        label="Session plan: target mood",
        help="With 'Follow a session plan', the music steps toward this mood playlist.",
    )
    plan_minutes: float = option(
        15.0,
        range=(1.0, 240.0),
        label="Session plan: time to the target",
        help="How long the walk from the matching music to the target takes.",
        step=1.0,
        decimals=0,
        unit="min",
    )
    report: bool = option(
        False,
        label="Write a session report",
        help="A CSV of time, mood seen and its confidence, face present, track, volume and "
        "changes by hand, plus a one-page picture, in the data folder's reports/. Never a "
        "picture of a face. Off by default; shown on screen while on.",
    )
    report_interval_s: float = option(10.0, range=(1.0, 3600.0))


@dataclass
class DesktopSettings:
    resume: bool = option(
        True,
        label="Resume where I left off",
        help="At the next start the playlist, the track and the place in it come back, with "
        "Auto or your own choice.",
    )
    close_to_tray: bool = option(
        False,
        label="Closing the window keeps the music playing in the tray",
        help="Close hides the window; the tray icon brings it back or quits. Offered only where "
        "the desktop has a system tray.",
    )
    notify_music: bool = option(
        False,
        label="Tell me when my mood changes the music",
        help="A desktop notification (through the tray icon) when Auto changes the playlist.",
    )


@dataclass
class WindowSettings:
    geometry: str = option("")
    state: str = option("")
    # "Auto" or a playlist name: what was selected when the app closed.
    last_selection: str = option("Auto")
    # Where the music was when the app closed (desktop.resume): playlist, track path, seconds.
    resume_playlist: str = option("")
    resume_track: str = option("")
    resume_position: float = option(0.0, range=(0.0, 1e7))


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    camera: CameraSettings = section(CameraSettings, page="Camera")
    mood: MoodSettings = section(MoodSettings, page="Mood")
    music: MusicSettings = section(MusicSettings, page="Music")
    model: ModelSettings = section(ModelSettings, page="Model")
    kiosk: KioskSettings = section(KioskSettings, page="Kiosk")
    session: SessionSettings = section(SessionSettings, page="Session")
    desktop: DesktopSettings = section(DesktopSettings, page="Desktop")
    window: WindowSettings = section(WindowSettings)
    # Keys of the file that this version does not know, as read: written back on save so that a
    # newer version's settings survive a run of this one. Not a setting itself.
    unknown_keys: dict[str, Any] = field(default_factory=dict, repr=False)

    def mapping(self) -> dict[str, str]:
        """expression -> playlist: the strategy's defaults with the user's edits on top."""
        base = dict(STRATEGY_MAPPINGS.get(self.music.strategy, STRATEGY_MAPPINGS["lift"]))
        base.update({k: v for k, v in self.music.mapping.items() if k in EXPRESSIONS})
        return base


# -- the declarations, read back ----------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str
    kind: type
    page: str


def sections(root: type = Settings) -> tuple[Section, ...]:
    """The sections of ``root`` (``Settings`` or a subclass that adds sections), in order."""
    hints = typing.get_type_hints(root)
    return tuple(
        Section(f.name, hints[f.name], f.metadata[_SECTION])
        for f in dataclasses.fields(root)
        if _SECTION in f.metadata
    )


def options(root: type = Settings) -> dict[str, Option]:
    """Every declared option of ``root``, ``"section.name" -> Option``, in declaration order."""
    return dict(_options(root))


@functools.cache
def _options(root: type) -> dict[str, Option]:
    found: dict[str, Option] = {}
    for sec in sections(root):
        hints = typing.get_type_hints(sec.kind)
        for f in dataclasses.fields(sec.kind):
            declared = f.metadata.get(_OPTION)
            if declared is None:
                raise TypeError(
                    f"{sec.kind.__name__}.{f.name} is not declared with option(): write "
                    f"`{f.name}: <type> = option(<default>, label=..., help=...)` "
                    "(docs/INTERFACES.md, Settings)"
                )
            key = f"{sec.name}.{f.name}"
            found[key] = dataclasses.replace(
                declared, key=key, type=hints[f.name], page=declared.page or sec.page
            )
            _check_declaration(found[key])
    return found


def _check_declaration(opt: Option) -> None:
    _, problem = opt.check(opt.default)
    if problem is not None:
        raise TypeError(f"the default of {opt.key} does not pass its own checks: {problem}")
    if opt.type is float and opt.range is not None:
        shown = tuple(round(end, opt.decimals) for end in opt.range)
        if shown != opt.range:
            raise TypeError(f"{opt.key}: range {opt.range} needs more than {opt.decimals} decimals")


OPTIONS: dict[str, Option] = options(Settings)


def get_value(settings: Settings, key: str) -> Any:
    sec, _, name = key.partition(".")
    return getattr(getattr(settings, sec), name)


def set_value(settings: Settings, key: str, value: Any) -> None:
    sec, _, name = key.partition(".")
    setattr(getattr(settings, sec), name, value)


# -- reading and writing ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    # One sentence per problem, naming the key, what was wrong and the default used.
    problems: tuple[str, ...] = ()
    # Where a file that could not be read at all (or one from a newer version) was kept, if any.
    backup: Path | None = None
    # Keys this version does not know ("room", "music.crossfade"): kept and written back, so not
    # problems (a newer version's keys must not nag at every start); logged for typos.
    unknown: tuple[str, ...] = ()


def _upgrade(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Bring an older file's data to SETTINGS_VERSION. Version 1 is the first."""
    version = data.get("version", SETTINGS_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append(
            f"version: expected a whole number, got {version!r}; using {SETTINGS_VERSION}"
        )
    elif version > SETTINGS_VERSION:
        problems.append(
            f"version: file is from a newer MoodPlayer (version {version}); "
            "reading what this version knows and keeping the rest"
        )
    data["version"] = SETTINGS_VERSION
    return data


def from_dict(data: Mapping[str, Any], root: type[Settings] = Settings) -> LoadResult:
    """Settings from a parsed file: good values used, bad ones named, unknown keys kept."""
    problems: list[str] = []
    unknown_names: list[str] = []
    data = _upgrade(dict(data), problems)
    settings = root()
    declared = options(root)
    by_section = {sec.name: sec for sec in sections(root)}
    unknown: dict[str, Any] = {}
    for name, value in data.items():
        if name == "version":
            continue
        if name not in by_section:
            unknown[name] = copy.deepcopy(value)
            unknown_names.append(name)
            continue
        if not isinstance(value, dict):
            problems.append(f"{name}: expected a table, got {value!r}; using defaults")
            continue
        for key_name, item in value.items():
            opt = declared.get(f"{name}.{key_name}")
            if opt is None:
                unknown.setdefault(name, {})[key_name] = copy.deepcopy(item)
                unknown_names.append(f"{name}.{key_name}")
                continue
            used, problem = opt.check(item)
            set_value(settings, opt.key, copy.deepcopy(used))
            if problem:
                problems.append(problem)
    settings.unknown_keys = unknown
    return LoadResult(settings, tuple(problems), unknown=tuple(unknown_names))


def to_dict(settings: Settings) -> dict[str, Any]:
    """What the file holds: every declared option, and the unknown keys as they were read."""
    out: dict[str, Any] = {"version": settings.version}
    for sec in sections(type(settings)):
        out[sec.name] = dataclasses.asdict(getattr(settings, sec.name))
    for name, value in settings.unknown_keys.items():
        if name in out and isinstance(out[name], dict) and isinstance(value, dict):
            for key, item in value.items():
                out[name].setdefault(key, copy.deepcopy(item))
        elif name not in out:
            out[name] = copy.deepcopy(value)
    return out


def _backup(path: Path) -> Path:
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.bad-{n}")
        if not candidate.exists():
            os.replace(path, candidate)
            return candidate
        n += 1


def remove_stale_temps(folder: Path, now: float | None = None) -> list[Path]:
    """Remove ``.settings-*.tmp`` files older than :data:`STALE_TEMP_S` in ``folder`` (left by a
    save that was killed midway); a younger one may be another process's save in progress."""
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = list(folder.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"))
    except OSError:
        return []
    for tmp in candidates:
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    if removed:
        log.info("settings: removed %d temporary file(s) left by an interrupted save", len(removed))
    return removed


def _keep_newer(path: Path, data: Mapping[str, Any]) -> Path | None:
    """A file from a newer version is copied aside once (``settings.toml.v<N>``) before this
    version rewrites it, so nothing the newer version meant is lost."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version <= SETTINGS_VERSION:
        return None
    copy_path = path.with_name(f"{path.name}.v{version}")
    if not copy_path.exists():
        try:
            shutil.copy2(path, copy_path)
        except OSError as exc:
            log.warning("settings: could not keep a copy of %s: %s", path, exc.strerror)
            return None
    return copy_path


def load(path: Path, root: type[Settings] = Settings) -> LoadResult:
    """Read settings from ``path``; a missing file gives the defaults and no problems."""
    remove_stale_temps(path.parent)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(root())
    except OSError as exc:
        return LoadResult(root(), (f"{path}: cannot be read ({exc.strerror}); using defaults",))
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        backup = _backup(path)
        message = f"{path}: not valid TOML ({exc}); kept it as {backup.name} and used defaults"
        log.warning(message)
        return LoadResult(root(), (message,), backup)
    kept = _keep_newer(path, data)
    result = from_dict(data, root)
    for problem in result.problems:
        log.warning("settings: %s", problem)
    if result.unknown:
        log.warning(
            "settings: %s: not known to this version (a typo, or a newer version's); kept as is",
            ", ".join(result.unknown),
        )
    if kept is not None:
        return dataclasses.replace(result, backup=kept)
    return result


def _writable(settings: Settings) -> dict[str, Any]:
    data = to_dict(settings)
    try:
        tomli_w.dumps(data)
    except (TypeError, ValueError):
        # Only unknown keys can hold what TOML cannot (they came from from_dict, not a file).
        clean = copy.deepcopy(settings)
        clean.unknown_keys = {}
        for name, value in settings.unknown_keys.items():
            try:
                tomli_w.dumps({name: value})
            except (TypeError, ValueError):
                log.warning("settings: %s cannot be written as TOML; dropped", name)
                continue
            clean.unknown_keys[name] = value
        data = to_dict(clean)
    return data


def save(settings: Settings, path: Path) -> None:
    """Write ``settings`` atomically: a temporary file beside ``path``, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = tomli_w.dumps(_writable(settings)).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
