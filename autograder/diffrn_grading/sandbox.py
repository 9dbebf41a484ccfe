"""Run a student's code in a throw-away process and record its answers as plain data.

:func:`main` reads a JSON request (the student's code cells, the checks module, and which
exercise parts to collect), executes the code, calls the student's functions on each case
and writes the described answers to RESULT as JSON. The grader runs it in a confined fork of
its zygote (:mod:`diffrn_grading.zygote`); ``python -m diffrn_grading.sandbox REQUEST RESULT``
runs it by hand, for debugging.

This process is the student's: their code may patch numpy, builtins or the checks here. It
can only change the answers it reports, which the student controls anyway. The verdicts are
computed by the grader's own process from these answers (see :mod:`diffrn_grading.verify`).

Answers may use numpy and the standard library only (the exercise contract). Before any
student code runs, :class:`ImportGuard` forgets every other module this process had loaded
and refuses to import one, however the import is spelled (``import``, ``importlib``,
``__import__`` of a built-up string, a look into ``sys.modules``); each refusal is reported
with the function it cost. The confinement of the fork (:mod:`diffrn_grading.confine`) also
keeps the files of other packages unreadable, so undoing the guard from Python gains nothing.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import types


def allowed_module(name: str) -> bool:
    """Whether student code may import ``name``: numpy, the standard library, the course's checks."""
    top = name.split(".")[0]
    if top == "diffrn":
        return name == "diffrn" or name == "diffrn.checks" or name.startswith("diffrn.checks.")
    return top == "numpy" or top in sys.stdlib_module_names or top == "__main__"


class ImportGuard:
    """A meta-path finder that refuses every module :func:`allowed_module` does not allow.

    ``attempts`` lists the refused names in order; :meth:`since` reads the ones refused after
    a mark, so the sandbox can charge each refusal to the cell or call that made it.
    """

    def __init__(self):
        self.attempts: list[str] = []

    def find_spec(self, name, path=None, target=None):
        if allowed_module(name):
            return None  # let the normal finders load it
        self.attempts.append(name)
        raise ModuleNotFoundError(
            f"No module named {name!r} here: answers may use numpy and the standard library only", name=name)

    def since(self, mark: int) -> list[str]:
        return list(dict.fromkeys(self.attempts[mark:]))

    def install(self) -> None:
        """Forget every loaded module that is not allowed, then refuse to load one again."""
        package = sys.modules.get("diffrn")
        for name in [name for name in sys.modules if not allowed_module(name)]:
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent == "diffrn" and isinstance(package, types.ModuleType):
                package.__dict__.pop(child, None)  # `diffrn.autodiff` must not stay reachable as an attribute
        importlib.invalidate_caches()
        sys.meta_path.insert(0, self)


def main(request_path: str, result_path: str) -> None:
    request = json.loads(open(request_path).read())
    # Imported before student code runs, so the objects used below are the originals.
    from diffrn.checks.core import collect_answer
    from diffrn.checks.seeding import student_cases

    checks = importlib.import_module(request["module"]).check
    plans = []
    for task in request["tasks"]:
        exercise = checks.exercises[task["exercise"]]
        # The student is the one named in the environment this process was started with.
        plans.append((task, student_cases(exercise, task["part"], salt=task["salt"])))

    guard = ImportGuard()
    guard.install()
    namespace = {"__name__": "__main__"}
    refused_by_cell: dict[str, list[str]] = {}  # function name -> modules its cell tried to import
    refused_anywhere: list[str] = []
    sink = io.StringIO()
    for code in request["cells"]:
        before = dict(namespace)
        mark = len(guard.attempts)
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            try:
                exec(compile(code, "<student cell>", "exec"), namespace)
            except BaseException:  # a broken cell must not stop the others, as in a notebook
                pass
        refused = guard.since(mark)
        refused_anywhere += refused
        if refused:
            for name in _names_the_cell_would_define(code) | {k for k, v in namespace.items() if before.get(k) is not v}:
                refused_by_cell[name] = refused

    results = []
    for task, cases in plans:
        function = namespace.get(task["function"])
        refused = list(refused_by_cell.get(task["function"], []))
        if function is None:
            results.append({"missing": True, "collected": [], "refused": refused,
                            "refused_anywhere": list(dict.fromkeys(refused_anywhere))})
            continue
        collected = []
        mark = len(guard.attempts)
        for case in cases:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                try:
                    record = collect_answer(function, case)
                except BaseException as error:  # SystemExit and friends: report, keep going
                    record = {"answer": None, "error": f"{type(error).__name__}: {error}"[:500], "modified": None}
            answer = record["answer"]
            collected.append({"answer": None if answer is None else answer.to_json(),
                              "error": record["error"], "modified": record["modified"]})
        refused += guard.since(mark)
        results.append({"missing": False, "collected": collected, "refused": list(dict.fromkeys(refused)),
                        "refused_anywhere": list(dict.fromkeys(refused_anywhere))})
    with open(result_path, "w") as handle:
        json.dump(results, handle)


def _names_the_cell_would_define(code: str) -> set[str]:
    """Top-level function names a cell defines, even when it stopped before defining them."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
