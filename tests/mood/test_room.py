"""The room's mood: every face in view votes (by size and confidence), a face seen for under a
second does not, and the count of faces is there for the window and the kiosk.

The room is a real video: three heads of the public-domain astronaut (scikit-image) on a brick
wall, one large and bright, two smaller and darker; the brightness ``FakeModel`` reads the bright
face as happy and the darker ones as sad, so the faces have different expressions.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.mood.face_tracks import FaceTracks
from app.mood.voter import MoodVoter, VoterConfig
from app.vision.analyzer import Analyzer
from app.vision.detector import HaarFaceDetector
from app.vision.fakes import FakeModel, level_for
from app.vision.reading import Box, Reading
from tests.media import room_scene, write_video

BIG_HAPPY = (150, (170, 230), level_for("happy"))
SAD_1 = (112, (400, 170), level_for("sad"))
SAD_2 = (112, (530, 330), level_for("sad"))
FPS = 10.0


def video_readings(path: Path) -> list[Reading]:
    """Every frame of the video through the real Haar detector (tracking, as the app runs it)
    and the brightness model, at the video's own times."""
    analyzer = Analyzer(HaarFaceDetector(track=True), FakeModel())
    capture = cv2.VideoCapture(str(path))
    readings = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            readings.append(analyzer.analyze(frame, len(readings) / FPS, len(readings)))
    finally:
        capture.release()
    return readings


@pytest.fixture(scope="module")
def room_video(tmp_path_factory: pytest.TempPathFactory) -> list[Reading]:
    frame, _boxes = room_scene([BIG_HAPPY, SAD_1, SAD_2])
    path = write_video(tmp_path_factory.mktemp("room") / "room.mp4", [frame] * 40, FPS)
    return video_readings(path)


def vote(readings: list[Reading], room: bool) -> tuple[MoodVoter, list[int]]:
    voter = MoodVoter(VoterConfig(room=room))
    counts = []
    for reading in readings:
        voter.update(reading)
        counts.append(voter.faces_in_view)
    return voter, counts


def test_every_face_in_the_video_is_read(room_video: list[Reading]) -> None:
    tops = [sorted(max(f.probabilities, key=f.probabilities.__getitem__) for f in r.faces)
            for r in room_video]  # fmt: skip
    assert sum(t == ["happy", "sad", "sad"] for t in tops) >= 0.9 * len(tops)
    assert all(r.top(1)[0][0] == "happy" for r in room_video)  # the chosen face: the largest


def test_the_room_votes_what_most_faces_show_one_face_votes_its_own(
    room_video: list[Reading],
) -> None:
    room, counts = vote(room_video, room=True)
    one, one_counts = vote(room_video, room=False)
    assert one.mood == "happy" and one.distribution["sad"] < 0.1
    assert room.mood == "sad"  # two faces, 0.75x the size each, outvote the large happy one
    shares = room.distribution  # FakeModel: 0.7 for its pick; faces weigh 1, 0.75, 0.75
    assert shares["sad"] == pytest.approx((0.7 * 1.5 + 0.05) / 2.5, abs=0.05)
    assert shares["happy"] == pytest.approx((0.7 + 0.05 * 1.5) / 2.5, abs=0.05)
    # faces count once seen for a second: none voted before 1 s, three after
    assert counts[:9] == [0] * 9 and set(counts[12:]) == {3}
    assert set(one_counts) == {1}


def test_a_face_seen_for_under_a_second_does_not_vote(tmp_path: Path) -> None:
    alone, _ = room_scene([BIG_HAPPY])
    crowd, _ = room_scene([BIG_HAPPY, SAD_1, SAD_2])
    frames = [alone] * 15 + [crowd] * 7 + [alone] * 18  # two sad faces pass by for 0.7 s
    readings = video_readings(write_video(tmp_path / "passing.mp4", frames, FPS))
    assert max(len(r.faces) for r in readings[15:22]) == 3  # they were seen...
    voter, counts = vote(readings, room=True)
    assert voter.mood == "happy" and max(counts) == 1  # ...but never voted
    assert max(voter.distribution["sad"], 0.0) < 0.1


def test_face_tracks_follow_a_moving_face_and_start_anew_after_a_gap() -> None:
    tracks = FaceTracks()
    first = tracks.update(0.0, [Box(100, 100, 80, 80), Box(400, 100, 60, 60)])
    moved = tracks.update(0.1, [Box(410, 104, 60, 60), Box(108, 96, 82, 82)])
    assert [t.id for t in moved] == [first[1].id, first[0].id]
    assert moved[1].seen_for(0.1) == pytest.approx(0.1)
    later = tracks.update(2.0, [Box(108, 96, 82, 82)])  # gone for 1.9 s: a new face
    assert later[0].id not in {first[0].id, first[1].id} and later[0].seen_for(2.0) == 0.0


def test_single_mode_counts_one_face_and_nan_faces_never_vote() -> None:
    happy = dict.fromkeys(("angry", "disgust", "fear", "sad", "surprise", "neutral"), 0.05)
    happy["happy"] = 0.7
    nan = dict.fromkeys(happy, float("nan"))
    voter = MoodVoter(VoterConfig(room=True))
    for i in range(20):
        voter.update(Reading(i / 10, Box(0, 0, 50, 50), happy))
    assert voter.faces_in_view == 1
    reading = Reading(2.0, Box(0, 0, 50, 50), happy)
    from app.vision.reading import Face

    voter.update(
        Reading(
            2.0,
            reading.box,
            happy,
            faces=(Face(Box(0, 0, 50, 50), happy), Face(Box(200, 0, 50, 50), nan)),
        )
    )
    assert all(np.isfinite(v) for v in voter.distribution.values())
