"""A few-minute CPU training probe: how far a small CNN gets on FER2013 here, in minutes.

Not the distillation (models/README.md says what that would be); it answers one question:
can a short CPU run on this kind of machine show a student reaching 67 %? A 72,247-parameter
CNN (48x48 grey; 3x3 convolutions 16-16 / 32-32 / 64-64 with ReLU and 2x2 max-pools, global
average, a 7-way linear layer), Adam 1e-3, batch 64, mirrored faces as augmentation, seed 0,
trained on ``fit.csv`` (hard labels) for ``--seconds`` of wall-clock time; accuracy on
``val.csv`` (15 % of FER2013 Training, held out from this student; never FER2013 test) every
minute. Needs JAX (``pip install jax``: Apache-2.0, not a MoodPlayer dependency).

    python models/train_probe.py --data /work/data/fer2013 --seconds 300
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CHANNELS = [(1, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64)]
BATCH = 64


def load(data: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    with (data / name).open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    faces = np.stack([cv2.imread(str(data / r[0]), cv2.IMREAD_GRAYSCALE) for r in rows])
    return (faces.astype(np.float32) / 127.5 - 1)[..., None], np.array(
        [LABELS.index(r[1]) for r in rows]
    )


def main(argv: list[str] | None = None) -> int:
    import jax
    import jax.numpy as jnp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="models/fer2013.py's --out")
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    x_fit, y_fit = load(args.data, "fit.csv")
    x_val, y_val = load(args.data, "val.csv")
    keys = jax.random.split(jax.random.PRNGKey(0), len(CHANNELS) + 1)
    params: list[Any] = [
        (jax.random.normal(k, (3, 3, a, b)) * np.sqrt(2 / (9 * a)), jnp.zeros(b))
        for k, (a, b) in zip(keys, CHANNELS, strict=False)
    ]
    params.append((jax.random.normal(keys[-1], (64, 7)) * 0.05, jnp.zeros(7)))
    size = sum(int(np.prod(w.shape)) + int(b.size) for w, b in params)
    print(f"{len(x_fit)} fit faces, {len(x_val)} val faces, {size} parameters", flush=True)

    def forward(p: list[Any], x: Any) -> Any:
        for i, (w, b) in enumerate(p[:-1]):
            x = jax.lax.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            x = jax.nn.relu(x + b)
            if i % 2 == 1:
                x = jax.lax.reduce_window(
                    x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
                )
        w, b = p[-1]
        return x.mean(axis=(1, 2)) @ w + b

    def loss(p: list[Any], x: Any, y: Any) -> Any:
        return -jnp.mean(jax.nn.log_softmax(forward(p, x))[jnp.arange(len(y)), y])

    @jax.jit
    def step(p: Any, m: Any, v: Any, t: Any, x: Any, y: Any) -> Any:
        g = jax.grad(loss)(p, x, y)
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)

        def update(p: Any, m: Any, v: Any) -> Any:
            return p - 1e-3 * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-8)

        return jax.tree.map(update, p, m, v), m, v

    predict = jax.jit(lambda p, x: forward(p, x).argmax(axis=1))

    def val_accuracy(p: Any) -> float:
        preds = [np.asarray(predict(p, x_val[i : i + 512])) for i in range(0, len(x_val), 512)]
        return float(np.mean(np.concatenate(preds) == y_val))

    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    rng = np.random.default_rng(0)
    t, seen = 0, 0
    start = time.monotonic()
    report_at = start + 60
    while time.monotonic() - start < args.seconds:
        order = rng.permutation(len(x_fit))
        for i in range(0, len(order) - BATCH + 1, BATCH):
            batch = order[i : i + BATCH]
            x = x_fit[batch].copy()
            flip = rng.random(BATCH) < 0.5
            x[flip] = x[flip, :, ::-1]
            t += 1
            params, m, v = step(params, m, v, t, jnp.asarray(x), jnp.asarray(y_fit[batch]))
            seen += BATCH
            done = time.monotonic() - start >= args.seconds
            if done or time.monotonic() >= report_at:
                print(
                    f"{time.monotonic() - start:5.0f} s  {seen / len(x_fit):.2f} epochs  "
                    f"val {100 * val_accuracy(params):.2f} %",
                    flush=True,
                )
                report_at = time.monotonic() + 60
            if done:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
