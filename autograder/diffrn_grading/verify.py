"""Verdicts that student code cannot reach, and a scan for code worth a human look.

nbgrader runs the student's code and the tests in one kernel, so a notebook can make a
test pass without a right answer (patch ``np.allclose``, return an object whose ``__eq__``
is always True, replace the checks module...). Here the grader re-checks every test cell:

1. The student's code runs again in a separate sandbox process (:mod:`diffrn_grading.sandbox`,
   forked by :mod:`diffrn_grading.zygote`), which only reports the answers, as plain numbers.
2. The cases are rebuilt and judged in *this* process, which never ran student code.

A test cell keeps nbgrader's score only if this check agrees. A cell that passed in the kernel
but fails here is scored zero and the submission is flagged for review.
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECK_MODULE = re.compile(r"from\s+(diffrn\.checks\.\w+)\s+import\s+check\b")
CHECK_CALL = re.compile(r"check\.(?P<exercise>\w+)\(\s*(?P<function>\w+)\s*(?P<options>(?:,\s*\w+\s*=\s*[^,()]+)*),?\s*\)")
OPTION = re.compile(r"(\w+)\s*=\s*(?:True|[\"']([\w/-]*)[\"'])")

# Patterns that do not belong in an honest answer to these exercises. A match is not a
# verdict: it puts the submission on the instructor's review list with the line quoted.
SUSPICIOUS = [
    (re.compile(r"\b(np|numpy)(\.\w+)+\s*=(?!=)"), "assigns to a numpy attribute (monkeypatching)"),
    (re.compile(r"\bsetattr\s*\("), "uses setattr (possible monkeypatching)"),
    (re.compile(r"\bbuiltins\b|__builtins__"), "touches builtins"),
    (re.compile(r"\bsys\.modules\b"), "edits sys.modules"),
    (re.compile(r"\bmeta_path\b|\bpath_hooks\b"), "changes how modules are imported"),
    (re.compile(r"def\s+__(eq|ne|bool|array|float|array_ufunc|array_function)__"), "defines a comparison/array dunder"),
    (re.compile(r"diffrn\.checks|diffrn_grading|from\s+diffrn\s+import\s+checks"), "imports the grading code"),
    (re.compile(r"\b(gradebook|autograder|solutions/|source/)"), "refers to instructor files"),
    (re.compile(r"\b(exec|eval|compile|__import__)\s*\("), "runs dynamically built code"),
    (re.compile(r"\bimportlib\b"), "imports modules by name at run time"),
    (re.compile(r"\b(ctypes|gc\.get_objects|inspect\.stack|sys\._getframe)"), "inspects or patches the interpreter"),
    (re.compile(r"\bos\._exit\b|\bsys\.exit\b|\bsignal\.signal\b"), "exits the kernel or catches signals"),
]


@dataclass
class TestPlan:
    """What one graded test cell checks: (exercise, student function, part) triples."""

    grade_id: str
    calls: list[tuple[str, str, str, str]] = field(default_factory=list)  # (exercise, function, part, salt)


def plan_tests(source_notebook) -> tuple[str | None, dict[str, TestPlan]]:
    """Read the instructor's notebook: the checks module and what each grade cell calls."""
    module = None
    plans: dict[str, TestPlan] = {}
    for cell in source_notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        found = CHECK_MODULE.search(cell.source) if cell.cell_type == "code" else None
        if found and module is None:
            module = found.group(1)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        plan = TestPlan(meta["grade_id"])
        for call in CHECK_CALL.finditer(cell.source):
            options = {key: value for key, value in OPTION.findall(call.group("options"))}
            part = options.get("part") or ("hidden" if "hidden" in options else "visible")
            plan.calls.append((call.group("exercise"), call.group("function"), part, options.get("salt", "")))
        if plan.calls:
            plans[plan.grade_id] = plan
    return module, plans


SUMMARY_CALL = re.compile(r"^\s*check\.summary\(")


def student_cells(notebook) -> list[str]:
    """The code the student's functions depend on: every code cell that is not a test.

    The closing summary cell (``check.summary(globals())``) only re-runs the visible checks
    for the student's eyes, so the re-check leaves it out.
    """
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        if meta.get("locked") and SUMMARY_CALL.match(cell.source):
            continue
        cells.append(cell.source)
    return cells


IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*))")


def imported_modules(line: str) -> list[str]:
    """The modules an ``import`` or ``from ... import`` line names (empty for any other line)."""
    found = IMPORT.match(line)
    if not found:
        return []
    if found.group(1):
        return [found.group(1)]
    return [part.split()[0] for part in found.group(2).split(",")]


def scan(notebook) -> list[str]:
    """Lines of student code that deserve a human look, with the reason."""
    from diffrn_grading.sandbox import allowed_module

    flags = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked"):
            continue
        for number, line in enumerate(cell.source.splitlines(), 1):
            refused = [name for name in imported_modules(line) if not allowed_module(name)]
            if refused:
                flags.append(f"imports {', '.join(refused)} (answers may use numpy and the standard library only; "
                             f"the function in this cell earns nothing): `{line.strip()[:100]}`")
            for pattern, reason in SUSPICIOUS:
                if pattern.search(line):
                    flags.append(f"{reason}: `{line.strip()[:100]}`")
    return flags


