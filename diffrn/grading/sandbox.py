"""Run a student's code in a throw-away process and record its answers as plain data.

:func:`main` reads a JSON request (the student's code cells, the checks module, and which
exercise parts to collect), executes the code, calls the student's functions on each case
and writes the described answers to RESULT as JSON. The grader runs it in a confined fork of
its zygote (:mod:`diffrn.grading.zygote`); ``python -m diffrn.grading.sandbox REQUEST RESULT``
runs it by hand, for debugging.

This process is the student's: their code may patch numpy, builtins or the checks here. It
can only change the answers it reports, which the student controls anyway. The verdicts are
computed by the grader's own process from these answers (see :mod:`diffrn.grading.verify`).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys


def main(request_path: str, result_path: str) -> None:
    request = json.loads(open(request_path).read())
    # Imported before student code runs, so the objects used below are the originals.
    from diffrn.checks.core import collect_answer
    from diffrn.checks.seeding import rng_for

    checks = importlib.import_module(request["module"]).check
    plans = []
    for task in request["tasks"]:
        exercise = checks.exercises[task["exercise"]]
        rng = (None if task["part"] == "visible"
               else rng_for(f"{task['exercise']}/{task['part']}", request["student"], salt=task["salt"]))
        plans.append((task, exercise.cases(task["part"], rng)))

    namespace = {"__name__": "__main__"}
    sink = io.StringIO()
    for code in request["cells"]:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            try:
                exec(compile(code, "<student cell>", "exec"), namespace)
            except BaseException:  # a broken cell must not stop the others, as in a notebook
                pass

    results = []
    for task, cases in plans:
        function = namespace.get(task["function"])
        if function is None:
            results.append({"missing": True, "collected": []})
            continue
        collected = []
        for case in cases:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                try:
                    record = collect_answer(function, case)
                except BaseException as error:  # SystemExit and friends: report, keep going
                    record = {"answer": None, "error": f"{type(error).__name__}: {error}"[:500], "modified": None}
            answer = record["answer"]
            collected.append({"answer": None if answer is None else answer.to_json(),
                              "error": record["error"], "modified": record["modified"]})
        results.append({"missing": False, "collected": collected})
    with open(result_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
