"""Sphinx extension: every chapter offers its notebooks for download and in JupyterLite.

* At the top of each chapter page: links to the chapter as a notebook (.ipynb), to the
  student version of its problem set, and to both in the JupyterLite site (`make book`
  builds it into ``lite/``), next to the theme's Binder and Colab buttons.
* When the build finishes, the notebooks behind those links are written into the site:
  ``notebooks/<chapter>.ipynb`` (converted from the MyST source, no outputs) and
  ``exercises/<ps>.ipynb`` (nbgrader's release: no solutions, no hidden tests).

Which problem set belongs to which chapter is the ``diffrn_exercises`` setting in _config.yml.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)
CHAPTER_PREFIX = "chapters/"


def _chapters(app) -> list[str]:
    return sorted(name for name in app.env.found_docs if name.startswith(CHAPTER_PREFIX))


def _links_html(app, docname: str) -> str:
    stem = docname[len(CHAPTER_PREFIX):]
    exercise = app.config.diffrn_exercises.get(docname)
    lite = f"../{app.config.diffrn_lite_dir}/lab/index.html?path="
    items = [f'<a class="reference download" href="../notebooks/{stem}.ipynb" download>chapter notebook (.ipynb)</a>']
    live = [f'<a class="reference external" href="{lite}chapters/{stem}.ipynb">chapter</a>']
    if exercise:
        items.append(f'<a class="reference download" href="../exercises/{exercise}.ipynb" download>'
                     f"exercises {exercise} (.ipynb)</a>")
        live.append(f'<a class="reference external" href="{lite}exercises/{exercise}.ipynb">exercises</a>')
    return (
        '<div class="admonition tip course-notebooks"><p class="admonition-title">Run it yourself</p>'
        f"<p>Download: {' · '.join(items)}. Open in JupyterLite (Python in your browser): "
        f"{' · '.join(live)}. Binder and Colab: the rocket button at the top of the page.</p></div>"
    )


def _insert_links(app, doctree, docname):
    if app.builder.format != "html" or not docname.startswith(CHAPTER_PREFIX):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title_index = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
    section.insert(title_index + 1, nodes.raw("", _links_html(app, docname), format="html"))


def _write_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import jupytext

    out = Path(app.outdir)
    (out / "notebooks").mkdir(exist_ok=True)
    for docname in _chapters(app):
        source = Path(app.srcdir) / f"{docname}.md"
        notebook = jupytext.read(source)
        notebook.metadata.pop("jupytext", None)
        jupytext.write(notebook, out / "notebooks" / f"{docname[len(CHAPTER_PREFIX):]}.ipynb", fmt="ipynb")
    (out / "exercises").mkdir(exist_ok=True)
    release = Path(app.srcdir) / "autograder" / "release"
    for exercise in sorted(set(app.config.diffrn_exercises.values())):
        student_version = release / exercise / f"{exercise}.ipynb"
        if not student_version.is_file():
            raise ExtensionError(
                f"{student_version} is missing: run `make assignments` before building the book "
                "(`make book` does it)."
            )
        shutil.copyfile(student_version, out / "exercises" / f"{exercise}.ipynb")


def setup(app):
    app.add_config_value("diffrn_exercises", {}, "html")
    app.add_config_value("diffrn_lite_dir", "lite", "html")
    app.connect("doctree-resolved", _insert_links)
    app.connect("build-finished", _write_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
