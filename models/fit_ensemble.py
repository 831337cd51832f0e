"""Fit the default expression classifier: several ONNX models combined with learned weights.

Each member sees every face as its card says (``preprocess``: colour, resize, scale -- the face
is already cropped) and, with ``mirror``, also the left-right mirrored face, the two averaged.
The combination is a stacked softmax:

    z = sum_m  w_m * log p_m  +  b        (p_m: member m's probabilities, 7 expressions)
    P = softmax(z)

with one weight per member and one bias per expression (10 numbers for three members), fitted by
minimising the log-loss, then each expression's bias raised just enough that its recall reaches
``--min-recall`` (fear is the weak one).

Which members. Every combination (with and without mirrors) is cross-validated on PublicTest.
A free fit there gives face-api.js's FaceExpressionNet almost no weight (0.04): FER2013 is not
its data. On posed faces it is by far the strongest member (87.7 % on CK+48 against 68.5 % for
the mini-Xception), and the free fit's stack fell *below* the mini-Xception alone there
(63.5 %), so the rule is: among the combinations with face-api.js that cost at most
``--max-ms`` per face (``COST_MS``), give it the largest weight (steps of 0.01) at which the
5-fold cross-validated PublicTest accuracy stays >= ``--target`` (67 %, the issue's FER2013
target); the largest such weight wins, ties go to the cheaper. Only PublicTest decides; the
posed set (``--posed``, models/ckplus.py) is measured with ``--measure`` and never fitted on --
though the rule itself was written after seeing the free fit fail on it.

Where it is fitted. Both Xceptions were *trained* on FER2013's Training split (oarriaga's
train_emotion_classifier.py: the first 80 % of fer2013.csv, which is exactly Training): on a part
held out from train they score 75 % and 84 % against 66 % and 64 % on test, so a stack fitted there
gives them all the weight. No member was trained on FER2013's test split (PublicTest was the
Xceptions' early-stopping set), so the stack is fitted on **PublicTest** (3,589 faces) and measured
on **PrivateTest** (3,589 faces, no choice made on it) -- once, at the end, with ``--measure``; the
figure on all 7,178 test faces (what ``moodplayer eval --no-detect`` on the whole test folder
gives) is printed too, but half of it is the fitting split.

    python models/fer2013.py --repo DUYGU_TANIMA_GIT --out /work/data/fer2013
    python models/fit_ensemble.py --data /work/data/fer2013              # fit, write the card
    python models/fit_ensemble.py --data /work/data/fer2013 --measure    # + the final figures
    python models/fit_ensemble.py --data /work/data/fer2013 --measure \
        --posed /work/data/ckplus/ckplus.csv                              # + CK+48, measured

Member outputs are cached under ``DATA/cache`` (and the posed set's folder's ``cache``; never in
the repo). Writes
``models/emotion_ensemble.json``: the members (file, sha256), the weights, the biases, whether
faces are mirrored, and the validation (and test) figures.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.vision.reading import EXPRESSIONS  # noqa: E402

MODELS = REPO / "models"
MEMBERS = ("emotion_minixception", "emotion_bigxception", "emotion_faceapi")
CARD_NAME = "emotion_ensemble"
POSED_SET = (
    "CK+48 (models/ckplus.py): 927 posed faces, 309 sequences x 3 peak frames, contempt "
    "left out, no neutral; measured only"
)
EPS = 1e-7
# The member that was not trained on FER2013 (face-api.js: 57-59 % on FER2013, 87.7 % on CK+
# posed faces): the stack gives it the largest weight FER2013 PublicTest allows (see main).
FAVOURED = "emotion_faceapi"
# ms per face of each member on one thread (bench/classifier.py, docs/BENCHMARKS.md), doubled
# with mirrors: fixed figures, so that the choice does not depend on the machine's load.
COST_MS = {
    "emotion_minixception": 0.39,
    "emotion_bigxception": 1.06,
    "emotion_faceapi": 1.33,
    # models/quantize_bigxception.py's 8-bit copy, which replaces it after the fit
    "emotion_bigxception_int8": 0.5,
}


def read_split(data: Path, split: str) -> tuple[list[Path], np.ndarray]:
    with (data / f"{split}.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    paths = [data / r[0] for r in rows]
    labels = np.array([EXPRESSIONS.index(r[1]) for r in rows], np.int64)
    return paths, labels


def member_outputs(
    name: str, paths: list[Path], cache: Path, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """(plain, mirrored) probabilities (N, 7) of one member, in EXPRESSIONS order; cached."""
    from app.vision.onnx_model import ExpressionModel

    onnx_path = MODELS / f"{name}.onnx"
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:16]
    key = hashlib.sha256("\n".join(str(p) for p in paths).encode()).hexdigest()[:8]
    cached = cache / f"{split}-{name}-{digest}-{key}.npz"
    if cached.is_file():
        saved = np.load(cached)
        return saved["plain"], saved["mirrored"]
    model = ExpressionModel.load(onnx_path, threads=1)
    plain, mirrored = [], []
    for start in range(0, len(paths), 256):
        faces = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in paths[start : start + 256]]
        items = [model.preprocess(face) for face in faces]
        plain.append(model.predict(np.stack(items)))
        mirrored.append(model.predict(np.stack([model.mirror(i) for i in items])))
    result = np.concatenate(plain), np.concatenate(mirrored)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, plain=result[0], mirrored=result[1])
    return result


def log_probs(
    outputs: dict[str, tuple[np.ndarray, np.ndarray]],
    mirror: bool,
    names: tuple[str, ...] = MEMBERS,
) -> np.ndarray:
    """(M, N, 7) log-probabilities of the members, mirrored faces averaged when ``mirror``."""
    stack = []
    for name in names:
        plain, mirrored = outputs[name]
        p = (plain + mirrored) / 2 if mirror else plain
        stack.append(np.log(np.clip(p, EPS, 1.0)))
    return np.stack(stack).astype(np.float64)


def combine(logp: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    z = np.tensordot(weights, logp, axes=1) + bias
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit(
    logp: np.ndarray, y: np.ndarray, steps: int = 3000, fixed: dict[int, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (M,) and biases (7,) minimising the mean log-loss (Adam, full batch).

    ``fixed`` holds member weights that are not fitted (member index -> weight)."""
    m, n, k = logp.shape
    fixed = fixed or {}
    onehot = np.eye(k)[y]
    params = np.concatenate([np.full(m, 1.0 / m), np.zeros(k)])
    for i, w in fixed.items():
        params[i] = w
    first, second = np.zeros_like(params), np.zeros_like(params)
    rate, beta1, beta2 = 0.02, 0.9, 0.999
    for step in range(1, steps + 1):
        p = combine(logp, params[:m], params[m:])
        dz = (p - onehot) / n
        grad = np.concatenate([np.einsum("mnk,nk->m", logp, dz), dz.sum(axis=0)])
        for i in fixed:
            grad[i] = 0.0
        first = beta1 * first + (1 - beta1) * grad
        second = beta2 * second + (1 - beta2) * grad**2
        params -= rate * (first / (1 - beta1**step)) / (np.sqrt(second / (1 - beta2**step)) + 1e-9)
    bias = params[m:] - params[m:].mean()
    return params[:m], bias


