"""Machine information printed with the figures: cores, CPU, numpy and its BLAS."""
from __future__ import annotations

import os
import platform

from _common import blas_name, cpu_model, emit, openblas_runtime

import numpy as np


def main():
    emit("cpu_count", os.cpu_count())
    emit("cpu_model", cpu_model())
    emit("python", platform.python_version())
    emit("numpy", np.__version__)
    emit("blas", blas_name())
    runtime = openblas_runtime()
    emit("openblas_core", runtime.get("core", "n/a"))
    emit("blas_threads", runtime.get("threads", os.environ.get("OPENBLAS_NUM_THREADS", "n/a")))
    emit("openblas_coretype_env", os.environ.get("OPENBLAS_CORETYPE", "unset"))
    # Other work on the machine slows every figure down (ratios less than absolute times).
    emit("load_average_1min", os.getloadavg()[0], "{:.2f}")


if __name__ == "__main__":
    main()
