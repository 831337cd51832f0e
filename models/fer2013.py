"""Get FER2013 (for measuring and fitting the expression classifiers) -- never into the repo.

Source: FER2013 (Goodfellow et al., ICML 2013 challenge; Kaggle "Challenges in Representation
Learning: Facial Expression Recognition") as 48x48 grey JPEG files, one folder per expression,
in the *first commit* of the public GitHub repository RecepTahirGunlu/Duygu-Tanima
(8041c66ab014c185bfe459e8e32349fc7b15685a): ``train/<label>/Training_*.jpg`` (28,709 faces: the
challenge's Training split) and ``test/<label>/{PublicTest,PrivateTest}_*.jpg`` (7,178 faces: the
PublicTest and PrivateTest splits). Later commits of that repository re-arrange the folders.

FER+ (microsoft/FERPlus, MIT: ``fer2013new.csv``, ten crowd votes per face) labels FER2013 by row
index of the original ``fer2013.csv``; these JPEG files are named by another id, so FER+ votes are
not used here (see docs/BENCHMARKS.md, "Classifier").

    git clone https://github.com/RecepTahirGunlu/Duygu-Tanima   # or any copy of its history
    python models/fer2013.py --repo Duygu-Tanima --out /work/data/fer2013

writes ``OUT/train``, ``OUT/test`` and the label lists ``OUT/test.csv`` (all 7,178),
``OUT/val.csv`` (15 % of train, stratified, seed 13: what every choice is made on) and
``OUT/fit.csv`` (the rest of train), ``OUT/publictest.csv`` and ``OUT/privatetest.csv`` (the
two halves of test: models/fit_ensemble.py fits on the first and measures on the second), rows
``path,label`` as ``moodplayer eval`` reads them.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

FIRST_COMMIT = "8041c66ab014c185bfe459e8e32349fc7b15685a"
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
VAL_FRACTION = 0.15
SEED = 13
SIZES = {"train": 28709, "test": 7178}


def extract(repo: Path, out: Path) -> None:
    """``train/`` and ``test/`` of the first commit, unpacked into ``out``."""
    data = subprocess.run(
        ["git", "--git-dir", str(repo), "archive", "--format=tar", FIRST_COMMIT, "train", "test"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(out, filter="data")


def listing(out: Path, split: str) -> list[tuple[str, str]]:
    rows = [
        (f"{split}/{label}/{path.name}", label)
        for label in LABELS
        for path in sorted((out / split / label).glob("*.jpg"))
    ]
    if len(rows) != SIZES[split]:
        raise SystemExit(f"{out / split} holds {len(rows)} faces, FER2013 has {SIZES[split]}")
    return rows


def split_train(rows: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(fit, val): VAL_FRACTION of each expression, drawn with SEED."""
    rng = np.random.default_rng(SEED)
    fit: list[tuple[str, str]] = []
    val: list[tuple[str, str]] = []
    for label in LABELS:
        items = [r for r in rows if r[1] == label]
        chosen = set(rng.permutation(len(items))[: round(len(items) * VAL_FRACTION)].tolist())
        for i, row in enumerate(items):
            (val if i in chosen else fit).append(row)
    return fit, val


def write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="git dir (or clone) of Duygu-Tanima")
    parser.add_argument("--out", type=Path, required=True, help="where the faces go")
    args = parser.parse_args(argv)
    if args.repo is not None:
        repo = args.repo / ".git" if (args.repo / ".git").is_dir() else args.repo
        extract(repo, args.out)
    fit, val = split_train(listing(args.out, "train"))
    write(args.out / "fit.csv", fit)
    write(args.out / "val.csv", val)
    test = listing(args.out, "test")
    write(args.out / "test.csv", test)
    public = [r for r in test if Path(r[0]).name.startswith("PublicTest_")]
    private = [r for r in test if Path(r[0]).name.startswith("PrivateTest_")]
    write(args.out / "publictest.csv", public)
    write(args.out / "privatetest.csv", private)
    print(
        f"{args.out}: fit {len(fit)}, val {len(val)}, test {len(test)} "
        f"(PublicTest {len(public)}, PrivateTest {len(private)}) faces"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
