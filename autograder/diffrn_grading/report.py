"""The instructor's report after a batch: pass rate per test, review list, score histogram."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from diffrn_grading.course import Course


def write_report(course: Course, assignment: str, summary) -> Path:
    """Write ``reports/<ps>/`` with test_pass_rates.csv, review.txt and scores.png."""
    from nbgrader.api import Gradebook

    folder = course.report_folder(assignment)
    folder.mkdir(parents=True, exist_ok=True)
    passed: dict[str, list[int]] = {}
    with Gradebook(course.gradebook_url) as gradebook:
        for submission in gradebook.find_assignment(assignment).submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type != "code":
                        continue
                    tally = passed.setdefault(grade.name, [0, 0])
                    tally[1] += 1
                    tally[0] += int((grade.auto_score or 0) >= grade.max_score > 0)
    with open(folder / "test_pass_rates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["test", "passed", "submissions", "pass_rate"])
        for name, (ok, total) in sorted(passed.items(), key=lambda item: item[1][0] / max(item[1][1], 1)):
            writer.writerow([name, ok, total, f"{ok / max(total, 1):.3f}"])
    lines = [f"{student}: {reason}" for student, reason in sorted(summary.failed.items())]
    lines += [f"{student}: {flag}" for student, flags in sorted(summary.flagged.items()) for flag in flags]
    (folder / "review.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    (folder / "summary.json").write_text(json.dumps({
        "graded": summary.graded, "failed": summary.failed, "flagged": summary.flagged,
        "max_score": summary.max_score,
    }, indent=1))
    _histogram(summary.scores(), summary.max_score, folder / "scores.png", assignment)
    return folder


def _histogram(scores, max_score: float, path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    bins = max(int(max_score), 1) + 1
    ax.hist(scores, bins=bins, range=(-0.5, max_score + 0.5), color="#1f4e79", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title(f"{title}: {len(scores)} submissions")
    fig.savefig(path, dpi=100)
