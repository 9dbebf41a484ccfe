"""What students install holds no grading machinery; the grading package ships only itself."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


def _wheel(project: Path, out: Path) -> list[str]:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(project)], check=True, capture_output=True, timeout=300)
    wheel = next(out.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_course_wheel_has_engine_demos_and_checks_but_no_grading(repo_root, tmp_path):
    # Built from a clean copy, as a release would be (a stale build/ folder is not the package).
    project = tmp_path / "diffrn"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(repo_root / "diffrn", project / "diffrn", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo_root / name, project)
    names = _wheel(project, tmp_path / "wheels")
    assert any(n.startswith("diffrn/autodiff/") for n in names)
    assert any(n.startswith("diffrn/demos/") for n in names)
    assert "diffrn/checks/ps1.py" in names
    assert not [n for n in names if "grading" in n or "nbgrader" in n], "grading code in what students install"


def test_the_grading_package_ships_only_itself(repo_root, tmp_path):
    project = tmp_path / "autograder"
    shutil.copytree(repo_root / "autograder" / "diffrn_grading", project / "diffrn_grading",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(repo_root / "autograder" / "pyproject.toml", project)
    (project / "source" / "ps1-jacobians").mkdir(parents=True)  # nbgrader's folders live here too
    (project / "source" / "ps1-jacobians" / "ps1-jacobians.ipynb").write_text("{}")
    names = _wheel(project, tmp_path / "wheels")
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"diffrn_grading"}
    assert "diffrn_grading/cli.py" in names and "diffrn_grading/zygote.py" in names
