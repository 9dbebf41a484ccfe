"""Grading on a Dask cluster: what one submission costs, and the wall time projected for a MOOC.

The class of ``bench/grading.py`` (ps1-jacobians, a third of it with a typical mistake) is
graded with ``--cluster`` on a Dask cluster of this machine alone: a scheduler and one worker
process per core, one thread each, as the README tells instructors to start them. Prints

* ``cluster_seconds``: wall time of the whole run (connecting, release, grading, report);
* ``cluster_worker_seconds_median``: one submission's grading time on a worker (its
  StudentResult.seconds), and ``cluster_record_seconds_median``: the submitting process's time
  to record one result (files, gradebook transaction, marker), which does not spread out;
* ``cluster_projected_minutes_10000_on_<M>``: minutes for 10 000 submissions on M machines
  like this one, assuming grading time spreads evenly over the machines' cores and the
  single writer keeps up: max(10 000 × wall per submission here / M, 10 000 × record time).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import emit

from grading import STUDENTS, make_course

MOOC = 10_000


def main() -> None:
    from distributed import LocalCluster

    import diffrn_grading.batch as batch
    from diffrn_grading.worker import Limits

    worker_seconds, record_seconds = [], []
    record = batch._record

    def timed_record(course, gradebook, assignment, result, fingerprint):
        started = time.perf_counter()
        record(course, gradebook, assignment, result, fingerprint)
        record_seconds.append(time.perf_counter() - started)
        worker_seconds.append(result.seconds)

    batch._record = timed_record
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="diffrn-cluster-bench-") as folder, \
            LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None,
                         host="127.0.0.1", local_directory=folder) as cluster:
        (Path(folder) / "course").mkdir()
        course = make_course(Path(folder) / "course")
        started = time.perf_counter()
        batch.grade_assignment(course, "ps1-jacobians", limits=Limits(), quiet=True, cluster=cluster.scheduler_address)
        wall = time.perf_counter() - started

    per_submission = wall / STUDENTS
    record_median = statistics.median(record_seconds)
    emit("cluster_students", STUDENTS, "{:d}")
    emit("cluster_cores", cores, "{:d}")
    emit("cluster_seconds", wall, "{:.1f}")
    emit("cluster_worker_seconds_median", statistics.median(worker_seconds), "{:.2f}")
    emit("cluster_record_seconds_median", record_median, "{:.3f}")
    for machines in (1, 4, 16):
        minutes = max(MOOC * per_submission / machines, MOOC * record_median) / 60
        emit(f"cluster_projected_minutes_{MOOC}_on_{machines}", minutes, "{:.0f}")
    print(f"(per submission here: {per_submission:.2f} s of wall time on {cores} cores)", file=sys.stderr)


if __name__ == "__main__":
    main()
