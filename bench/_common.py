"""Shared helpers of the benchmarks: timing, output lines, the MLP of the engine benchmarks.

Every benchmark prints one line per figure, ``name: value``, and nothing else on stdout
(progress and warnings go to stderr), so that ``make bench`` output can be read back by
``bench/update_readme.py``.

BLAS threads: unless ``OPENBLAS_NUM_THREADS`` is already set, the benchmarks run OpenBLAS
on one thread. The figures are ratios between pieces of Python around the same matrix
products; on a shared machine a multithreaded BLAS mostly measures whoever else is using
the cores (a waiting thread costs a whole time slice), and the ratios jump by a factor
of several from run to run. ``bench/engine.py`` also reports its ratios with one BLAS thread
per core, in a separate process. ``OPENBLAS_CORETYPE`` is left as it is and reported.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO / "_build" / "bench"

# The network of the engine benchmarks: 784-512-512-10, batch 128, float64.
MLP_SIZES = (784, 512, 512, 10)
MLP_BATCH = 128


def emit(name: str, value, fmt: str = "{:.3g}") -> None:
    """Print one figure as ``name: value`` (numbers formatted with ``fmt``)."""
    text = fmt.format(value) if isinstance(value, (int, float, np.floating)) else str(value)
    print(f"{name}: {text}", flush=True)


def note(message: str) -> None:
    """Progress for the person watching (stderr, so it never mixes with the figures)."""
    print(message, file=sys.stderr, flush=True)


def interleaved_times(functions: dict, rounds: int, warmup: int = 3) -> dict:
    """Time each function ``rounds`` times, taking turns, after ``warmup`` untimed calls each.

    Taking turns means a slow spell of the machine (another process, a frequency change)
    hits every function alike, so the ratios of the medians stay meaningful.

    Returns:
        ``{name: list of seconds}``.
    """
    for _ in range(warmup):
        for function in functions.values():
            function()
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def median(values) -> float:
    return float(statistics.median(values))


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


# ----- the MLP ---------------------------------------------------------------------------------

def mlp_loss(np_):
    """Softmax cross-entropy of a tanh MLP, written once for any numpy-like module.

    ``params`` is a list of ``(W, b)`` pairs, ``X`` the batch (rows), ``Y`` one-hot labels.
    """
    def loss(params, X, Y):
        *hidden, (W_out, b_out) = params
        h = X
        for W, b in hidden:
            h = np_.tanh(h @ W + b)
        logits = h @ W_out + b_out
        shifted = logits - np_.max(logits, axis=1, keepdims=True)
        log_probs = shifted - np_.log(np_.sum(np_.exp(shifted), axis=1, keepdims=True))
        return -np_.sum(log_probs * Y) / X.shape[0]
    return loss


def make_mlp(sizes=MLP_SIZES, batch=MLP_BATCH, seed=0):
    """Parameters (Glorot-scaled), a batch of inputs and one-hot labels, all float64."""
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b))
              for a, b in zip(sizes[:-1], sizes[1:])]
    X = rng.standard_normal((batch, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=batch)]
    return params, X, Y


# ----- what the machine is ----------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def openblas_runtime() -> dict:
    """The core type and thread count OpenBLAS chose at run time (empty if not OpenBLAS)."""
    import ctypes
    libs = Path(np.__file__).parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        info = {}
        for suffix in ("64_", ""):
            corename = getattr(lib, f"scipy_openblas_get_corename{suffix}", None)
            threads = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            if corename is not None:
                corename.restype = ctypes.c_char_p
                info["core"] = corename().decode()
            if threads is not None:
                threads.restype = ctypes.c_int
                info["threads"] = threads()
            if info:
                return info
    return {}


def blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{config['name']} {config.get('version', '')}".strip()
    except Exception:  # show_config's layout is not a stable API
        return "unknown"
