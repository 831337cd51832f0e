"""Get CK+48 (posed faces, for *measuring* the expression classifiers) -- never into the repo.

Source: the extended Cohn-Kanade set (CK+; Lucey et al., CVPR workshops 2010; Kanade et al.,
2000) in the widely used "CK+48" form: 48x48 grey face crops, the last three (peak) frames of
each of the 327 emotion-labelled sequences of 123 subjects, one folder per emotion. The copy
used is the ``CK+48/`` folder of the public GitHub repository
WuJie1010/Facial-Expression-Recognition.Pytorch at commit
fefe6653f3e09912693a73c54e6a8247adca3090 (tree 83098c4e8a9ec293c88c7490f035193cf8332658):
981 faces, ``anger`` 135, ``contempt`` 54, ``disgust`` 177, ``fear`` 75, ``happy`` 207,
``sadness`` 84, ``surprise`` 249. CK+ is licensed by its authors for non-commercial research;
MoodPlayer only measures on it here, never ships or trains on it.

Labels are mapped to MoodPlayer's seven: anger -> angry, sadness -> sad, the others as they
are. **contempt is dropped** (FER2013 and our models have no such class: 54 faces); CK+48 has
no neutral faces. That leaves 927 faces (309 sequences x 3 near-identical frames: the figures
move in steps of about 1/309 of a sequence, so read them +- 2-3 points).

    git clone --bare https://github.com/WuJie1010/Facial-Expression-Recognition.Pytorch ferp
    python models/ckplus.py --repo ferp --out /work/data/ckplus
    moodplayer eval --images /work/data/ckplus --labels /work/data/ckplus/ckplus.csv --no-detect

writes ``OUT/CK+48/<emotion>/*.png`` and ``OUT/ckplus.csv`` (rows ``path,label`` as
``moodplayer eval`` reads them, contempt left out).
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tarfile
from pathlib import Path

COMMIT = "fefe6653f3e09912693a73c54e6a8247adca3090"
TREE = "83098c4e8a9ec293c88c7490f035193cf8332658"
FOLDER = "CK+48"
# CK+48 folder -> MoodPlayer expression (None: dropped), and the folder's size
LABELS: dict[str, tuple[str | None, int]] = {
    "anger": ("angry", 135),
    "contempt": (None, 54),
    "disgust": ("disgust", 177),
    "fear": ("fear", 75),
    "happy": ("happy", 207),
    "sadness": ("sad", 84),
    "surprise": ("surprise", 249),
}


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True
    ).stdout


def extract(repo: Path, out: Path) -> None:
    """``CK+48/`` of the pinned commit, unpacked into ``out`` (its tree checked first)."""
    tree = git(repo, "rev-parse", f"{COMMIT}:{FOLDER}").decode().strip()
    if tree != TREE:
        raise SystemExit(f"{repo}: {FOLDER} at {COMMIT[:12]} is tree {tree}, expected {TREE}")
    data = git(repo, "archive", "--format=tar", COMMIT, FOLDER)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(out, filter="data")


def listing(out: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for folder, (label, size) in LABELS.items():
        files = sorted((out / FOLDER / folder).glob("*.png"))
        if len(files) != size:
            raise SystemExit(f"{out / FOLDER / folder} holds {len(files)} faces, CK+48 has {size}")
        if label is not None:
            rows += [(f"{FOLDER}/{folder}/{path.name}", label) for path in files]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="git dir (or clone) of the repository")
    parser.add_argument("--out", type=Path, required=True, help="where the faces go")
    args = parser.parse_args(argv)
    if args.repo is not None:
        repo = args.repo / ".git" if (args.repo / ".git").is_dir() else args.repo
        extract(repo, args.out)
    rows = listing(args.out)
    with (args.out / "ckplus.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows(rows)
    dropped = sum(size for label, size in LABELS.values() if label is None)
    print(f"{args.out}: {len(rows)} faces in ckplus.csv ({dropped} contempt faces left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
