"""Bring submissions downloaded from a learning-management system into nbgrader's layout.

``collect(course, "ps1-jacobians", "downloads.zip")`` accepts a zip file or a folder holding
one notebook per student and writes ``submitted/<student>/<ps>/<ps>.ipynb`` (plus nbgrader's
``timestamp.txt``), registering each student in the gradebook.

Accepted names (the student id is what the pattern extracts):

* ``<student>.ipynb`` -- the file is named after the student id;
* ``<student>_<anything>.ipynb`` -- the id is everything before the first underscore
  (e.g. ``s1234567_ps1-jacobians.ipynb``);
* ``<student>/<anything>.ipynb`` -- a folder per student with one notebook in it;
* Canvas bulk downloads ``<name>[_late]_<userid>_<submissionid>_<file>.ipynb`` with
  ``canvas=True``: the id is Canvas's numeric user id.

A student with several notebooks keeps the newest one; the others are reported.

What was downloaded is kept as it came, in nbgrader's archive folder
``downloaded/<ps>/archive/`` (the layout of ``nbgrader zip_collect``): a later download under
the same name gets the time of collection added to its name, so none overwrites another.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from diffrn_grading.course import Course, GradingError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.@+-]*$")
CANVAS = re.compile(r"^[^_]+(?:_LATE|_late)?_(?P<student>\d+)_\d+_")


@dataclass
class Collected:
    """What :func:`collect` did."""

    placed: dict = field(default_factory=dict)     # student -> source file name
    skipped: list = field(default_factory=list)    # (file, reason)


def student_of(path: Path, root: Path, canvas: bool = False) -> str | None:
    """The student id a downloaded file belongs to, or None if its name fits no pattern."""
    relative = path.relative_to(root)
    if len(relative.parts) >= 2 and STUDENT_ID.match(relative.parts[-2]):
        return relative.parts[-2]
    stem = path.stem
    if canvas:
        match = CANVAS.match(path.name)
        return match.group("student") if match else None
    candidate = stem.split("_", 1)[0]
    return candidate if STUDENT_ID.match(candidate) else None


def collect(course: Course, assignment: str, source: Path | str, canvas: bool = False) -> Collected:
    """Place every student's notebook from ``source`` (zip or folder) into the course."""
    from nbgrader.api import Gradebook

    source = Path(source)
    if not source.exists():
        raise GradingError(f"{source} does not exist: give the zip or folder downloaded from the LMS")
    _archive(course, assignment, source)
    with tempfile.TemporaryDirectory(prefix="diffrn-collect-") as scratch:
        root = source
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise GradingError(f"{source} is neither a folder nor a zip file")
            root = Path(scratch)
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    extracted = Path(archive.extract(info, root))
                    # Keep the upload time: with several notebooks per student, the newest wins.
                    stamp = time.mktime(info.date_time + (0, 0, -1))
                    os.utime(extracted, (stamp, stamp))
        result = Collected()
        newest: dict[str, Path] = {}
        for path in sorted(root.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts or path.name.startswith("._"):
                continue
            student = student_of(path, root, canvas)
            if student is None:
                result.skipped.append((path.name, "no student id in the file name (see the accepted names)"))
                continue
            if student in newest:
                older, newer = sorted([newest[student], path], key=lambda p: p.stat().st_mtime)
                result.skipped.append((older.name, f"{student} handed in a newer notebook, {newer.name}"))
                path = newer
            newest[student] = path
        if not newest:
            raise GradingError(f"found no student notebooks in {source}")
        with Gradebook(course.gradebook_url) as gradebook:
            for student, path in sorted(newest.items()):
                target = course.submitted_folder(assignment, student)
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / f"{assignment}.ipynb")
                when = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
                (target / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
                gradebook.update_or_create_student(student)
                result.placed[student] = path.name
    return result


def _archive(course: Course, assignment: str, source: Path) -> Path:
    """Copy the download into ``downloaded/<ps>/archive/`` unless the same content is there."""
    import filecmp

    folder = course.archive_folder(assignment)
    folder.mkdir(parents=True, exist_ok=True)
    if folder.resolve() in source.resolve().parents:
        return source
    target = folder / source.name
    if target.exists():
        if source.is_file() and target.is_file() and filecmp.cmp(source, target, shallow=False):
            return target
        target = folder / f"{source.stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}{source.suffix}"
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target
