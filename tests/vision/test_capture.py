"""Frame sources and the capture worker: newest frame wins, pacing, reconnect, clean stop."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app import paths
from app.errors import UserError
from app.mood.voter import MoodVoter
from app.vision import camera, capture
from app.vision.camera import CameraSource
from app.vision.capture import CaptureState, CaptureWorker, backoff_delays
from app.vision.fakes import FakeSource
from app.vision.image_folder import ImageFolderSource
from app.vision.reading import Box, Reading
from app.vision.source_registry import open_source
from app.vision.sources import SourceEnded, SourceError
from app.vision.video import VideoFileSource
from tests.media import scene_video

S = CaptureState
FACE = Box(1, 1, 2, 2)


def frame(value: int = 0) -> np.ndarray:
    return np.full((6, 8, 3), value % 256, dtype=np.uint8)


class Recorder:
    """Callbacks that remember what the worker published."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.states: list[CaptureState] = []
        self.got_reading = threading.Event()

    def on_reading(self, reading: Reading) -> None:
        self.readings.append(reading)
        self.got_reading.set()

    def on_state(self, state: CaptureState) -> None:
        self.states.append(state)


class QuickAnalyzer:
    def __init__(self) -> None:
        self.indices: list[int] = []
        self.frames: list[np.ndarray] = []

    def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
        self.indices.append(frame_index)
        self.frames.append(frame_bgr)
        return Reading(time, FACE, {"happy": 1.0}, frame_index=frame_index)


