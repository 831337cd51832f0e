"""Privacy: the real app watches a face and opens no network socket and writes no image, ever.

The real application runs end to end in a child process (``app_child.py``: ``moodplayer
--source face.mp4``, offscreen Qt, pygame on the dummy driver, the bundled ONNX model) on a video
of the NASA astronaut portrait for a few seconds, reading the face and playing music, with a
private home folder. Three independent witnesses watch it:

1. **strace** (when the machine has it): every socket, connect, bind, open-for-writing, rename,
   link and mkdir of every thread, native libraries included (Qt, SDL, OpenCV, onnxruntime).
2. **A Python audit hook** in the child (``sys.addaudithook``): ``socket.*`` events and every file
   opened for writing from Python code.
3. **The files left behind**: everything in the private home (config, data, state, cache, temp).

Required: no socket of any Internet family (AF_INET/AF_INET6) is created at all; no image or
array file (png, jpg, bmp, npy, npz, mp4, avi, raw...) is written anywhere; and nothing is written
but the settings (atomically: a temp file renamed) and the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from media import make_video
from runner import have_strace, run_child

from app.vision.reading import EXPRESSIONS

IMAGE_OR_ARRAY = {
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm",
    ".npy", ".npz", ".raw", ".yuv", ".rgb", ".mp4", ".avi", ".mkv", ".mov", ".webm", ".mjpeg",
    ".h264", ".pkl", ".pickle", ".h5", ".hdf5", ".mat", ".exr", ".heic", ".avif",
}  # fmt: skip
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
NETWORK_CALLS = {"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4"}
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Trace:
    """What strace saw, reduced to what matters for privacy."""

    families: set[str] = field(default_factory=set)  # socket families created
    connects: list[str] = field(default_factory=list)  # connect/bind targets (any result)
    writes: set[str] = field(default_factory=set)  # paths opened for writing, made or renamed to
    memfds: int = 0


def parse_strace(lines: list[str]) -> Trace:
    trace = Trace()
    for line in lines:
        match = _CALL.match(line.strip())
        if match is None:
            continue
        call, args, result = match.group(1), match.group(2), int(match.group(3))
        quoted = _QUOTED.findall(args)
        if call in ("socket", "socketpair"):
            trace.families.add(args.split(",")[0].strip())
        elif call in NETWORK_CALLS:
            family = re.search(r"sa_family=(\w+)", args)
            target = re.search(r'sun_path=(@?"[^"]*")|sin6?_addr=[^,}]+', args)
            trace.connects.append(
                f"{call} {family.group(1) if family else '?'} "
                f"{target.group(0) if target else ''} = {result}"
            )
            if family:
                trace.families.add(family.group(1))
        elif result < 0:
            continue  # a failed call wrote nothing
        elif call in ("open", "openat", "openat2"):
            if quoted and any(flag in args for flag in WRITE_FLAGS):
                trace.writes.add(quoted[0])
        elif call in ("creat", "mkdir", "mkdirat", "truncate"):
            if quoted:
                trace.writes.add(quoted[0])
        elif call.startswith(("rename", "link", "symlink")):
            if quoted:
                trace.writes.add(quoted[-1])
        elif call == "memfd_create":
            trace.memfds += 1
    return trace


def test_strace_reader_sees_what_would_break_the_promise() -> None:
    """The witness itself: a leak in the trace is found (so the end-to-end test can fail)."""
    trace = parse_strace(
        [
            'openat(AT_FDCWD, "/home/u/frame.png", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 7',
            'openat(AT_FDCWD, "/usr/lib/x.so", O_RDONLY|O_CLOEXEC) = 3',
            'openat(AT_FDCWD, "/nope/a.npy", O_WRONLY|O_CREAT, 0666) = -1 ENOENT (No such file)',
            "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 9",
            "connect(9, {sa_family=AF_INET, sin_port=htons(53), "
            'sin_addr=inet_addr("10.0.0.1")}, 16) = 0',
            'rename("/c/.s.tmp", "/c/settings.toml") = 0',
            'linkat(10, "deviceid.tmp", 10, "deviceid", 0) = 0',
        ]
    )
    assert trace.writes == {"/home/u/frame.png", "/c/settings.toml", "deviceid"}
    assert "AF_INET" in trace.families
    assert any("AF_INET" in c for c in trace.connects)


def _allowed_write(path: str, home: Path) -> bool:
    config, state = home / "config" / "moodplayer", home / "state" / "moodplayer"
    p = Path(path)
    return (
        p == home / "report.json"  # the test child's own report, after the app has ended
        # the local socket a second launch knocks on (single instance), removed at exit
        or (
            p.parent == home / "tmp"
            and re.fullmatch(r"moodplayer-[0-9a-f]{16}", p.name) is not None
        )
        or p.is_relative_to(config)  # settings.toml (and its temp file before the rename)
        or p.is_relative_to(state)  # the rotating log
        or config.is_relative_to(p)  # folders made on the way there
        or state.is_relative_to(p)
        or path in ("/dev/null", "/dev/tty")
    )


def test_the_app_watching_a_face_opens_no_socket_and_writes_no_image(
    child_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "video").mkdir()
    video = make_video(tmp_path / "video" / "astronaut.mp4", pattern="F" * 30, fps=10.0)
    traced = have_strace()
    run = run_child(
        "privacy",
        child_home,
        ["--source", str(video)],
        strace=traced,
        MOODPLAYER_AUDIT="1",
        MOODPLAYER_CHILD_SECONDS="4",
    )
    assert run.code == 0, run.stderr[-3000:]
    watching = run.event("before close")
    # it really watched: frames were read and analysed, a face read, music playing
    assert watching["camera_state"] == "running", watching
    assert watching["analyses"] > 0 and watching["readings"]
    assert watching["player_state"] == "playing"

    # witness 2: the audit hook
    assert run.report["sockets"] == [], run.report["sockets"][:5]
    py_writes = {path for _, path in run.report["writes"]}
    assert not [p for p in py_writes if not _allowed_write(p, child_home)], sorted(py_writes)

    # witness 3: what is left in the private home
    left = sorted(
        p.relative_to(child_home).as_posix()
        for p in child_home.rglob("*")
        if p.is_file() and "strace" not in p.relative_to(child_home).parts
    )
    assert not [p for p in left if Path(p).suffix.lower() in IMAGE_OR_ARRAY], left
    assert set(left) <= {
        "report.json",
        "config/moodplayer/settings.toml",
        "state/moodplayer/log/moodplayer.log",
        "state/moodplayer/log/crash.log",  # faulthandler's file: empty unless the app crashed
    }, left
    crash_file = child_home / "state/moodplayer/log/crash.log"
    assert not crash_file.exists() or crash_file.stat().st_size == 0, crash_file.read_text()
    assert sorted(p.name for p in video.parent.iterdir()) == ["astronaut.mp4"]

    # witness 4: the log (private to the user) holds no mood history and no expression scores
    # outside a session report: moods are logged at debug level only
    log_file = child_home / "state/moodplayer/log/moodplayer.log"
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"
    moods = re.compile(r"\b(" + "|".join(EXPRESSIONS) + r")\b", re.IGNORECASE)
    mood_lines = [line for line in run.log_text.splitlines() if moods.search(line)]
    assert not mood_lines, mood_lines[:5]

    # witness 1: strace, every thread and native library
    summary = "strace not available: audit hook and file check only"
    if traced:
        assert run.strace is not None
        lines: list[str] = []
        for part in sorted(run.strace.iterdir()):
            lines += part.read_text(errors="replace").splitlines()
        trace = parse_strace(lines)
        assert not {"AF_INET", "AF_INET6", "AF_PACKET"} & trace.families, trace.connects
        images = [w for w in trace.writes if Path(w).suffix.lower() in IMAGE_OR_ARRAY]
        assert not images, images
        others = sorted(w for w in trace.writes if not _allowed_write(w, child_home))
        assert not others, others
        summary = (
            f"strace: {len(lines)} calls seen; socket families created: "
            f"{sorted(trace.families) or 'none'}; connects: {trace.connects or 'none'}; "
            f"paths written: {sorted(w.replace(str(child_home), '~') for w in trace.writes)}; "
            f"memfd: {trace.memfds}"
        )
    print(
        f"\n[reliability] privacy: {watching['analyses']} analyses of the astronaut video, "
        f"mood {watching['mood']}, music {watching['player_state']}; Python sockets: none; "
        f"files left: {left}; {summary}"
    )
