"""The frame sources by name (camera, video, folder; a hidden fake), and the source a spec names."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.registry import Registry
from app.vision.camera import CameraSource
from app.vision.fakes import FakeSource
from app.vision.image_folder import FOLDER_FPS, ImageFolderSource
from app.vision.sources import FrameSource, SourceError
from app.vision.video import VideoFileSource


def _camera(target: str = "0", *, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    return CameraSource(int(target or 0))


def _video(target: str, *, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    return VideoFileSource(Path(target).expanduser(), loop=loop)


def _folder(target: str, *, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    return ImageFolderSource(Path(target).expanduser(), loop=loop, fps=folder_fps)


def _fake(target: str = "", *, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    """Ten 64x48 grey frames getting brighter, at ``folder_fps`` (tests and demos)."""
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(10)]
    return FakeSource(frames, fps=folder_fps, loop=loop)


def _no_camera_backend() -> str | None:
    if cv2.videoio_registry.getCameraBackends():
        return None
    return "This OpenCV build has no camera support; reinstall opencv-python-headless."


def _no_video_backend() -> str | None:
    if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) or cv2.videoio_registry.hasBackend(
        cv2.CAP_GSTREAMER
    ):
        return None
    return "This OpenCV build cannot decode video files; reinstall opencv-python-headless."


SOURCES: Registry[FrameSource] = Registry("frame source")
SOURCES.register("camera", _camera, label="Webcam", unavailable=_no_camera_backend)
SOURCES.register("video", _video, label="Video file", unavailable=_no_video_backend)
SOURCES.register("folder", _folder, label="Folder of images")
SOURCES.register("fake", _fake, label="Test pattern", hidden=True)


def source_kind(spec: str) -> str:
    """Which source ``spec`` names: "0".."99" a camera, a folder, or a video file."""
    text = spec.strip()
    if text.isdigit() and len(text) <= 2:
        return "camera"
    path = Path(text).expanduser()
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "video"
    raise SourceError(f"No camera, video or folder called {spec!r}; give a camera index or a path.")


def open_source(spec: str, loop: bool = True, folder_fps: float = FOLDER_FPS) -> FrameSource:
    """The source ``spec`` names (not opened yet): "0".."99" a camera, a video file or a folder."""
    kind = source_kind(spec)
    source: FrameSource = SOURCES.create(
        kind, target=spec.strip(), loop=loop, folder_fps=folder_fps
    )
    return source