class FakeClock:
    """Injected time: sleeping advances it at once; each look moves it on by a hair."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += 1e-4
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
        time.sleep(0.0005)  # let the other thread run; the fake time already moved on


def finish(worker: CaptureWorker) -> None:
    """Wait for a finite source to end, then make sure the worker is down."""
    worker.join(timeout=10.0)
    worker.stop()
    assert not worker.is_alive()


# -- sources ---------------------------------------------------------------------------------------


def test_fake_source_plays_its_script() -> None:
    boom = OSError("unplugged")
    source = FakeSource([frame(1), None, boom, frame(2)])
    source.open()
    first = source.read()
    assert first is not None and first[0, 0, 0] == 1
    assert source.read() is None
    with pytest.raises(OSError):
        source.read()
    second = source.read()
    assert second is not None and second[0, 0, 0] == 2
    with pytest.raises(SourceEnded):
        source.read()
    looping = FakeSource([frame(3)], loop=True)
    assert all(looping.read() is not None for _ in range(5))
    with pytest.raises(SourceError):
        FakeSource([], open_error=SourceError("gone")).open()


def test_open_source_knows_cameras_videos_and_folders(tmp_path: Path) -> None:
    assert isinstance(open_source("0"), CameraSource)
    assert isinstance(open_source(" 3 "), CameraSource)
    assert isinstance(open_source(str(tmp_path)), ImageFolderSource)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    assert isinstance(open_source(str(clip)), VideoFileSource)
    with pytest.raises(UserError, match="No camera, video or folder"):
        open_source(str(tmp_path / "missing.mp4"))


def test_missing_camera_says_which_exist() -> None:
    message = camera.missing_camera_message(1, [0])
    assert message == "No camera at index 1 (found: 0). Choose one in Settings → Camera."
    assert "found: none" in camera.missing_camera_message(2, [])
    # No webcam on this machine: index 9 cannot open, and the message lists what was found.
    with pytest.raises(SourceError, match=r"No camera at index 9 \(found: .*\)\. Choose one"):
        CameraSource(9).open()
    assert 9 not in camera.list_cameras(max_index=9)


def test_a_camera_that_is_there_but_busy_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the device node for camera 0 exists (as when another app holds the camera).
    monkeypatch.setattr(camera, "_candidate_indices", lambda max_index: [0])
    with pytest.raises(SourceError, match="Camera 0 is there but cannot be opened"):
        CameraSource(0).open()


def test_worker_fails_clearly_when_the_camera_is_missing() -> None:
    rec = Recorder()
    worker = CaptureWorker(
        lambda: open_source("9"), QuickAnalyzer(), on_state=rec.on_state, on_reading=rec.on_reading
    )
    worker.start()
    worker.join(timeout=10.0)
    assert worker.state is S.FAILED
    assert worker.message.startswith("No camera at index 9 (found:")
    assert rec.states == [S.FAILED]
    assert worker.states == [S.STARTING, S.FAILED]
    worker.stop()
    assert worker.state is S.FAILED  # stopping does not hide the failure
    assert rec.readings == []


def test_image_folder_in_name_order_skipping_unreadable_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import cv2

    for name, value in (("b", 20), ("a", 10), ("c", 30)):
        assert cv2.imwrite(str(tmp_path / f"{name}.png"), frame(value))
    (tmp_path / "bb.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(tmp_path, loop=False, fps=4.0)
    source.open()
    assert source.fps == 4.0
    with caplog.at_level(logging.WARNING, logger="app.vision.image_folder"):
        values = []
        with pytest.raises(SourceEnded):
            while True:
                image = source.read()
                assert image is not None
                values.append(int(image[0, 0, 0]))
    assert values == [10, 20, 30]
    assert "bb.jpg" in caplog.text
    looping = ImageFolderSource(tmp_path, loop=True)
    looping.open()
    assert [int(looping.read()[0, 0, 0]) for _ in range(4)] == [10, 20, 30, 10]  # type: ignore[index]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="No images"):
        ImageFolderSource(empty).open()


def test_video_file_plays_every_frame_then_ends_or_loops(tmp_path: Path) -> None:
    from tests.media import make_video

    clip = make_video(tmp_path / "clip.mp4", "FFNNF", fps=12.0)
    source = VideoFileSource(clip, loop=False)
    source.open()
    assert source.fps == pytest.approx(12.0)
    count = 0
    with pytest.raises(SourceEnded):
        while source.read() is not None:
            count += 1
    assert count == 5
    source.close()
    looping = VideoFileSource(clip, loop=True)
    looping.open()
    assert all(looping.read() is not None for _ in range(12))
    looping.close()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(SourceError, match="Cannot play"):
        VideoFileSource(bad).open()


# -- the worker ---------------------------------------------------------------------------------


class SlowAnalyzer:
    """Takes its time: each analysis lasts until the source has read ``lag`` more frames."""

    def __init__(self, source: FakeSource, lag: int = 5) -> None:
        self.source = source
        self.lag = lag
        self.calls: list[tuple[int, int, int]] = []  # (frame_index, reads at start, at end)

    def analyze(self, frame_bgr: np.ndarray, time_: float, frame_index: int = -1) -> Reading:
        start = self.source.reads
        for _ in range(2000):  # safety net: at most ~2 s
            if self.source.reads >= min(frame_index + 1 + self.lag, len(self.source.script)):
                break
            time.sleep(0.001)
        self.calls.append((frame_index, start, self.source.reads))
        return Reading(time_, FACE, {"sad": 1.0}, frame_index=frame_index)


def test_slow_analyzer_means_fewer_analyses_never_a_backlog() -> None:
    source = FakeSource([frame(i) for i in range(300)], fps=500.0)
    slow = SlowAnalyzer(source, lag=5)
    rec = Recorder()
    worker = CaptureWorker(lambda: source, slow, rate=1000.0, on_reading=rec.on_reading)
    worker.start()
    finish(worker)
    stats = worker.stats
    indices = [c[0] for c in slow.calls]
    assert stats.frames == 300
    assert 2 <= stats.analyses == len(indices) < stats.frames
    # Frames are skipped, never queued: each analysis takes a frame at least `lag` newer ...
    # (but the very last frame of this finite source, which may come sooner).
    gaps = [b - a for a, b in itertools.pairwise(indices)]
    assert all(gap >= slow.lag for gap in gaps[:-1]), indices
    # ... the newest one there was when the analyser came free (the one in flight at most).
    for (_, _, reads_at_end), nxt in zip(slow.calls, indices[1:], strict=False):
        assert nxt >= reads_at_end - 2
    # Every frame read was analysed or counted as dropped.
    assert stats.analyses + stats.drops == stats.frames
    assert [r.frame_index for r in rec.readings] == indices
    assert stats.analyze_s > 0 and stats.latency_s >= stats.analyze_s


def test_analyses_follow_the_rate_and_never_repeat_a_frame() -> None:
    source = FakeSource([frame(i) for i in range(60)], fps=200.0)
    stamps: list[float] = []

    class Stamping(QuickAnalyzer):
        def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
            stamps.append(clock())
            return super().analyze(frame_bgr, time, frame_index)

    clock = time.monotonic
    analyzer = Stamping()
    worker = CaptureWorker(lambda: source, analyzer, rate=40.0, clock=clock)
    worker.start()
    finish(worker)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # The worker's own clock: analyses start at least one interval (1/40 s) apart.
    assert gaps and min(gaps) >= 0.9 / 40.0
    assert len(set(analyzer.indices)) == len(analyzer.indices)
    assert worker.stats.analyses < worker.stats.frames


def test_live_source_frames_are_read_only_and_the_latest_is_kept() -> None:
    frames = [frame(i) for i in range(5)]
    source = FakeSource(frames)
    analyzer = QuickAnalyzer()
    worker = CaptureWorker(lambda: source, analyzer, rate=1000.0)
    assert worker.latest_frame() is None
    worker.start()
    finish(worker)
    latest = worker.latest_frame()
    assert latest is frames[-1]
    assert not latest.flags.writeable
    assert analyzer.indices[-1] == 4  # the last frame of a finite source is still analysed
    assert source.closed
    assert worker.states == [S.STARTING, S.RUNNING, S.STOPPED]


def test_camera_that_fails_and_returns_reconnects_with_backoff() -> None:
    clock = FakeClock()
    first = FakeSource([frame(i) for i in range(5)] + [None] * 20, name="cam")
    gone = [FakeSource([], open_error=SourceError("No camera at index 0")) for _ in range(4)]
    back = FakeSource([frame(100 + i) for i in range(5)], name="cam")
    factories = iter([first, *gone, back])
    rec = Recorder()
    analyzer = QuickAnalyzer()
    worker = CaptureWorker(
        lambda: next(factories),
        analyzer,
        rate=1000.0,
        on_reading=rec.on_reading,
        on_state=rec.on_state,
        clock=clock,
        sleep=clock.sleep,
    )
    worker.start()
    finish(worker)
    assert rec.states == [S.RUNNING, S.RECONNECTING, S.RUNNING, S.STOPPED]
    assert worker.states == [S.STARTING, *rec.states]
    # 0.25 s doubling: four failed opens, then the fifth works.
    backoff = [s for s in clock.sleeps if s >= capture.BACKOFF_START_S]
    assert backoff == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert first.closed and first.reads == 5 + capture.FAILED_READS
    stats = worker.stats
    assert stats.reconnects == 1
    assert stats.frames == 10
    assert stats.failed_reads == capture.FAILED_READS
    # After recovery the new frames flow, and the newest is analysed.
    assert analyzer.indices[-1] == 9
    assert int(analyzer.frames[-1][0, 0, 0]) == 104


def test_backoff_is_capped_at_five_seconds() -> None:
    assert backoff_delays() == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    clock = FakeClock()
    first = FakeSource([frame(0)] + [None] * 10)
    calls = 0

    def factory() -> FakeSource:
        nonlocal calls
        calls += 1
        if calls == 1:
            return first
        if calls < 10:
            return FakeSource([], open_error=SourceError("gone"))
        return FakeSource([frame(1)])

    worker = CaptureWorker(factory, QuickAnalyzer(), clock=clock, sleep=clock.sleep)
    worker.start()
    finish(worker)
    backoff = [s for s in clock.sleeps if s >= capture.BACKOFF_START_S]
    assert backoff == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]


class SlowFailingSource(FakeSource):
    """Each read fails after blocking for 1.5 s (of injected time)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__([frame(0)] + [None] * 10)
        self.clock = clock

    def read(self) -> np.ndarray | None:
        if self.reads >= 1:
            self.clock.now += 1.5
        return super().read()


