"""Keep freed array memory in the process between backward passes (Linux, glibc only).

A backward pass allocates arrays as large as the forward pass's (cotangents, one gradient per
parameter) and frees them all when it ends. With glibc's default heuristics the freed top of
the heap is handed back to the operating system as soon as it exceeds a few megabytes, and the
next pass faults every page in again: for the 784-512-512-10 MLP of the benchmark that is about
2,800 page faults (11 MB) per training step, a third of its time.

:func:`reuse_freed_memory` fixes glibc's thresholds instead (arrays below 32 MiB come from the
heap, and up to 256 MiB of free heap is kept for reuse), much as deep-learning frameworks
cache their own allocations. It changes the whole process, so nothing calls it on import:
call it once before a training loop or a benchmark. ``DIFFRN_MALLOC_TUNING=0`` turns the
call into a no-op. Elsewhere (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 256 * 2**20


def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed heap memory for reuse. Returns True if the settings were applied."""
    if os.environ.get("DIFFRN_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Both must be set: fixing one of them turns off glibc's adjustment of the other.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
