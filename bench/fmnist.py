"""Fashion-MNIST from Debian's dataset-fashion-mnist (IDX, gzip) as float32
arrays in [0, 1], as clbench reads it (pixels / 255)."""
import gzip

import numpy as np

DIR = "/usr/share/datasets/fashion-mnist"


def _read(name, offset):
    with gzip.open(f"{DIR}/{name}.gz", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split):
    """(x (n, 784) float32, y (n) int64) of split "train" or "t10k"."""
    x = _read(f"{split}-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255.0
    y = _read(f"{split}-labels-idx1-ubyte", 8).astype(np.int64)
    return x, y