def verify(source_notebook, student_notebook, student: str, seconds: float = 120, cell_timeout: float = 60,
           memory_bytes: int = 4 * 2**30, per_cell: bool = False,
           only: set[str] | None = None) -> dict[str, tuple[bool, str]]:
    """Judge every test cell (or those ``only`` names) out of the student's reach, within ``seconds`` in all.

    Returns grade_id -> (passed, message). All cells are checked in one sandbox run (given at
    most ``cell_timeout`` and half the time); if that run hangs or crashes (or ``per_cell`` is
    set), each test cell gets a sandbox of its own, so one function that loops forever or kills
    its process costs only its own tests. Each of those gets at most ``cell_timeout`` and an
    equal share of the time left, so code that loops in every sandbox still ends in ``seconds``.
    """
    module, plans = plan_tests(source_notebook)
    if only is not None:
        plans = {grade_id: plan for grade_id, plan in plans.items() if grade_id in only}
    if module is None or not plans:
        return {}
    deadline = time.monotonic() + seconds
    cells = student_cells(student_notebook)
    if not per_cell:
        timeout = min(cell_timeout, seconds / 2)
        verdicts, finished = _verify_group(module, list(plans.values()), cells, student, timeout, memory_bytes)
        if finished:
            return verdicts
    verdicts = {}
    remaining = list(plans.values())
    while remaining:
        plan = remaining.pop(0)
        share = (deadline - time.monotonic()) / (len(remaining) + 1)
        if share < MIN_SANDBOX_SECONDS:
            verdicts[plan.grade_id] = (False, OUT_OF_TIME)
            continue
        verdicts.update(_verify_group(module, [plan], cells, student, min(cell_timeout, share), memory_bytes)[0])
    return verdicts


# Below this, a sandbox could not even load numpy and the student's cells: not worth starting.
MIN_SANDBOX_SECONDS = 0.5
OUT_OF_TIME = "was not re-checked: the submission had used its time budget (its code loops outside the notebook's kernel?)"
TIMED_OUT = "did not finish within {seconds:.0f} s (an infinite loop?)"
REFUSED_IMPORT = ", but answers may use numpy and the standard library only, so it earns nothing"


def ran_out_of_time(message: str) -> bool:
    """Whether a verdict's message says the re-check ran out of time (rather than a wrong answer)."""
    return message == OUT_OF_TIME or message.startswith(TIMED_OUT.split("{")[0])


def _verify_group(module, plans, cells, student, timeout, memory_bytes):
    """Run one sandbox for ``plans``; returns (verdicts, whether the sandbox finished)."""
    import importlib

    from diffrn.checks.core import Answer, CheckFailure, judge_collected
    from diffrn.checks.seeding import student_cases
    from diffrn_grading.course import student_env
    from diffrn_grading.zygote import fork

    tasks = [
        {"grade_id": plan.grade_id, "exercise": exercise, "function": function, "part": part, "salt": salt}
        for plan in plans for exercise, function, part, salt in plan.calls
    ]
    with tempfile.TemporaryDirectory(prefix="diffrn-sandbox-") as folder:
        request = Path(folder) / "request.json"
        result = Path(folder) / "result.json"
        request.write_text(json.dumps({"module": module, "tasks": tasks, "cells": cells}))
        process = fork("sandbox", env=student_env(student), cwd=folder, request_path=str(request), result_path=str(result),
                       memory_bytes=memory_bytes, cpu_seconds=timeout)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            try:
                process.wait(timeout=5)  # once it has ended, its scratch folder is removed
            except subprocess.TimeoutExpired:
                pass
            reason = TIMED_OUT.format(seconds=timeout)
            return {plan.grade_id: (False, reason) for plan in plans}, False
        try:
            outcomes = json.loads(result.read_text())
        except (OSError, ValueError):
            reason = "the code ended its Python process before its answers were recorded"
            return {plan.grade_id: (False, reason) for plan in plans}, False

    checks = importlib.import_module(module).check
    verdicts: dict[str, tuple[bool, str]] = {plan.grade_id: (True, "") for plan in plans}
    for task, outcome in zip(tasks, outcomes):
        if not verdicts[task["grade_id"]][0]:
            continue
        refused = outcome.get("refused") or []
        if refused:
            verdicts[task["grade_id"]] = (False, f"`{task['function']}` imports {', '.join(refused)}{REFUSED_IMPORT}")
            continue
        if outcome.get("missing"):
            verdicts[task["grade_id"]] = (False, f"`{task['function']}` is not defined" + _refused_note(outcome))
            continue
        cases = student_cases(checks.exercises[task["exercise"]], task["part"], student, task["salt"])
        try:
            if len(outcome["collected"]) != len(cases):
                raise CheckFailure("the re-check returned a different number of answers than cases")
            for case, record in zip(cases, outcome["collected"]):
                answer = None if record["answer"] is None else Answer.from_json(record["answer"])
                modified = record["modified"]
                judge_collected(case, {"answer": answer, "error": str(record["error"] or ""),
                                       "modified": None if modified is None else int(modified)})
        except CheckFailure as failure:
            verdicts[task["grade_id"]] = (False, str(failure) + _refused_note(outcome))
        except Exception as error:  # malformed answers: the student's process sent nonsense
            verdicts[task["grade_id"]] = (False, f"unreadable answer ({type(error).__name__})")
    return verdicts, True


def refused_import(message: str) -> bool:
    """Whether a re-check's verdict is that the function imported what answers may not use."""
    return message.endswith(REFUSED_IMPORT)


def _refused_note(outcome: dict) -> str:
    """Why a function may have failed only here: the notebook imports what answers may not use."""
    elsewhere = outcome.get("refused_anywhere") or []
    if not elsewhere:
        return ""
    return (f" (the notebook imports {', '.join(elsewhere)}, which the grader does not load: answers may use "
            "numpy and the standard library only)")
