"""Closing the window always ends the app cleanly, quickly, with the settings saved.

The real app runs in a child process (``app_child.py``) and its window is closed, as by the
listener, at three awkward moments: during playback, during a 30 s fade between playlists, and
while the camera is reconnecting (the watched video file was deleted). Each time the process must
exit with status 0, leave no thread behind, and have written the settings (the volume the
listener set just before closing, the playlist chosen). The time from the close to the process
being gone is printed (not asserted: the subprocess timeout is only a hang guard).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runner import ChildRun, run_child

from app import settings as settings_mod


def _check_clean_exit(run: ChildRun, label: str) -> settings_mod.Settings:
    assert run.code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.report["notes"]["threads_left"] == [] or all(
        name.startswith(("Dummy", "QDBus")) for name in run.report["notes"]["threads_left"]
    ), run.report["notes"]["threads_left"]
    assert run.settings is not None and run.settings.is_file(), "settings were not saved"
    loaded = settings_mod.load(run.settings)
    assert loaded.problems == ()
    assert loaded.settings.music.volume == pytest.approx(0.37)  # set just before the close
    assert loaded.settings.window.geometry  # the window's place was remembered
    assert "session ended" in run.log_text
    notes = run.report["notes"]
    returned = notes["main_returned_at"] - notes["close_requested_at"]
    print(
        f"\n[reliability] shutdown {label}: close -> process gone in {run.exit_seconds:.2f} s "
        f"(the app's main() returned after {returned:.2f} s), exit 0, settings saved"
    )
    return loaded.settings


def test_close_during_playback(child_home: Path) -> None:
    run = run_child("shutdown-playback", child_home, ["--no-camera"])
    before = run.event("before close")
    assert before["player_state"] == "playing" and before["busy"]
    _check_clean_exit(run, "during playback")


def test_close_during_a_fade(child_home: Path) -> None:
    run = run_child("shutdown-fade", child_home, ["--no-camera"])
    target = run.report["notes"]["fading_to"]
    assert run.event("fading")["playlist"] == target
    saved = _check_clean_exit(run, "during a 30 s fade")
    assert saved.window.last_selection == target
    # It did not sit out the fade (SDL_mixer blocks a load until a fade-out ends; the output
    # halts first). Half the fade is a generous bound, not a timing target.
    assert run.exit_seconds < 15.0


def test_a_command_during_a_fade_does_not_freeze_the_player(tmp_path: Path) -> None:
    """In-process, the real mixer: pressing next during a 60 s fade returns at once."""
    import threading

    from audio_files import write_tone

    from app.music.audio import PygameOutput
    from app.music.library import Library
    from app.music.player import Player, PlayerState

    for name, freq in (("calm", 330), ("upbeat", 660)):
        for i in range(2):
            write_tone(tmp_path / name / f"{i}.ogg", freq + 20 * i, 30.0)
    playlists = Library([tmp_path]).scan()
    output = PygameOutput()
    player = Player(output)
    try:
        player.set_playlist(playlists["calm"])
        player.set_playlist(playlists["upbeat"], fade=60.0)  # the old track fades for 60 s
        done = threading.Event()

        def press_next() -> None:
            player.next()
            done.set()

        threading.Thread(target=press_next, daemon=True).start()
        # a hang guard far below the fade: before the fix, next() waited the whole 60 s out
        assert done.wait(30.0), "next() blocked until the fade ended"
        assert player.state is PlayerState.PLAYING and output.busy()
        assert player.playlist is playlists["upbeat"] and player.index == 1
    finally:
        player.stop()
        output.close()


def test_close_during_camera_reconnect(child_home: Path, tmp_path: Path) -> None:
    from media import make_video

    video = make_video(tmp_path / "face.mp4", pattern="F" * 10, fps=10.0)
    run = run_child(
        "shutdown-reconnect",
        child_home,
        ["--source", str(video)],
        MOODPLAYER_CHILD_VANISH=str(video),
    )
    before = run.event("before close")
    assert before["camera_state"] == "reconnecting", before
    assert before["reconnects"] >= 1
    _check_clean_exit(run, "during camera reconnect")


@pytest.mark.parametrize("name", ["TERM", "HUP", "INT"])
def test_a_signal_ends_the_app_cleanly_with_everything_saved(child_home: Path, name: str) -> None:
    run = run_child("signal", child_home, ["--no-camera"], MOODPLAYER_CHILD_SIGNAL=name)
    _check_clean_exit(run, f"on SIG{name}")
    assert f"SIG{name} received" in run.log_text
