"""`moodplayer library scan|show|why|move|pin|exclude|reset`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli, settings
from app.music import moods
from app.music.database import default_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "music"))
from mood_music import bright_fast_major, dark_slow_minor, write_audio

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "My Music"
    write_audio(root / "Band" / "Loud Album" / "01 go.mp3", bright_fast_major(6.0))
    write_audio(root / "Band" / "Quiet Album" / "01 rain.flac", dark_slow_minor(6.0))
    write_audio(root / "Other" / "x.opus", bright_fast_major(6.0))
    (root / "Other" / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 100)
    good = (root / "Band" / "Loud Album" / "01 go.mp3").read_bytes()
    (root / "Other" / "cut.mp3").write_bytes(good[: len(good) // 3] + bytes(range(256)) * 8)
    os.mkfifo(root / "Other" / "pipe.m3u")
    return root


def run(capfd: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    code = cli.main(list(words))
    out, err = capfd.readouterr()
    return code, out, err


def test_scan_json_lines_then_a_summary(music: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capfd, "library", "scan", str(music), "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    tracks, summary = lines[:-1], lines[-1]
    assert len(tracks) == 4  # cut.mp3 plays as far as it goes
    for track in tracks:
        assert Path(track["path"]).is_absolute() and Path(track["path"]).exists()
        assert track["mood"] in moods.MOODS
        assert 0 <= track["energy"] <= 1 and 0 <= track["valence"] <= 1
        assert track["decoded"] is True
        assert "→" in track["why"]
    by_name = {Path(t["path"]).name: t for t in tracks}
    assert by_name["01 go.mp3"]["energy"] > by_name["01 rain.flac"]["energy"]
    assert summary["tracks"] == 4 and summary["analysed"] == 5 and summary["skipped"] == 2
    assert isinstance(summary["seconds"], float)
    reasons = " ".join(s["reason"] for s in summary["skipped_files"])
    assert "FIFO" in reasons
    assert "skipped" in err and "broken.ogg" in err and "pipe.m3u" in err
    assert "Listening to your library" in err
    assert "Traceback" not in err
    assert default_path().exists()
    assert "libmpg123" not in err and "part2_3_length" not in err

    code, out, _ = run(capfd, "library", "scan", str(music), "--json")
    again = json.loads(out.splitlines()[-1])
    assert code == 0 and again["analysed"] == 0 and again["tracks"] == 4
    assert all(json.loads(line)["decoded"] is False for line in out.splitlines()[:-1])


def test_show_why_and_choices(music: Path, capfd: pytest.CaptureFixture[str]) -> None:
    run(capfd, "library", "scan", str(music))
    code, out, _ = run(capfd, "library", "show", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 5
    assert lines[-1]["tracks"] == 4 and lines[-1]["failed"] == 1
    track = str(music / "Band" / "Loud Album" / "01 go.mp3")
    code, out, _ = run(capfd, "library", "move", track, "calm")
    assert code == 0 and "you moved it to calm" in out
    code, out, _ = run(capfd, "library", "show", "--json")
    shown = {json.loads(line).get("path"): json.loads(line) for line in out.splitlines()}
    assert shown[track]["mood"] == "calm" and shown[track]["source"] == "moved"
    code, out, _ = run(capfd, "library", "exclude", track)
    assert "excluded" in out
    code, out, _ = run(capfd, "library", "reset", track)
    code, out, _ = run(capfd, "library", "why", track)
    assert code == 0 and "energy" in out and "→" in out
    code, out, err = run(capfd, "library", "why", "/nowhere/x.mp3")
    assert code == 1 and "not in the library" in err


def test_text_output_and_default_folders(
    music: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = settings.Settings()
    config.music.playlist_folders = [str(music)]
    settings_path = tmp_path / "settings.toml"
    settings.save(config, settings_path)
    code, out, _ = run(capfd, "--settings", str(settings_path), "library", "scan")
    assert code == 0
    assert "x.opus" in out and "01-still-water-at-dawn.ogg" in out  # configured + shipped
    assert out.splitlines()[-1].startswith("22 tracks (23 analysed now, 2 skipped")


def test_a_damaged_database_is_said_and_rebuilt(
    music: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "lib.sqlite"
    db.write_bytes(b"garbage" * 1000)
    code, out, err = run(capfd, "library", "--database", str(db), "scan", str(music), "--json")
    assert code == 0 and "was damaged" in err
    assert json.loads(out.splitlines()[-1])["tracks"] == 4


def test_bad_folders_in_a_real_process_never_traceback(tmp_path: Path) -> None:
    (tmp_path / "x").symlink_to("/")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "app", "library", "scan", "/dev/zero", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["tracks"] == 0 and summary["skipped"] == 2
