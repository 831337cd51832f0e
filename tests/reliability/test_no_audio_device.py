"""No sound card at all: the window still runs, says so, and recovers when a device appears.

The real app runs in a child process with ``SDL_AUDIODRIVER=nonexistent`` (SDL cannot open any
audio device). After 2.5 s the child records what the window shows, then "plugs in" a device by
switching the driver to ``dummy``; the player's device retry (shortened to 1 s in the child) must
then start the music without a hand on it.
"""

from __future__ import annotations

from pathlib import Path

from runner import run_child


def test_no_audio_device_window_runs_says_so_and_recovers(child_home: Path) -> None:
    run = run_child("no-device", child_home, ["--no-camera"], audio_driver="nonexistent")
    assert run.code == 0, run.stderr[-3000:]

    before = run.event("no device")
    assert before["window"] is True  # the window is up and running
    assert before["player_state"] == "error"
    assert "audio device" in (before["player_error"] or "")
    # the window says so, in words, in its status bar
    assert "audio device" in before["status_message"].lower()
    assert before["playlist"]  # the playlist is chosen and waits for the device

    # still said after the first notice has expired, for as long as there is no device
    later = run.event("no device, later")
    assert later["player_state"] == "error"
    assert "audio device" in later["status_message"].lower()

    after = run.event("device back")
    assert after["player_state"] == "playing"
    assert "audio device" not in after["status_message"].lower()  # no stale error left up
    assert after["busy"] is True  # the mixer is really playing
    assert after["playlist"] == before["playlist"]
    assert "Traceback" not in run.stderr
    recovered = after["at"] - run.report["notes"]["plugged_in_at"]
    print(
        f"\n[reliability] no audio device: window up, status {before['status_message']!r}; "
        f"device plugged in -> music within {recovered:.1f} s (retry every 1 s in this test, "
        f"5 s in the app); exit code {run.code}"
    )