def recalls(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each expression's recall; NaN for an expression with no face (CK+ has no neutral)."""
    pred = p.argmax(axis=1)
    return np.array(
        [(pred[y == c] == c).mean() if (y == c).any() else np.nan for c in range(len(EXPRESSIONS))]
    )


def lift_recalls(
    logp: np.ndarray, y: np.ndarray, weights: np.ndarray, bias: np.ndarray, floor: float
) -> np.ndarray:
    """Raise the bias of each expression below ``floor`` recall, in small steps, until it is not."""
    bias = bias.copy()
    for _ in range(400):
        r = recalls(combine(logp, weights, bias), y)
        low = np.flatnonzero(np.nan_to_num(r, nan=1.0) < floor)
        if len(low) == 0:
            break
        worst = low[np.argmin(r[low])]
        bias[worst] += 0.02
    return bias


def figures(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    r = recalls(p, y)
    return {
        "accuracy": round(float((p.argmax(axis=1) == y).mean()), 4),
        "n": len(y),
        "per_class": {
            e: round(float(v), 3) for e, v in zip(EXPRESSIONS, r, strict=True) if not np.isnan(v)
        },
    }


def line(name: str, f: dict[str, Any]) -> str:
    per = " ".join(f"{e[:4]} {v:.2f}" for e, v in f["per_class"].items())
    return f"{name:<34} {100 * f['accuracy']:5.2f} %   {per}"


def halves(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Masks of FER2013 test's PublicTest (fitting) and PrivateTest (measuring) faces."""
    public = np.array([p.name.startswith("PublicTest_") for p in paths])
    private = np.array([p.name.startswith("PrivateTest_") for p in paths])
    return public, private


def candidates() -> list[tuple[tuple[str, ...], bool]]:
    """Every combination tried: each non-empty subset of the members, with and without mirrors."""
    subsets = [
        tuple(n for j, n in enumerate(MEMBERS) if mask >> j & 1)
        for mask in range(1, 2 ** len(MEMBERS))
    ]
    return [(names, mirror) for names in subsets for mirror in (False, True)]


def fit_and_lift(
    logp: np.ndarray,
    y: np.ndarray,
    floor: float,
    fixed: dict[int, float] | None = None,
    steps: int = 3000,
) -> tuple[np.ndarray, np.ndarray]:
    """The whole fitting procedure: log-loss fit, then the recall floor."""
    weights, bias = fit(logp, y, steps=steps, fixed=fixed)
    return weights, lift_recalls(logp, y, weights, bias, floor)


def cross_validate(
    logp: np.ndarray,
    y: np.ndarray,
    floor: float,
    fixed: dict[int, float] | None = None,
    folds: int = 5,
    steps: int = 1500,
) -> np.ndarray:
    """Out-of-fold predictions of the fitting procedure (folds drawn with seed 0)."""
    fold = np.random.default_rng(0).permutation(len(y)) % folds
    pred = np.zeros(len(y), np.int64)
    for k in range(folds):
        train, held = fold != k, fold == k
        weights, bias = fit_and_lift(logp[:, train], y[train], floor, fixed, steps=steps)
        pred[held] = combine(logp[:, held], weights, bias).argmax(axis=1)
    return pred


def label_of(names: tuple[str, ...], mirror: bool) -> str:
    return " + ".join(n.removeprefix("emotion_") for n in names) + (" +mirror" if mirror else "")


def cost_ms(names: tuple[str, ...], mirror: bool) -> float:
    return sum(COST_MS[n] for n in names) * (2 if mirror else 1)


def favoured_weight(
    logp: np.ndarray,
    y: np.ndarray,
    index: int,
    start: float,
    floor: float,
    target: float,
    steps: int = 1500,
) -> tuple[float, float] | None:
    """The largest weight of member ``index`` (steps of 0.01 up from its free fit ``start``)
    at which the cross-validated accuracy stays >= ``target``, with that accuracy; None when
    even the free fit is below it."""
    best = None
    weight = round(start, 2)
    while weight <= 1.0:
        accuracy = float((cross_validate(logp, y, floor, {index: weight}, steps=steps) == y).mean())
        print(f"    weight {weight:.2f}: {100 * accuracy:.2f} %", file=sys.stderr)
        if accuracy < target:
            break
        best = (weight, accuracy)
        weight = round(weight + 0.01, 2)
    return best


def read_posed(path: Path) -> tuple[list[Path], np.ndarray]:
    """A posed-face set's ``path,label`` rows (models/ckplus.py's ckplus.csv), for measuring."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    return [path.parent / r[0] for r in rows], np.array(
        [EXPRESSIONS.index(r[1]) for r in rows], np.int64
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="models/fer2013.py's --out")
    parser.add_argument("--min-recall", type=float, default=0.45, help="per-class floor (fit)")
    parser.add_argument(
        "--measure", action="store_true", help="also measure on PrivateTest and all of test"
    )
    parser.add_argument(
        "--target", type=float, default=0.67, help="PublicTest CV accuracy to keep (favouring)"
    )
    parser.add_argument("--max-ms", type=float, default=5.0, help="time budget per face")
    parser.add_argument(
        "--posed",
        type=Path,
        help="a posed-face set's CSV (models/ckplus.py's ckplus.csv): measured, never fitted",
    )
    parser.add_argument("--out", type=Path, default=MODELS / f"{CARD_NAME}.json")
    args = parser.parse_args(argv)
    cache = args.data / "cache"
    outputs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    labels: dict[str, np.ndarray] = {}
    test_paths: list[Path] = []
    for split in ("val", "test"):
        paths, labels[split] = read_split(args.data, split)
        if split == "test":
            test_paths = paths
        outputs[split] = {}
        for name in MEMBERS:
            t0 = time.perf_counter()
            outputs[split][name] = member_outputs(name, paths, cache, split)
            print(f"{split} {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    public, private = halves(test_paths)

    def part(mask: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {n: (a[mask], b[mask]) for n, (a, b) in outputs["test"].items()}

    # Two of the members were trained on FER2013's Training split: the held-out part of train
    # shows it (accuracies far above their test accuracy), so it cannot weigh them. The stack
    # is fitted on PublicTest (which no member was trained on) and measured on PrivateTest.
    print("held out from FER2013 train (4,306 faces; both Xceptions were trained on these):")
    for mirror in (False, True):
        logp = log_probs(outputs["val"], mirror)
        for i, name in enumerate(MEMBERS):
            suffix = " +mirror" if mirror else ""
            print(line(name + suffix, figures(np.exp(logp[i]), labels["val"])))

    fit_out, y = part(public), labels["test"][public]
    floor = args.min_recall
    print("5-fold cross-validation of the fitting procedure on PublicTest (3,589 faces):")
    free: dict[tuple[tuple[str, ...], bool], float] = {}
    for names, mirror in candidates():
        logp = log_probs(fit_out, mirror, names)
        pred = np.eye(len(EXPRESSIONS))[cross_validate(logp, y, floor)]
        f = figures(pred, y)
        free[(names, mirror)] = f["accuracy"]
        print(line(f"{label_of(names, mirror)} ({cost_ms(names, mirror):.2f} ms)", f))
    # The log-loss fit on PublicTest gives face-api.js almost nothing (0.04): FER2013 is not
    # its data. On posed faces it is the strongest member by far, so the stack gives it the
    # largest weight at which the cross-validated PublicTest accuracy stays >= --target, among
    # the combinations within --max-ms; the largest such weight wins, ties the cheaper.
    # Only FER2013 PublicTest decides; a posed set (--posed) is only measured.
    print(f"{FAVOURED} favoured: largest weight keeping PublicTest CV >= {args.target:.0%}:")
    choices: list[tuple[float, float, tuple[str, ...], bool]] = []
    for (names, mirror), accuracy in free.items():
        if FAVOURED not in names or cost_ms(names, mirror) > args.max_ms or len(names) < 2:
            continue
        if accuracy < args.target:
            print(f"  {label_of(names, mirror)}: free fit {100 * accuracy:.2f} %, below")
            continue
        logp = log_probs(fit_out, mirror, names)
        index = names.index(FAVOURED)
        start = fit(logp, y)[0][index]
        found = favoured_weight(logp, y, index, start, floor, args.target)
        if found is not None:
            print(f"  {label_of(names, mirror)}: weight {found[0]:.2f}, {100 * found[1]:.2f} %")
            choices.append((found[0], -cost_ms(names, mirror), names, mirror))
    fixed: dict[int, float] | None = None
    if choices:
        weight, _, names, mirror = max(choices, key=lambda c: (c[0], c[1]))
        fixed = {names.index(FAVOURED): weight}
    else:  # nothing reaches the target with face-api.js: the best free fit, fewest members
        best = max(free.values())
        names, mirror = max(
            (c for c, a in free.items() if a >= best - 0.002),
            key=lambda c: (-len(c[0]) - int(c[1]), free[c]),
        )
    logp = log_probs(fit_out, mirror, names)
    weights, bias = fit_and_lift(logp, y, floor, fixed)
    chosen_fit = figures(combine(logp, weights, bias), y)
    print(line("chosen, fitted on all of PublicTest", chosen_fit))
    # the stack the free rule (no favoured member) would ship, for comparison when measuring
    best = max(free.values())
    plain_names, plain_mirror = max(
        (c for c, a in free.items() if a >= best - 0.002),
        key=lambda c: (-len(c[0]) - int(c[1]), free[c]),
    )
    plain_logp = log_probs(fit_out, plain_mirror, plain_names)
    plain = fit_and_lift(plain_logp, y, floor)
    titles = {
        "emotion_minixception": "mini-Xception",
        "emotion_bigxception": "big-XCEPTION",
        "emotion_faceapi": "face-api.js's FaceExpressionNet",
    }
    card: dict[str, Any] = {
        "name": CARD_NAME,
        "description": (
            "The default expression classifier: "
            + " and ".join([", ".join(titles[n] for n in names[:-1]), titles[names[-1]]][-2:])
            + ", each fed as its own card says"
            + (", the mirrored face averaged in," if mirror else ",")
            + " combined as softmax(sum of weight * log p + bias), the weights and biases "
            "fitted on FER2013 PublicTest (models/fit_ensemble.py)."
        ),
        "labels": list(EXPRESSIONS),
        "mirror": mirror,
        "members": [
            {
                "file": f"{name}.onnx",
                "sha256": hashlib.sha256((MODELS / f"{name}.onnx").read_bytes()).hexdigest(),
                "weight": round(float(w), 6),
            }
            for name, w in zip(names, weights, strict=True)
        ],
        "bias": [round(float(b), 6) for b in bias],
        "licence": "MIT",
        "attribution": "the members' cards say whose models they are; the combination: MoodPlayer",
        "fitted_on": (
            "FER2013 PublicTest (3,589 faces; FER2013 Training is in the Xceptions' training "
            "data), log-loss"
            + (
                f" with face-api.js's weight fixed at {weight:.2f} (the largest keeping the "
                f"5-fold CV accuracy on PublicTest >= {args.target:.0%})"
                if fixed
                else ""
            )
            + f", then a recall floor of {args.min_recall} per expression"
        ),
        "figures": {"fit_publictest": chosen_fit},
    }
    if args.measure:
        print("measured once (PrivateTest: no choice made on it; all of test: half is PublicTest):")
        sets: list[tuple[str, dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]] = [
            ("privatetest", part(private), labels["test"][private]),
            ("test", part(np.ones(len(test_paths), bool)), labels["test"]),
        ]
        if args.posed is not None:
            posed_paths, posed_y = read_posed(args.posed)
            posed_cache = args.posed.parent / "cache"
            posed = {n: member_outputs(n, posed_paths, posed_cache, "posed") for n in MEMBERS}
            sets.append(("posed", posed, posed_y))
        for label, out, ty in sets:
            tests: dict[str, dict[str, Any]] = {}
            for i, name in enumerate(MEMBERS):
                tests[name] = figures(np.exp(log_probs(out, False)[i]), ty)
                tests[name + " +mirror"] = figures(np.exp(log_probs(out, True)[i]), ty)
            tests["mean of 3 +mirror"] = figures(np.exp(log_probs(out, True)).mean(axis=0), ty)
            tests[f"free rule: {label_of(plain_names, plain_mirror)}"] = figures(
                combine(log_probs(out, plain_mirror, plain_names), *plain), ty
            )
            tests["chosen"] = figures(combine(log_probs(out, mirror, names), weights, bias), ty)
            print(f"-- {label}" + (f" ({args.posed}: only measured)" if label == "posed" else ""))
            for name, f in tests.items():
                print(line(name, f))
            card["figures"][label] = tests["chosen"] | {
                "members": {n: tests[n]["accuracy"] for n in MEMBERS}
            }
        if args.posed is not None:
            card["figures"]["posed"]["set"] = POSED_SET
    args.out.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
