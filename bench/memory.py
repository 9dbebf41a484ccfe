"""Peak memory of a gradient against the function alone, for the MLP of ``bench/engine.py``.

Reverse mode keeps every intermediate value of the forward pass until the backward pass has
used it, so its peak memory is a multiple of the function's (which frees each intermediate
as soon as the next one is made). Two ways of counting, both over what exists before the
call (parameters and batch):

* ``tracemalloc``: the bytes Python and numpy allocate (numpy reports its array buffers);
  exact and repeatable. ``engine_grad_peak_mem_ratio`` is this one.
* resident set (Linux): the peak resident set of a fresh process during one call (its
  high-water mark is reset just before, through ``/proc/self/clear_refs``), minus the
  resident set just before: what the operating system sees. Heap pages freed earlier in the
  process are reused without showing up, so this counts only what the call adds.
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc

from _common import emit, make_mlp, mlp_loss

import numpy as np

CHILD_ENV = "DIFFRN_BENCH_MEMORY_CASE"
MB = 2 ** 20


def calls():
    """The three computations compared, each a function of no arguments."""
    import autograd
    import autograd.numpy as agnp

    from diffrn.autodiff import numpy as anp
    from diffrn.autodiff import value_and_grad

    params, X, Y = make_mlp()
    forward = mlp_loss(np)
    engine = value_and_grad(mlp_loss(anp))
    theirs = autograd.value_and_grad(mlp_loss(agnp))
    return {
        "forward": lambda: forward(params, X, Y),
        "engine": lambda: engine(params, X, Y),
        "autograd": lambda: theirs(params, X, Y),
    }


def traced_peak(function) -> int:
    """Peak bytes allocated during ``function()`` above what was allocated before it."""
    function()  # warm-up: caches and lazily built tables are not part of the peak
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak - before


def rss_growth(case: str) -> int | None:
    """Peak resident set (bytes) a fresh process adds during one call of ``case``; None if the
    system cannot tell."""
    env = {**os.environ, CHILD_ENV: case}
    result = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, check=True)
    answer = result.stdout.strip()
    return None if answer == "n/a" else int(answer)


def _status_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(case: str) -> None:
    function = calls()[case]
    gc.collect()
    try:
        before = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # 5: reset the peak resident set to the current one
        function()
        print((_status_kb("VmHWM") - before) * 1024)
    except OSError:
        print("n/a")


def main() -> None:
    if CHILD_ENV in os.environ:
        child(os.environ[CHILD_ENV])
        return
    peaks = {name: traced_peak(function) for name, function in calls().items()}
    emit("mlp_forward_peak_mb", peaks["forward"] / MB, "{:.2f}")
    emit("engine_grad_peak_mb", peaks["engine"] / MB, "{:.2f}")
    emit("autograd_grad_peak_mb", peaks["autograd"] / MB, "{:.2f}")
    emit("engine_grad_peak_mem_ratio", peaks["engine"] / peaks["forward"], "{:.2f}")
    emit("autograd_grad_peak_mem_ratio", peaks["autograd"] / peaks["forward"], "{:.2f}")
    rss = {name: rss_growth(name) for name in ("forward", "engine", "autograd")}
    if None in rss.values():
        emit("rss_growth", "n/a (no /proc/self/clear_refs)")
        return
    emit("mlp_forward_rss_growth_mb", rss["forward"] / MB, "{:.2f}")
    emit("engine_grad_rss_growth_mb", rss["engine"] / MB, "{:.2f}")
    emit("autograd_grad_rss_growth_mb", rss["autograd"] / MB, "{:.2f}")
    emit("engine_grad_rss_ratio", rss["engine"] / max(rss["forward"], 1), "{:.2f}")


if __name__ == "__main__":
    main()