def test_a_source_failing_for_more_than_two_seconds_reconnects() -> None:
    clock = FakeClock()
    slow = SlowFailingSource(clock)
    sources = iter([slow, FakeSource([frame(1)])])
    worker = CaptureWorker(lambda: next(sources), QuickAnalyzer(), clock=clock, sleep=clock.sleep)
    worker.start()
    finish(worker)
    # Two failed reads took 3 s: fewer than FAILED_READS, but longer than STALL_S.
    assert worker.stats.failed_reads == 2 < capture.FAILED_READS
    assert worker.stats.reconnects == 1
    assert worker.states == [S.STARTING, S.RUNNING, S.RECONNECTING, S.RUNNING, S.STOPPED]


class BlockingSource(FakeSource):
    """A camera whose third read hangs (no frame, no error) until the test lets it go."""

    def __init__(self) -> None:
        super().__init__([frame(i) for i in range(5)])
        self.blocked = threading.Event()
        self.release = threading.Event()

    def read(self) -> np.ndarray | None:
        if self.reads == 2:
            self.blocked.set()
            self.release.wait(10.0)
        return super().read()


def wait_for(condition: object, limit: float = 10.0) -> bool:
    for _ in range(int(limit / 0.005)):
        if callable(condition) and condition():
            return True
        time.sleep(0.005)
    return False


def test_a_read_that_hangs_shows_reconnecting_until_frames_return() -> None:
    clock = FakeClock()
    source = BlockingSource()
    worker = CaptureWorker(lambda: source, QuickAnalyzer(), clock=clock, sleep=clock.sleep)
    worker.start()
    assert source.blocked.wait(10.0)
    assert worker.state is S.RUNNING
    clock.now += capture.STALL_S + 0.5  # the read has hung for longer than STALL_S
    assert wait_for(lambda: worker.state is S.RECONNECTING)
    assert "no frame for 2 s" in worker.message
    source.release.set()
    finish(worker)
    assert worker.states == [S.STARTING, S.RUNNING, S.RECONNECTING, S.RUNNING, S.STOPPED]
    assert worker.stats.frames == 5 and worker.stats.reconnects == 0


