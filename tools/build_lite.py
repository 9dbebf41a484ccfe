"""Build the JupyterLite site of the course into _build/html/lite.

It holds the chapters and the student exercises as notebooks (the ones the book build wrote
into _build/html/notebooks and _build/html/exercises) and the course package as a wheel, so
that `%pip install diffrn` inside JupyterLite installs it from the site itself. Each
notebook gets a first cell that does that install; everything else is unchanged.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
INSTALL = (
    "# In JupyterLite (Python in the browser) the course package comes from this site.\n"
    "%pip install -q diffrn"
)


def main(argv: list[str]) -> int:
    """Usage: build_lite.py [SITE]; SITE is the built book (default _build/html)."""
    site = Path(argv[0]).resolve() if argv else ROOT / "_build" / "html"
    return build(site, site.parent / "lite")


def build(site: Path, work: Path) -> int:
    sources = {"chapters": site / "notebooks", "exercises": site / "exercises"}
    missing = [str(folder) for folder in sources.values() if not folder.is_dir()]
    if missing:
        print(f"missing {', '.join(missing)}: build the book first (make book)", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    contents = work / "contents"
    for name, folder in sources.items():
        (contents / name).mkdir(parents=True)
        for path in sorted(folder.glob("*.ipynb")):
            notebook = nbformat.read(str(path), as_version=4)
            notebook.cells.insert(0, nbformat.v4.new_code_cell(INSTALL))
            nbformat.write(notebook, str(contents / name / path.name))
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True)
    wheel = next(wheels.glob("diffrn-*.whl"))
    output = site / "lite"
    shutil.rmtree(output, ignore_errors=True)
    subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "lite", "build", "--lite-dir", str(work), "--contents", str(contents),
         "--piplite-wheels", str(wheel), "--output-dir", str(output), "--no-sourcemaps"],
        check=True, cwd=work,
    )
    print(f"JupyterLite site: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
