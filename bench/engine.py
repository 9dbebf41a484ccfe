"""The cheap-gradient principle, measured: the course's reverse-mode engine on an MLP loss.

For the softmax cross-entropy of a 784-512-512-10 tanh MLP on a batch of 128 (float64):

* ``engine_grad_over_forward``: time of ``value_and_grad`` over the time of the loss alone
  (plain numpy). Reverse mode promises a small constant (target <= 3).
* ``engine_vs_autograd``: the engine's ``value_and_grad`` time over HIPS autograd's for the
  same function in the same run (target <= 1).
* the same against PyTorch on the CPU, for information, when torch is installed.

Times are medians of interleaved repeats after a warm-up (see ``_common.interleaved_times``);
a ratio is the median of the ratios of the same round, so that a busy spell of the machine
cancels out. As for a training loop, the benchmark first calls
:func:`diffrn.autodiff.reuse_freed_memory` (glibc keeps freed heap pages for the next pass;
this process-wide setting helps autograd as much as the engine). The figures are printed like
that with one BLAS thread, then in new processes: without the allocator setting
(``[malloc=default]``), with one BLAS thread per core (OpenBLAS reads its thread count once),
and, when ``OPENBLAS_CORETYPE`` is set, with OpenBLAS choosing the core type itself.
"""
from __future__ import annotations

import os
import subprocess
import sys

from _common import MLP_BATCH, MLP_SIZES, emit, interleaved_times, make_mlp, median, mlp_loss, note

import numpy as np

ROUNDS = 60
CHILD_ENV = "DIFFRN_BENCH_ENGINE_SUFFIX"


def measure(suffix: str = "") -> None:
    import autograd
    import autograd.numpy as agnp

    from diffrn.autodiff import numpy as anp
    from diffrn.autodiff import reuse_freed_memory, value_and_grad

    reuse_freed_memory()  # a no-op when DIFFRN_MALLOC_TUNING=0

    params, X, Y = make_mlp()
    forward = mlp_loss(np)
    engine = value_and_grad(mlp_loss(anp))
    theirs = autograd.value_and_grad(mlp_loss(agnp))
    assert np.isclose(engine(params, X, Y)[0], forward(params, X, Y))

    times = interleaved_times({
        "forward": lambda: forward(params, X, Y),
        "engine": lambda: engine(params, X, Y),
        "autograd": lambda: theirs(params, X, Y),
    }, rounds=ROUNDS)
    t = {name: median(values) for name, values in times.items()}
    emit(f"mlp_forward_ms{suffix}", 1e3 * t["forward"], "{:.2f}")
    emit(f"engine_grad_ms{suffix}", 1e3 * t["engine"], "{:.2f}")
    emit(f"autograd_grad_ms{suffix}", 1e3 * t["autograd"], "{:.2f}")
    emit(f"engine_grad_over_forward{suffix}", round_ratio(times, "engine", "forward"), "{:.2f}")
    emit(f"autograd_grad_over_forward{suffix}", round_ratio(times, "autograd", "forward"), "{:.2f}")
    emit(f"engine_vs_autograd{suffix}", round_ratio(times, "engine", "autograd"), "{:.2f}")
    measure_torch(suffix, params, X, Y, times["engine"])


def round_ratio(times: dict, numerator: str, denominator: str) -> float:
    """Median over rounds of time[numerator] / time[denominator] measured in the same round."""
    return median([a / b for a, b in zip(times[numerator], times[denominator])])


def measure_torch(suffix, params, X, Y, engine_times) -> None:
    try:
        import torch
    except ImportError:
        if not suffix:  # said once, not again for every BLAS setting
            emit("torch", "not installed")
        return
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count())))
    loss = mlp_loss(torch)
    tensors = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    leaves = [p for pair in tensors for p in pair]
    tX, tY = torch.tensor(X), torch.tensor(Y)

    def forward():
        with torch.no_grad():
            return loss(tensors, tX, tY)

    def value_and_gradient():
        value = loss(tensors, tX, tY)
        return value, torch.autograd.grad(value, leaves)

    times = interleaved_times({"forward": forward, "grad": value_and_gradient}, rounds=ROUNDS)
    emit(f"torch_grad_ms{suffix}", 1e3 * median(times["grad"]), "{:.2f}")
    emit(f"torch_grad_over_forward{suffix}", round_ratio(times, "grad", "forward"), "{:.2f}")
    emit(f"engine_vs_torch{suffix}", median(engine_times) / median(times["grad"]), "{:.2f}")


def run_child(suffix: str, **env) -> None:
    """Measure again in a fresh process with a different BLAS setting (printed with a suffix)."""
    child_env = {**os.environ, CHILD_ENV: suffix}
    for name, value in env.items():
        if value is None:
            child_env.pop(name, None)
        else:
            child_env[name] = value
    result = subprocess.run([sys.executable, __file__], env=child_env, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    if result.returncode != 0:
        note(result.stderr)
        raise SystemExit(f"the engine benchmark failed with {env}")


def main() -> None:
    if CHILD_ENV in os.environ:
        measure(os.environ[CHILD_ENV])
        return
    note(f"engine: MLP {'-'.join(map(str, MLP_SIZES))}, batch {MLP_BATCH}, float64, {ROUNDS} rounds")
    measure()
    run_child("[malloc=default]", DIFFRN_MALLOC_TUNING="0")
    cores = os.cpu_count() or 1
    if cores > 1 and os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        run_child(f"[blas_threads={cores}]", OPENBLAS_NUM_THREADS=str(cores))
    if os.environ.get("OPENBLAS_CORETYPE"):
        run_child("[coretype=auto]", OPENBLAS_CORETYPE=None)


if __name__ == "__main__":
    main()