def test_stop_joins_the_threads_of_a_running_worker() -> None:
    source = FakeSource([frame(i) for i in range(10)], fps=100.0, loop=True)
    rec = Recorder()
    worker = CaptureWorker(lambda: source, QuickAnalyzer(), on_reading=rec.on_reading)
    worker.start()
    assert rec.got_reading.wait(10.0)
    assert worker.state is S.RUNNING
    assert worker.stop() is True
    assert not worker.is_alive()
    assert worker.state is S.STOPPED
    assert source.closed


def test_stop_interrupts_a_reconnect_backoff() -> None:
    """The default sleep is an interruptible wait: stop() ends a 5 s backoff at once."""
    first = FakeSource([frame(0)] + [None] * 10)
    calls = 0

    def factory() -> FakeSource:
        nonlocal calls
        calls += 1
        return first if calls == 1 else FakeSource([], open_error=SourceError("gone"))

    rec = Recorder()
    worker = CaptureWorker(factory, QuickAnalyzer(), on_state=rec.on_state)
    worker.start()
    for _ in range(1000):
        if worker.state is S.RECONNECTING:
            break
        time.sleep(0.01)
    assert worker.state is S.RECONNECTING
    assert worker.stop() is True
    assert not worker.is_alive()
    assert rec.states[-1] is S.STOPPED


@pytest.mark.allow_log_errors("each failed analysis is logged before the worker gives up")
def test_a_broken_analyzer_fails_the_worker_with_a_message() -> None:
    class Broken:
        def analyze(self, frame_bgr: np.ndarray, time: float, frame_index: int = -1) -> Reading:
            raise RuntimeError("model exploded")

    source = FakeSource([frame(i) for i in range(100)], fps=1000.0)
    worker = CaptureWorker(lambda: source, Broken(), rate=1000.0)
    worker.start()
    finish(worker)
    assert worker.state is S.FAILED
    assert "analysis keeps failing" in worker.message


# -- end to end with the real model ---------------------------------------------------------------


@pytest.mark.slow
def test_real_video_through_the_real_analyzer_votes_happy_while_the_face_is_there(
    tmp_path: Path,
) -> None:
    from app.vision.analyzer import build_analyzer

    fps = 10.0
    pattern = "N" * 5 + "F" * 30 + "N" * 5
    clip = scene_video(tmp_path / "astronaut.mp4", pattern, fps=fps)
    voter = MoodVoter()
    seen: list[tuple[int, bool, str | None]] = []

    def on_reading(reading: Reading) -> None:
        voter.update(reading)
        seen.append((reading.frame_index, reading.has_face, voter.mood))

    worker = CaptureWorker(
        lambda: open_source(str(clip), loop=False), build_analyzer(), on_reading=on_reading
    )
    worker.start()
    finish(worker)
    assert worker.states == [S.STARTING, S.RUNNING, S.STOPPED]
    assert worker.stats.frames == len(pattern)
    face_at = pattern.index("F")
    # No face before the astronaut appears: nothing voted yet.
    assert all(mood is None for index, _, mood in seen if index < face_at)
    # The face is found, and from 2 s after it appears the voted mood is happy.
    assert any(face for index, face, _ in seen if pattern[index] == "F")
    steady = [mood for index, _, mood in seen if face_at + 2 * fps <= index < pattern.rindex("F")]
    assert steady and all(mood == "happy" for mood in steady)
    assert not any(face for index, face, _ in seen if pattern[index] == "N")
    # Privacy: nothing was written beside the clip, nor in the user's folders.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.mp4"]
    for folder in (paths.data_dir(), paths.config_dir(), paths.log_dir()):
        assert not folder.exists() or not any(folder.rglob("*"))


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_soak_a_minute_of_looping_video_keeps_memory_and_threads_flat(tmp_path: Path) -> None:
    import psutil

    from app.vision.analyzer import build_analyzer

    clip = scene_video(tmp_path / "loop.mp4", "F" * 20 + "N" * 10, fps=30.0)
    voter = MoodVoter()
    worker = CaptureWorker(
        lambda: open_source(str(clip), loop=True),
        build_analyzer(),
        on_reading=voter.update,
    )
    process = psutil.Process()
    worker.start()
    threads = threading.active_count()
    time.sleep(10.0)  # warm up (this is a soak test: it runs for its length, it asserts no time)
    rss = process.memory_info().rss
    time.sleep(50.0)
    grown = process.memory_info().rss - rss
    assert threading.active_count() == threads
    assert worker.stop() is True
    stats = worker.stats
    assert stats.analyses > 100 and stats.reconnects == 0
    assert grown < 20 * 1024 * 1024, f"memory grew by {grown / 1e6:.1f} MB in 50 s"
    assert voter.mood == "happy"
