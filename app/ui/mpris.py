"""MPRIS2 on the session bus, so playerctl, desktop media controls and media keys drive MoodPlayer.

``Mpris(player, controller, on_raise=..., on_quit=...)`` exports ``/org/mpris/MediaPlayer2`` as
``org.mpris.MediaPlayer2.moodplayer`` (QtDBus, which PySide6-Essentials ships). ``register()``
returns False, with one log line, when there is no session bus (or the name is taken); the app then
runs without MPRIS. ``refresh()`` (on every session tick) sends ``PropertiesChanged`` for what
changed and ``Seeked`` when the position jumped. The voted mood and Auto/manual travel as metadata
(``xesam:comment`` for people, ``moodplayer:mood`` and ``moodplayer:mode`` for scripts).

Everything runs on the GUI thread: QtDBus delivers calls through the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import ClassInfo, Property, QMetaType, QObject, Signal, Slot
from PySide6.QtDBus import (
    QDBusAbstractAdaptor,
    QDBusArgument,
    QDBusConnection,
    QDBusMessage,
    QDBusObjectPath,
)

from app import APP_NAME
from app.controller import Controller, ControlMode
from app.music.player import Player, PlayerState, RepeatMode

log = logging.getLogger(__name__)

OBJECT_PATH = "/org/mpris/MediaPlayer2"
SERVICE = "org.mpris.MediaPlayer2.moodplayer"
ROOT_IFACE = "org.mpris.MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
# A position that moved by more than this beyond the time that passed is a seek (Seeked signal).
SEEK_TOLERANCE_US = 1_500_000

_STATUS = {
    PlayerState.PLAYING: "Playing",
    PlayerState.PAUSED: "Paused",
    PlayerState.STOPPED: "Stopped",
    PlayerState.ERROR: "Stopped",
}
_LOOP = {RepeatMode.OFF: "None", RepeatMode.ONE: "Track", RepeatMode.ALL: "Playlist"}
_LOOP_BACK = {v: k for k, v in _LOOP.items()}
MIME_TYPES = ("audio/mpeg", "audio/ogg", "audio/flac", "audio/x-wav", "audio/mp4", "audio/opus")


def _dbus_interface(name: str) -> Any:
    """``ClassInfo`` naming the D-Bus interface of an adaptor (the stubs lack the dict form)."""
    info: Any = ClassInfo
    return info({"D-Bus Interface": name})


def _no_strings() -> QDBusArgument:
    """An empty ``as`` (a plain ``[]`` would go out as ``av``, which GLib clients ignore)."""
    empty = QDBusArgument()
    empty.beginArray(QMetaType(QMetaType.Type.QString))
    empty.endArray()
    return empty


def _us(seconds: float) -> int:
    return round(max(0.0, seconds) * 1_000_000)


class Mpris(QObject):
    """The MPRIS bridge: reads the player and controller, forwards the bus's commands to them."""

    def __init__(
        self,
        player: Player,
        controller: Controller,
        *,
        on_raise: Callable[[], None],
        on_quit: Callable[[], None],
        art_url: str = "",
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self.player = player
        self.controller = controller
        self.on_raise = on_raise
        self.on_quit = on_quit
        self.art_url = art_url
        self._bus: QDBusConnection | None = None
        self._root = _RootAdaptor(self)
        self._adaptor = _PlayerAdaptor(self)
        self._sent: dict[str, Any] = {}
        self._track_serial = 0
        self._track_key: tuple[object, ...] | None = None
        self._last_position_us = 0
        self._last_clock = 0.0

    # --- bus ---------------------------------------------------------------------------------
    def register(self, bus: QDBusConnection | None = None) -> bool:
        bus = bus if bus is not None else QDBusConnection.sessionBus()
        if not bus.isConnected():
            log.info("MPRIS: no D-Bus session bus; media keys and playerctl are not available")
            return False
        if not bus.registerObject(OBJECT_PATH, self):
            log.info("MPRIS: could not export %s; running without MPRIS", OBJECT_PATH)
            return False
        if not bus.registerService(SERVICE):
            bus.unregisterObject(OBJECT_PATH)
            log.info("MPRIS: the name %s is taken; running without MPRIS", SERVICE)
            return False
        self._bus = bus
        self._sent = self._player_properties()
        self._remember_position()
        log.info("MPRIS: registered as %s", SERVICE)
        return True

    @property
    def registered(self) -> bool:
        return self._bus is not None

    def unregister(self) -> None:
        if self._bus is None:
            return
        self._bus.unregisterService(SERVICE)
        self._bus.unregisterObject(OBJECT_PATH)
        self._bus = None

    def refresh(self) -> None:
        """Tell the bus what changed since the last call (run on every session tick)."""
        if self._bus is None:
            return
        now = self._player_properties()
        changed = {k: v for k, v in now.items() if self._sent.get(k) != v}
        self._sent = now
        if changed:
            message = QDBusMessage.createSignal(
                OBJECT_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged"
            )
            message.setArguments([PLAYER_IFACE, changed, _no_strings()])
            self._bus.send(message)
        self._check_seek()

    # --- what the bus reads ------------------------------------------------------------------
    def _player_properties(self) -> dict[str, Any]:
        player = self.player
        return {
            "PlaybackStatus": self.playback_status(),
            "LoopStatus": _LOOP[player.repeat],
            "Shuffle": bool(player.shuffle),
            "Volume": float(0.0 if player.muted else player.volume),
            "Metadata": self.metadata(),
            "CanGoNext": player.current is not None,
            "CanGoPrevious": player.current is not None,
            "CanPlay": player.playlist is not None and len(player.playlist) > 0,
            "CanPause": player.current is not None,
            "CanSeek": player.current is not None and player.duration > 0,
        }

    def playback_status(self) -> str:
        return _STATUS[self.player.state]

    def position_us(self) -> int:
        return _us(self.player.position)

    def track_id(self) -> str:
        player = self.player
        track = player.current
        if track is None:
            return NO_TRACK
        key = (str(track.path), player.playlist.name if player.playlist else "", player.index)
        if key != self._track_key:
            self._track_key = key
            self._track_serial += 1
        return f"/org/moodplayer/track/{self._track_serial}"

    def metadata(self) -> dict[str, Any]:
        track = self.player.current
        mood = self.controller.mood or ""
        mode = "Auto" if self.controller.mode is ControlMode.AUTO else "Manual"
        data: dict[str, Any] = {
            "mpris:trackid": QDBusObjectPath(self.track_id()),
            "moodplayer:mood": mood,
            "moodplayer:mode": mode,
            "moodplayer:playlist": self.controller.playlist_name or "",
            "xesam:comment": [f"Mood: {mood or 'unknown'} · {mode}"],
        }
        if track is None:
            return data
        data["xesam:title"] = track.title
        data["xesam:url"] = Path(track.path).resolve().as_uri()
        if track.artist:
            data["xesam:artist"] = [track.artist]
        if track.album:
            data["xesam:album"] = track.album
        length = self.player.duration or track.duration
        if length > 0:
            data["mpris:length"] = _us(length)
        if self.art_url:
            data["mpris:artUrl"] = self.art_url
        return data

    # --- seeks ---------------------------------------------------------------------------------
    def _remember_position(self) -> None:
        self._last_position_us = self.position_us()
        self._last_clock = self._clock()

    def _check_seek(self) -> None:
        before, then = self._last_position_us, self._last_clock
        self._remember_position()
        playing = self.player.state is PlayerState.PLAYING
        expected = before + (_us(self._last_clock - then) if playing else 0)
        if abs(self._last_position_us - expected) > SEEK_TOLERANCE_US:
            self._adaptor.Seeked.emit(self._last_position_us)

    def seeked_now(self) -> None:
        """A seek asked for over the bus: say so at once (clients move their slider)."""
        self._remember_position()
        if self._bus is not None:
            self._adaptor.Seeked.emit(self._last_position_us)


@_dbus_interface(ROOT_IFACE)
class _RootAdaptor(QDBusAbstractAdaptor):
    def __init__(self, bridge: Mpris) -> None:
        super().__init__(bridge)
        self._bridge = bridge

    Identity = Property(str, lambda self: APP_NAME)
    DesktopEntry = Property(str, lambda self: "moodplayer")
    CanQuit = Property(bool, lambda self: True)
    CanRaise = Property(bool, lambda self: True)
    HasTrackList = Property(bool, lambda self: False)
    SupportedUriSchemes = Property("QStringList", lambda self: ["file"])  # type: ignore[arg-type]
    SupportedMimeTypes = Property("QStringList", lambda self: list(MIME_TYPES))  # type: ignore[arg-type]

    @Slot()
    def Raise(self) -> None:
        self._bridge.on_raise()

    @Slot()
    def Quit(self) -> None:
        self._bridge.on_quit()


@_dbus_interface(PLAYER_IFACE)
class _PlayerAdaptor(QDBusAbstractAdaptor):
    Seeked = Signal("qlonglong")  # type: ignore[arg-type]  # a D-Bus int64

    def __init__(self, bridge: Mpris) -> None:
        super().__init__(bridge)
        self._bridge = bridge
        self.setAutoRelaySignals(True)

    def _player(self) -> Player:
        return self._bridge.player

    # properties
    def _status(self) -> str:
        return self._bridge.playback_status()

    def _loop(self) -> str:
        return _LOOP[self._player().repeat]

    def _set_loop(self, value: str) -> None:
        if value in _LOOP_BACK:
            self._player().repeat = _LOOP_BACK[value]
            self._bridge.refresh()

    def _shuffle(self) -> bool:
        return bool(self._player().shuffle)

    def _set_shuffle(self, value: bool) -> None:
        self._player().shuffle = bool(value)
        self._bridge.refresh()

    def _volume(self) -> float:
        player = self._player()
        return float(0.0 if player.muted else player.volume)

    def _set_volume(self, value: float) -> None:
        player = self._player()
        player.set_volume(min(1.0, max(0.0, float(value))))
        if player.muted and value > 0:
            player.set_muted(False)
        self._bridge.refresh()

    def _metadata(self) -> dict[str, Any]:
        return self._bridge.metadata()

    def _position(self) -> int:
        return self._bridge.position_us()

    def _props(self, name: str) -> Any:
        return self._bridge._player_properties()[name]

    PlaybackStatus = Property(str, _status)
    LoopStatus = Property(str, _loop, _set_loop)
    Rate = Property(float, lambda self: 1.0, lambda self, value: None)
    Shuffle = Property(bool, _shuffle, _set_shuffle)
    Metadata = Property("QVariantMap", _metadata)  # type: ignore[arg-type]
    Volume = Property(float, _volume, _set_volume)
    Position = Property("qlonglong", _position)  # type: ignore[arg-type]
    MinimumRate = Property(float, lambda self: 1.0)
    MaximumRate = Property(float, lambda self: 1.0)
    CanGoNext = Property(bool, lambda self: self._props("CanGoNext"))
    CanGoPrevious = Property(bool, lambda self: self._props("CanGoPrevious"))
    CanPlay = Property(bool, lambda self: self._props("CanPlay"))
    CanPause = Property(bool, lambda self: self._props("CanPause"))
    CanSeek = Property(bool, lambda self: self._props("CanSeek"))
    CanControl = Property(bool, lambda self: True)

    # methods
    @Slot()
    def Next(self) -> None:
        self._player().next()
        self._bridge.refresh()

    @Slot()
    def Previous(self) -> None:
        self._player().previous()
        self._bridge.refresh()

    @Slot()
    def Pause(self) -> None:
        if self._player().state is PlayerState.PLAYING:
            self._player().pause()
        self._bridge.refresh()

    @Slot()
    def PlayPause(self) -> None:
        self._player().toggle()
        self._bridge.refresh()

    @Slot()
    def Stop(self) -> None:
        self._player().stop()
        self._bridge.refresh()

    @Slot()
    def Play(self) -> None:
        if self._player().state is not PlayerState.PLAYING:
            self._player().play()
        self._bridge.refresh()

    @Slot("qlonglong")
    def Seek(self, offset_us: int) -> None:
        player = self._player()
        if player.current is None:
            return
        target = player.position + offset_us / 1_000_000
        if player.duration > 0 and target >= player.duration:
            player.next()
        else:
            player.seek(max(0.0, target))
        self._bridge.seeked_now()
        self._bridge.refresh()

    @Slot(QDBusObjectPath, "qlonglong")
    def SetPosition(self, track_id: QDBusObjectPath, position_us: int) -> None:
        player = self._player()
        if track_id.path() != self._bridge.track_id() or position_us < 0:
            return
        if player.duration > 0 and position_us / 1_000_000 > player.duration:
            return
        player.seek(position_us / 1_000_000)
        self._bridge.seeked_now()
        self._bridge.refresh()

    @Slot(str)
    def OpenUri(self, uri: str) -> None:
        log.info("MPRIS: OpenUri is not supported (%s)", uri)
