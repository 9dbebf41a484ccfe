"""How long the book takes to build, and how heavy its pages are.

Prints ``book_build_cold_s`` (a build from nothing: every chapter executed, every demo frame
rendered), ``book_build_warm_s`` (the same build again with nothing changed: the execution
cache and Sphinx's environment make it cheap) and ``max_page_mb`` (the heaviest chapter page,
demo frames included), plus one ``page_mb[...]`` line per chapter.

The builds go to a temporary folder, so the working site in _build/ is left alone.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, emit


def build(output: Path) -> float:
    env = dict(os.environ, DIFFRN_DEMO_MODE="frames", MPLBACKEND="Agg",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(REPO), "--builder", "html",
                    "--path-output", str(output)], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="diffrn-book-bench-") as folder:
        output = Path(folder)
        emit("book_build_cold_s", build(output), "{:.1f}")
        emit("book_build_warm_s", build(output), "{:.1f}")
        pages = sorted((output / "_build" / "html" / "chapters").glob("*.html"))
        sizes = {page.stem: page.stat().st_size / 2**20 for page in pages}
        for name, size in sizes.items():
            emit(f"page_mb[{name}]", size, "{:.2f}")
        emit("max_page_mb", max(sizes.values()), "{:.2f}")


if __name__ == "__main__":
    main()
