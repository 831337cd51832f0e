"""Cheaper eyes: a grabbing source has only the frames decoded that the analysis (or the preview)
will look at, a webcam is asked for the lowest frame rate that serves the analysis rate, and a
real video file goes through grab/retrieve."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from app.vision.camera import CameraSource, camera_fps_for
from app.vision.capture import CaptureWorker
from app.vision.fakes import FakeGrabbingSource
from app.vision.reading import Box, Reading
from app.vision.sources import GrabbingSource, RateHinted
from app.vision.video import VideoFileSource
from tests.media import make_video


class Timing:
    """Analyses that take a little time and remember when they ran."""

    def __init__(self) -> None:
        self.latencies: list[float] = []

    def analyze(self, frame_bgr: np.ndarray, t: float, frame_index: int = -1) -> Reading:
        time.sleep(0.004)
        self.latencies.append(time.monotonic() - t)
        return Reading(t, Box(0, 0, 2, 2), {"happy": 1.0}, frame_index=frame_index)


def frames(n: int) -> list[np.ndarray]:
    return [np.full((6, 8, 3), i % 256, np.uint8) for i in range(n)]


def run(source: FakeGrabbingSource, rate: float, preview_fps: float = 0.0) -> CaptureWorker:
    worker = CaptureWorker(lambda: source, Timing(), rate=rate, preview_fps=preview_fps)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=10.0)
    worker.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    worker.stop()
    return worker


def test_only_the_frames_analysed_are_decoded_at_the_rate() -> None:
    source = FakeGrabbingSource(frames(60), fps=30.0)  # 2 s of a 30 fps camera
    worker = run(source, rate=10.0)
    stats = worker.stats
    assert source.grabs == 60 and stats.frames == 60  # every frame taken off the device...
    elapsed: float = worker.elapsed  # type: ignore[attr-defined]  # 2 s, more when busy
    assert 14 <= stats.analyses <= 10.0 * elapsed + 2  # ...10 analyses a second, as before...
    assert source.decoded <= stats.analyses + 3  # ...and only those frames decoded
    assert stats.decoded == source.decoded and stats.grabbed_only == 60 - stats.decoded
    assert stats.drops >= stats.grabbed_only
    assert source.hinted_rate == 10.0  # the worker told the source its rate


def test_a_frame_waits_at_most_half_a_frame_for_the_analysis() -> None:
    analyzer = Timing()
    source = FakeGrabbingSource(frames(60), fps=30.0)
    worker = CaptureWorker(lambda: source, analyzer, rate=10.0)
    worker.start()
    worker.join(timeout=10.0)
    worker.stop()
    latencies = sorted(analyzer.latencies)
    p95 = latencies[round(0.95 * (len(latencies) - 1))]
    assert p95 < 0.004 + 0.5 / 30.0 + 0.01  # the analysis itself, half a frame, scheduling


def test_the_preview_keeps_its_own_rate() -> None:
    source = FakeGrabbingSource(frames(60), fps=30.0)
    worker = run(source, rate=5.0, preview_fps=15.0)
    # 5 a second over the run (2 s, longer when a busy machine slows the 30 fps source down),
    # plus the first frame and the last one, taken as soon as the source ends
    elapsed: float = worker.elapsed  # type: ignore[attr-defined]
    assert worker.stats.analyses <= 5.0 * elapsed + 2
    assert source.decoded >= 28  # ~15 a second for the preview, over 2 s


def test_a_webcam_is_asked_for_the_lowest_rate_that_serves_the_analysis() -> None:
    assert camera_fps_for(10.0) == 15.0
    assert camera_fps_for(2.0) == 5.0
    assert camera_fps_for(20.0) == 30.0
    assert camera_fps_for(100.0) == 60.0
    camera = CameraSource(7)
    assert isinstance(camera, RateHinted) and isinstance(camera, GrabbingSource)
    camera.hint_rate(10.0)
    assert camera.wanted_fps == 15.0


def test_a_video_file_grabs_and_retrieves(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", "FNF", fps=10.0)
    source = VideoFileSource(video, loop=False)
    source.open()
    try:
        assert source.grab() and source.grab()
        second = source.retrieve()
        assert second is not None and second.shape == (240, 320, 3)
        assert source.grab()
        try:
            source.grab()
        except Exception as exc:
            assert type(exc).__name__ == "SourceEnded"
        else:
            raise AssertionError("the end of the video was not reported")
    finally:
        source.close()


def test_the_analysis_holds_its_rate_on_a_15_fps_camera_with_and_without_a_preview() -> None:
    # What a webcam asked for 10 analyses/s delivers (camera_fps_for): 15 fps. Without a grid of
    # due times the analysis took every second frame (7.5/s), or with a 15 fps preview nearly
    # every frame (13/s).
    for preview_fps in (0.0, 15.0):
        source = FakeGrabbingSource(frames(45), fps=15.0)  # 3 s
        worker = run(source, rate=10.0, preview_fps=preview_fps)
        elapsed: float = worker.elapsed  # type: ignore[attr-defined]  # 3 s, more when busy
        analyses = worker.stats.analyses
        assert 9.0 * elapsed - 2 <= analyses <= 10.0 * elapsed + 2, (preview_fps, analyses)
        if preview_fps:
            assert source.decoded >= 40  # the preview had its own 15 a second
