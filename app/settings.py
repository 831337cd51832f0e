"""Every setting, declared once, typed, with its default; loaded from and saved to TOML.

A bad value never stops the app: it is reported naming the key, what was wrong and the default used.
A file that cannot be parsed at all is kept as ``settings.toml.bad-<n>`` and defaults are used.
Writes are atomic (temporary file, then ``os.replace``). The ``version`` key allows upgrades.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1

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

KIOSK_CONTROLS: tuple[str, ...] = ("play_pause", "skip", "volume", "playlist")


@dataclass
class CameraSettings:
    enabled: bool = True
    # A camera index ("0"), a video file or a folder of images.
    source: str = "0"
    # Analyses per second.
    analysis_rate: float = 10.0
    preview_visible: bool = True
    loop_video: bool = True


@dataclass
class ModelSettings:
    # "bundled" (mini-Xception ONNX), "deepface" (if installed with its weights) or "onnx" (path).
    backend: str = "bundled"
    onnx_path: str = ""
    detector: str = "haar"
    # Average each face with its mirror image (slower, often a little more accurate).
    tta: bool = False


@dataclass
class MoodSettings:
    # Seconds of readings that vote. 2 s: a grimace of up to ~1 s can never lead the window, and a
    # real change reaches the voted mood in about 2 s at 10 readings/s (3 s took ~2.8 s).
    window_s: float = 2.0
    # How far a new mood must lead the current one (share of the window's weight) to take over.
    margin: float = 0.12
    # How long the new mood must keep that lead before it is adopted.
    dwell_s: float = 0.6
    # A face seen for less than this share of the window does not vote a mood.
    min_face_share: float = 0.3
    # No face for this long: the "no face" state (the kiosk shows its idle screen).
    no_face_after_s: float = 5.0


@dataclass
class MusicSettings:
    strategy: str = "lift"
    # The user's edits on top of the strategy's mapping: expression -> playlist name.
    mapping: dict[str, str] = field(default_factory=dict)
    # "now" (fade to the new playlist at once) or "track_end" (when the current track ends).
    switch: str = "now"
    fade_s: float = 1.5
    volume: float = 0.8
    muted: bool = False
    repeat: str = "all"
    shuffle: bool = False
    # Extra playlist folders the user added (each folder of folders / M3U / PLS files).
    playlist_folders: list[str] = field(default_factory=list)


@dataclass
class KioskSettings:
    enabled: bool = False
    # sha256-based hash of the admin PIN ("" = leaving kiosk mode is disabled).
    pin_hash: str = ""
    allowed_controls: list[str] = field(default_factory=lambda: ["play_pause", "skip"])
    idle_after_s: float = 30.0
    cursor_hide_s: float = 3.0


@dataclass
class WindowSettings:
    geometry: str = ""
    state: str = ""
    # "Auto" or a playlist name: what was selected when the app closed.
    last_selection: str = "Auto"


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    camera: CameraSettings = field(default_factory=CameraSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    mood: MoodSettings = field(default_factory=MoodSettings)
    music: MusicSettings = field(default_factory=MusicSettings)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    window: WindowSettings = field(default_factory=WindowSettings)

    def mapping(self) -> dict[str, str]:
        """expression -> playlist: the strategy's defaults with the user's edits on top."""
        base = dict(STRATEGY_MAPPINGS.get(self.music.strategy, STRATEGY_MAPPINGS["lift"]))
        base.update({k: v for k, v in self.music.mapping.items() if k in EXPRESSIONS})
        return base


# Allowed values for string settings with a fixed set of choices.
CHOICES: dict[str, tuple[str, ...]] = {
    "model.backend": ("bundled", "deepface", "onnx"),
    "model.detector": ("haar", "yunet"),
    "music.strategy": tuple(STRATEGY_MAPPINGS),
    "music.switch": ("now", "track_end"),
    "music.repeat": ("all", "one", "off"),
}

# Inclusive numeric ranges.
RANGES: dict[str, tuple[float, float]] = {
    "camera.analysis_rate": (0.5, 60.0),
    "mood.window_s": (0.5, 60.0),
    "mood.margin": (0.0, 1.0),
    "mood.dwell_s": (0.0, 60.0),
    "mood.min_face_share": (0.0, 1.0),
    "mood.no_face_after_s": (0.5, 3600.0),
    "music.fade_s": (0.0, 30.0),
    "music.volume": (0.0, 1.0),
    "kiosk.idle_after_s": (1.0, 86400.0),
    "kiosk.cursor_hide_s": (0.5, 3600.0),
}


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    # One sentence per problem, naming the key, what was wrong and the default used.
    problems: tuple[str, ...] = ()
    # Where a file that could not be read at all was kept, if any.
    backup: Path | None = None


def _check_value(key: str, value: Any, default: Any, hint: Any) -> tuple[Any, str | None]:
    """Return (value to use, problem or None) for one leaf setting."""
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value, None
        return default, f"{key}: expected true or false, got {value!r}; using {default!r}"
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return default, f"{key}: expected a whole number, got {value!r}; using {default!r}"
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            low, high = RANGES.get(key, (-float("inf"), float("inf")))
            if number != number or not low <= number <= high:
                return default, (
                    f"{key}: {value!r} is outside {low:g}..{high:g}; using {default!r}"
                )
            return number, None
        return default, f"{key}: expected a number, got {value!r}; using {default!r}"
    if hint is str:
        if not isinstance(value, str):
            return default, f"{key}: expected text, got {value!r}; using {default!r}"
        choices = CHOICES.get(key)
        if choices is not None and value not in choices:
            return default, (
                f"{key}: {value!r} is not one of {', '.join(choices)}; using {default!r}"
            )
        return value, None
    if origin is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if key == "kiosk.allowed_controls":
                bad = [v for v in value if v not in KIOSK_CONTROLS]
                if bad:
                    return default, (
                        f"{key}: unknown controls {bad!r} (known: {', '.join(KIOSK_CONTROLS)}); "
                        f"using {default!r}"
                    )
            return list(value), None
        return default, f"{key}: expected a list of text, got {value!r}; using {default!r}"
    if origin is dict:
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            unknown = [k for k in value if k not in EXPRESSIONS]
            if unknown:
                return default, (
                    f"{key}: unknown expressions {unknown!r} (known: {', '.join(EXPRESSIONS)}); "
                    f"using {default!r}"
                )
            return dict(value), None
        return default, f"{key}: expected a table of text, got {value!r}; using {default!r}"
    raise TypeError(f"unsupported settings type for {key}: {hint!r}")  # pragma: no cover


def _fill(obj: Any, data: dict[str, Any], prefix: str, problems: list[str]) -> None:
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            if isinstance(value, dict):
                _fill(getattr(obj, f.name), value, key + ".", problems)
            else:
                problems.append(f"{key}: expected a table, got {value!r}; using defaults")
            continue
        if isinstance(hint, types.UnionType):  # pragma: no cover - no unions declared yet
            raise TypeError(key)
        used, problem = _check_value(key, value, getattr(obj, f.name), hint)
        setattr(obj, f.name, used)
        if problem:
            problems.append(problem)
    known = {f.name for f in dataclasses.fields(obj)}
    for name in data:
        if name not in known:
            problems.append(f"{prefix}{name}: unknown setting, ignored")


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
            "reading what this version knows"
        )
    data["version"] = SETTINGS_VERSION
    return data


def from_dict(data: dict[str, Any]) -> LoadResult:
    problems: list[str] = []
    settings = Settings()
    _fill(settings, _upgrade(dict(data), problems), "", problems)
    return LoadResult(settings, tuple(problems))


def to_dict(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def _backup(path: Path) -> Path:
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.bad-{n}")
        if not candidate.exists():
            os.replace(path, candidate)
            return candidate
        n += 1


def load(path: Path) -> LoadResult:
    """Read settings from ``path``; a missing file gives the defaults and no problems."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(Settings())
    except OSError as exc:
        return LoadResult(Settings(), (f"{path}: cannot be read ({exc.strerror}); using defaults",))
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        backup = _backup(path)
        message = f"{path}: not valid TOML ({exc}); kept it as {backup.name} and used defaults"
        log.warning(message)
        return LoadResult(Settings(), (message,), backup)
    result = from_dict(data)
    for problem in result.problems:
        log.warning("settings: %s", problem)
    return result


def save(settings: Settings, path: Path) -> None:
    """Write ``settings`` atomically: a temporary file beside ``path``, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = tomli_w.dumps(to_dict(settings)).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
